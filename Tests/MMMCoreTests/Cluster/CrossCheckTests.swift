import MMMCore
import Testing

/// The writer cross-check (DESIGN.md §4 step 1): the monitor alone losing the writer must not fail it over.
@Suite struct CrossCheckTests {
    private let writer = ClusterFixtures.writer

    private static func isDrain(_ action: ClusterAction) -> Bool {
        if case .drainThenPromote = action { return true } else { return false }
    }

    private static func isCrossCheck(_ action: ClusterAction) -> Bool {
        if case .crossCheckWriter = action { return true } else { return false }
    }

    private static func left(_ host: String, to state: HostState) -> ClusterAction {
        .hostStateChanged(host: host, HostTransition(from: .online, to: state, rule: .checksFailed))
    }

    // MARK: - Rule 1: ask instead of failing over

    @Test func aWriterFailingMysqlIsKeptAndItsPeerAskedFirst() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db1")
        let actions = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(actions == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        #expect(machine.state(of: "db1") == .online)
        #expect(machine.writer == "db1")
        #expect(machine.roles(of: "db1") == held)
        #expect(machine.pendingPromotion == nil)
        #expect(machine.writerCrossCheck?.host == "db1")
        #expect(machine.writerCrossCheck?.askedVia == ["db2", "db3"])
        #expect(machine.writerCrossCheck?.awaitingAnswer == true)
    }

    @Test func aWriterFailingPingIsCrossCheckedToo() {
        var machine = ClusterStateMachine.running()
        let actions = machine.report("db1", HostCheckStatus(ping: false, mysql: true, repThreads: true, repBacklog: true), at: .seconds(100))
        #expect(actions == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        #expect(machine.state(of: "db1") == .online)
    }

    @Test func thePeerComesFirstWhateverTheConfigurationOrder() throws {
        // The slaves are listed before the masters: the writer's peer is still asked first.
        let topology = try ClusterTopology(
            hosts: [
                HostSpec(name: "db4", ip: "192.168.0.34", mode: .slave),
                HostSpec(name: "db3", ip: "192.168.0.33", mode: .slave),
                HostSpec(name: "db1", ip: "192.168.0.31", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "192.168.0.32", mode: .master, peer: "db1"),
            ],
            roles: [
                RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2"], ips: ["192.168.0.50"], prefer: "db1"),
                RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2", "db3", "db4"], ips: ["192.168.0.51"]),
            ],
            activeMasterRole: "writer"
        )
        var machine = ClusterStateMachine.running(topology: topology)
        #expect(machine.writer == "db1")
        #expect(machine.report("db1", .mysqlDown, at: .seconds(100)) == [.crossCheckWriter(host: "db1", via: ["db2", "db4", "db3"])])
    }

    @Test func manualModeCrossChecksToo() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(initialMode: .manual))
        #expect(machine.report("db1", .mysqlDown, at: .seconds(100)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db3"], unreachableFrom: ["db2"], at: .seconds(101))
        #expect(machine.state(of: "db1") == .online && machine.writer == "db1")
    }

    @Test func onlyOnlineHostsWithReachableAgentsAreAsked() {
        var machine = ClusterStateMachine.running()
        _ = machine.agentUnreachable(host: "db2", at: .seconds(50))
        #expect(machine.report("db1", .mysqlDown, at: .seconds(100)) == [.crossCheckWriter(host: "db1", via: ["db3"])])

        var other = ClusterStateMachine.running()
        _ = other.report("db2", .unreachable, at: .seconds(50))
        #expect(other.state(of: "db2") == .hardOffline)
        #expect(other.report("db1", .mysqlDown, at: .seconds(100)) == [.crossCheckWriter(host: "db1", via: ["db3"])])
    }

    @Test func repeatedDecisionsDoNotAskAgainUntilTheTimeout() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(crossCheckTimeout: .seconds(5)))
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(machine.tick(at: .seconds(101)).isEmpty)
        #expect(machine.report("db1", .unreachable, at: .seconds(102)).isEmpty)
        #expect(machine.agentAnswered(host: "db3", uptime: .seconds(2000), at: .seconds(104)).isEmpty)
        #expect(machine.tick(at: MonitorInstant(sinceOrigin: .milliseconds(104_999))).isEmpty)
        #expect(machine.tick(at: .seconds(105)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        #expect(machine.writerCrossCheck?.askedAt == .seconds(105))
        #expect(machine.tick(at: .seconds(106)).isEmpty)
        #expect(machine.state(of: "db1") == .online)
    }

    @Test func theDefaultTimeoutIsTwoSeconds() {
        #expect(ClusterPolicy().crossCheckTimeout == .seconds(2))
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(machine.tick(at: MonitorInstant(sinceOrigin: .milliseconds(101_999))).isEmpty)
        #expect(machine.tick(at: .seconds(102)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
    }

    @Test func anAnswerFromNobodyIsNoAnswer() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: [], at: .seconds(101)).isEmpty)
        // Names that are not asked-about hosts count for nothing either.
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: ["db9", "db1"], unreachableFrom: ["nosuch"], at: .seconds(101)).isEmpty)
        #expect(machine.state(of: "db1") == .online)
        #expect(machine.writerCrossCheck?.awaitingAnswer == true)
        #expect(machine.tick(at: .seconds(102)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
    }

    @Test func setOfflineOfTheWriterIsNotCrossChecked() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db1")
        let reply = machine.setOfflineRequested(host: "db1", agentReachable: true, at: .seconds(100))
        #expect(!reply.actions.contains(where: Self.isCrossCheck))
        #expect(reply.actions.contains(.removeRoles(host: "db1", roles: held)))
        #expect(reply.actions.contains(.drainThenPromote(host: "db2", previousWriter: "db1")))
    }

    @Test func replicationChecksAreNotCrossChecked() {
        var machine = ClusterStateMachine.running()
        // The writer's own replication is not judged; a standby's failure takes it out at once.
        #expect(machine.report("db1", .replicationBroken, at: .seconds(100)).isEmpty)
        let actions = machine.report("db2", .replicationBroken, at: .seconds(101))
        #expect(!actions.contains(where: Self.isCrossCheck))
        #expect(machine.state(of: "db2") == .replicationFail)
        #expect(machine.writerCrossCheck == nil)
    }

    @Test func aHostBeingPromotedIsNotCrossChecked() {
        var machine = ClusterStateMachine.running()
        _ = machine.moveRoleRequested(role: "writer", host: "db2", force: false, agentReachable: true, at: .seconds(100))
        #expect(machine.pendingPromotion?.host == "db2")
        let actions = machine.report("db2", .mysqlDown, at: .seconds(101))
        #expect(!actions.contains(where: Self.isCrossCheck))
        #expect(actions.contains(.cancelDrain(host: "db2")))
        #expect(machine.state(of: "db2") == .hardOffline)
    }

    @Test func noOtherHostBecomesWriterWhileTheQuestionIsPending() {
        // db2 is preferred but not ONLINE yet when db1 becomes the writer.
        var machine = ClusterStateMachine.fresh(topology: ClusterFixtures.topology(writerPrefer: "db2"))
        _ = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(1))
        _ = machine.promotionDrained(host: "db1", at: .seconds(2))
        _ = machine.setOnlineRequested(host: "db3", agentReachable: true, at: .seconds(3))
        #expect(machine.writer == "db1")
        #expect(machine.report("db1", .mysqlDown, at: .seconds(100)) == [.crossCheckWriter(host: "db1", via: ["db3"])])
        // The preferred host becomes eligible: without the cross-check it would take the role back.
        let reply = machine.setOnlineRequested(host: "db2", agentReachable: true, at: .seconds(101))
        #expect(!reply.actions.contains(where: Self.isDrain))
        #expect(machine.writer == "db1")
        // Once db1's checks pass again the preference applies as usual.
        #expect(machine.report("db1", .allOK, at: .seconds(102)).contains(.drainThenPromote(host: "db2", previousWriter: "db1")))
    }

    // MARK: - Rule 2: the answer

    @Test func aHostThatStillReachesTheWriterVetoesTheFailover() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db1")
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        let actions = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: ["db3"], at: .seconds(101))
        #expect(actions == [.crossCheckVetoed(host: "db1", by: ["db2"])])
        #expect(machine.state(of: "db1") == .online)
        #expect(machine.roles(of: "db1") == held)
        #expect(machine.writerCrossCheck?.isVetoed == true)
        #expect(machine.writerCrossCheck?.vetoedBy == ["db2"])
        // The veto holds while the checks keep failing.
        #expect(machine.report("db1", .unreachable, at: .seconds(102)).isEmpty)
        #expect(machine.tick(at: MonitorInstant(sinceOrigin: .milliseconds(102_900))).isEmpty)
        #expect(machine.writer == "db1" && machine.pendingPromotion == nil)
    }

    @Test func aVetoIsRecheckedAndARealDeathLaterIsCaught() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db1")
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: [], at: .seconds(101))
        // Re-checked crossCheckTimeout after the veto; the veto holds meanwhile.
        let recheck = machine.tick(at: .seconds(103))
        #expect(recheck == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        #expect(machine.writerCrossCheck?.isVetoed == true)
        #expect(machine.tick(at: .seconds(104)).isEmpty)
        // The same hosts vetoing again is not logged again; a change is.
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: ["db3"], at: .seconds(104)).isEmpty)
        _ = machine.tick(at: .seconds(106))
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: ["db3", "db2"], unreachableFrom: [], at: .seconds(106))
            == [.crossCheckVetoed(host: "db1", by: ["db2", "db3"])])
        // Now the writer really dies: the next re-check finds nobody reaching it.
        #expect(machine.tick(at: .seconds(108)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        let actions = machine.writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: ["db2", "db3"], at: .seconds(109))
        let left = actions.firstIndex(of: Self.left("db1", to: .hardOffline))
        let removal = actions.firstIndex(of: .removeRoles(host: "db1", roles: held))
        let drain = actions.firstIndex(of: .drainThenPromote(host: "db2", previousWriter: "db1"))
        #expect(left != nil && removal != nil && drain != nil)
        #expect(left! < removal! && removal! < drain!)
        #expect(machine.writerCrossCheck == nil)
        #expect(machine.promotionDrained(host: "db2", at: .seconds(110)).first == .promote(host: "db2", role: self.writer))
    }

    @Test func aConfirmedDeathFailsOverAsBefore() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db1")
        let asked = machine.report("db1", .mysqlDown, at: .seconds(100))
        let actions = machine.answerCrossChecks(in: asked, reachable: false, at: .seconds(100))
        #expect(actions.prefix(2) == [Self.left("db1", to: .hardOffline), .removeRoles(host: "db1", roles: held)])
        #expect(actions.contains(.drainThenPromote(host: "db2", previousWriter: "db1")))
        #expect(machine.writer == nil && machine.pendingPromotion?.host == "db2")
        #expect(!actions.contains { if case .crossCheckVetoed = $0 { return true } else { return false } })
    }

    @Test func oneHostUnreachableAndTheOthersSilentConfirms() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        let actions = machine.writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: ["db3"], at: .seconds(101))
        #expect(actions.first == Self.left("db1", to: .hardOffline))
        #expect(machine.state(of: "db1") == .hardOffline)
    }

    @Test func nobodyToAskFailsOverAtOnce() {
        // db2 and db3 are not ONLINE: nobody can veto, and the writer goes as in MMM.
        var machine = ClusterStateMachine.fresh()
        _ = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(1))
        _ = machine.promotionDrained(host: "db1", at: .seconds(2))
        #expect(machine.writer == "db1")
        let actions = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(actions.first == Self.left("db1", to: .hardOffline))
        #expect(!actions.contains(where: Self.isCrossCheck))
        #expect(machine.writer == nil && machine.writerCrossCheck == nil)

        // The same when the other ONLINE hosts' agents are unreachable.
        var silent = ClusterStateMachine.running()
        _ = silent.agentUnreachable(host: "db2", at: .seconds(50))
        _ = silent.agentUnreachable(host: "db3", at: .seconds(50))
        let gone = silent.report("db1", .unreachable, at: .seconds(100))
        #expect(gone.first == Self.left("db1", to: .hardOffline))
        #expect(!gone.contains(where: Self.isCrossCheck))
    }

    @Test func aPendingQuestionNobodyCanBeAskedAgainFailsOver() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        // The asked agents stay silent and are found unreachable by their status pushers.
        #expect(machine.agentUnreachable(host: "db2", at: .seconds(101)).isEmpty)
        #expect(machine.agentUnreachable(host: "db3", at: .seconds(101)).isEmpty)
        #expect(machine.state(of: "db1") == .online)
        let actions = machine.tick(at: .seconds(102))
        #expect(actions.first == Self.left("db1", to: .hardOffline))
        #expect(!actions.contains(where: Self.isCrossCheck))
    }

    @Test func aVetoIsKeptWhenNobodyCanBeAskedToRecheckIt() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: [], at: .seconds(100))
        _ = machine.agentUnreachable(host: "db2", at: .seconds(101))
        _ = machine.agentUnreachable(host: "db3", at: .seconds(101))
        #expect(machine.tick(at: .seconds(110)).isEmpty)
        #expect(machine.writer == "db1" && machine.state(of: "db1") == .online)
        #expect(machine.writerCrossCheck?.isVetoed == true)
        // As soon as someone can be asked, the veto is re-checked.
        #expect(machine.agentAnswered(host: "db3", uptime: .seconds(2000), at: .seconds(111)) == [.crossCheckWriter(host: "db1", via: ["db3"])])
    }

    @Test func answersForAnotherHostOrWithoutAQuestionAreIgnored() {
        var machine = ClusterStateMachine.running()
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: ["db2"], at: .seconds(10)).isEmpty)
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(machine.writerCrossChecked(host: "db2", reachableFrom: [], unreachableFrom: ["db3"], at: .seconds(101)).isEmpty)
        #expect(machine.writerCrossChecked(host: "db9", reachableFrom: [], unreachableFrom: ["db3"], at: .seconds(101)).isEmpty)
        #expect(machine.state(of: "db1") == .online)
        #expect(machine.writerCrossCheck?.awaitingAnswer == true)
    }

    @Test func anOldConfirmationIsNotActedOnAfterTheNetworkCameBack() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        _ = machine.networkChanged(available: false, at: .seconds(100))
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: ["db2"], at: .seconds(101)).isEmpty)
        #expect(machine.state(of: "db1") == .online)
        // Much later the answer is stale: ask again rather than fail over on it.
        #expect(machine.networkChanged(available: true, at: .seconds(160)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        #expect(machine.state(of: "db1") == .online)
    }

    // MARK: - Rule 3: recovery drops the question

    @Test func aWriterRecoveringWhileAskedDropsTheQuestion() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        let recovered = machine.report("db1", .allOK, at: .seconds(101))
        #expect(recovered.isEmpty)
        #expect(machine.writerCrossCheck == nil)
        // The late answer changes nothing, and nothing is asked again.
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: ["db2", "db3"], at: .seconds(102)).isEmpty)
        #expect(machine.tick(at: .seconds(110)).isEmpty)
        #expect(machine.state(of: "db1") == .online && machine.writer == "db1")
        // A new failure asks afresh.
        #expect(machine.report("db1", .mysqlDown, at: .seconds(200)) == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
    }

    @Test func aWriterRecoveringEndsTheVeto() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: [], at: .seconds(100))
        #expect(machine.report("db1", .allOK, at: .seconds(101)).isEmpty)
        #expect(machine.writerCrossCheck == nil)
        #expect(!machine.showText.contains("cannot reach writer"))
    }

    @Test func movingTheWriterRoleEndsTheCrossCheck() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: [], at: .seconds(100))
        // The operator's explicit move is obeyed: the promotion fences db1 first.
        let reply = machine.moveRoleRequested(role: "writer", host: "db2", force: false, agentReachable: true, at: .seconds(101))
        #expect(reply.actions.contains(.drainThenPromote(host: "db2", previousWriter: "db1")))
        #expect(machine.writerCrossCheck == nil)
        #expect(machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: [], at: .seconds(102)).isEmpty)
    }

    // MARK: - PASSIVE mode

    @Test func passiveModeHoldsTheWriterAndAsksWhenItEnds() {
        var machine = ClusterStateMachine.running()
        _ = machine.setPassiveRequested(at: .seconds(10))
        #expect(machine.report("db1", .mysqlDown, at: .seconds(100)).isEmpty)
        #expect(machine.tick(at: .seconds(200)).isEmpty)
        #expect(machine.state(of: "db1") == .online && machine.writer == "db1")
        #expect(machine.showText.contains(
            "# Warning: the monitor cannot reach writer db1: other hosts are asked whether they can when PASSIVE mode ends\n"))
        let reply = machine.setActiveRequested(at: .seconds(201))
        #expect(reply.actions == [
            .modeChanged(from: .passive, to: .active),
            .sendStatusToAll(hosts: ["db2", "db3", "db1"]),
            .crossCheckWriter(host: "db1", via: ["db2", "db3"]),
        ])
    }

    // MARK: - Rule 5: show

    @Test func showWarnsWhileAVetoHolds() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db1", .mysqlDown, at: .seconds(100))
        #expect(machine.showText.hasPrefix("# Warning: the monitor cannot reach writer db1: asking db2 and db3 whether they can\n"))
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2"], unreachableFrom: ["db3"], at: .seconds(101))
        let lines = machine.showText.split(separator: "\n").map(String.init)
        #expect(lines.first == "# Warning: the monitor cannot reach writer db1, but db2 can: no failover (check the monitor's network)")
        #expect(lines[1].hasPrefix("  db1(192.168.0.31) master/ONLINE. Roles: "))
        // After the network warning, before the agent warnings.
        _ = machine.agentUnreachable(host: "db3", at: .seconds(102))
        _ = machine.writerCrossChecked(host: "db1", reachableFrom: ["db2", "db3"], unreachableFrom: [], at: .seconds(102))
        _ = machine.networkChanged(available: false, at: .seconds(103))
        #expect(Array(machine.showText.split(separator: "\n").prefix(3)) == [
            "# Warning: the monitor's network check fails (no ping_ips answer): nothing is decided until it passes",
            "# Warning: the monitor cannot reach writer db1, but db2 and db3 can: no failover (check the monitor's network)",
            "# Warning: agent on host db3 is not reachable",
        ])
    }
}
