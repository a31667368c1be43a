import MMMCore
import Testing

@Suite struct ClusterStateMachineTests {
    private let writer = ClusterFixtures.writer

    @Test func freshStartLeavesEveryHostAwaitingRecovery() {
        let machine = ClusterStateMachine.fresh()
        for host in ["db1", "db2", "db3"] {
            #expect(machine.state(of: host) == .awaitingRecovery)
        }
        #expect(machine.assignment.holders.isEmpty)
        #expect(machine.pendingPromotion == nil)
    }

    @Test func startedSendsStatusToAllInMMMsOrder() {
        var machine = ClusterStateMachine(topology: ClusterFixtures.topology(), at: .zero)
        #expect(machine.started(at: .zero) == [.sendStatusToAll(hosts: ["db1", "db2", "db3"])])
    }

    @Test func firstWriterIsPromotedOnlyAfterItsDrain() {
        var machine = ClusterStateMachine.fresh()
        let reply = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(1))
        #expect(reply.text == "OK: State of 'db1' changed to ONLINE. Now you can wait some time and check its new roles!")
        #expect(reply.actions.contains(.drainThenPromote(host: "db1", previousWriter: nil)))
        #expect(!reply.actions.contains { if case .promote = $0 { return true } else { return false } })
        #expect(machine.writer == nil)
        #expect(machine.pendingPromotion?.host == "db1")
        // Readers do not wait for the writer.
        #expect(machine.roles(of: "db1") == ClusterFixtures.readers)

        let actions = machine.promotionDrained(host: "db1", at: .seconds(2))
        #expect(actions.first == .promote(host: "db1", role: self.writer))
        #expect(actions.contains(.repointReplicas(newWriter: "db1", replicas: ["db3"])))
        #expect(machine.writer == "db1")
    }

    @Test func runningClusterSpreadsReadersEvenly() {
        let machine = ClusterStateMachine.running()
        #expect(machine.writer == "db1")
        for host in ["db1", "db2", "db3"] {
            #expect(machine.roles(of: host).filter { $0.role == "reader" }.count == 1)
        }
    }

    @Test func writerCrashFailsOverThroughDemotionThenDrain() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db1")
        // The cross-check confirms it: no other host reaches db1 either (CrossCheckTests covers the question).
        let actions = machine.reportConfirmed("db1", .mysqlDown, at: .seconds(100))
        let removal = actions.firstIndex(of: .removeRoles(host: "db1", roles: held))
        let drain = actions.firstIndex(of: .drainThenPromote(host: "db2", previousWriter: "db1"))
        #expect(machine.state(of: "db1") == .hardOffline)
        #expect(removal != nil && drain != nil && removal! < drain!)
        #expect(machine.writer == nil)
        // The orphaned reader goes to the least-loaded host at once.
        #expect(machine.assignment.holders.count == 3)

        let promoted = machine.promotionDrained(host: "db2", at: .seconds(101))
        #expect(promoted.prefix(2) == [
            .promote(host: "db2", role: self.writer),
            .repointReplicas(newWriter: "db2", replicas: ["db3"]),
        ])
        #expect(machine.writer == "db2")
    }

    @Test func drainFailureSkipsTheCandidateUntilTheRetryDelay() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(drainRetryDelay: .seconds(30)))
        _ = machine.reportConfirmed("db1", .unreachable, at: .seconds(100))
        #expect(machine.pendingPromotion?.host == "db2")
        let failed = machine.drainFailed(host: "db2", reason: "MASTER_GTID_WAIT timed out", at: .seconds(110))
        #expect(!failed.contains { if case .drainThenPromote = $0 { return true } else { return false } })
        #expect(machine.writer == nil && machine.pendingPromotion == nil)
        #expect(machine.tick(at: .seconds(139)).isEmpty)
        #expect(machine.tick(at: .seconds(140)) == [.drainThenPromote(host: "db2", previousWriter: "db1")])
    }

    /// Bench finding 3: the new writer's agent failed its promotion for good (a missing privilege) and `show` said
    /// `Roles: writer(...)` for minutes with no host writable. The role is shown only once taken, and after the take
    /// timeout it moves on to the next eligible host.
    @Test func aWriterThatCannotTakeTheRoleIsNotShownHoldingItAndTheRoleMovesOn() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(drainRetryDelay: .seconds(30), writerTakeTimeout: .seconds(20)))
        _ = machine.reportConfirmed("db1", .unreachable, at: .seconds(100))
        _ = machine.promotionDrained(host: "db2", at: .seconds(101))
        #expect(machine.writer == "db2")
        #expect(!machine.heldRoles(of: "db2").contains(self.writer), "not shown as held before its agent took it")
        #expect(machine.showText.contains("# Role writer is assigned to db2, which has not taken it yet"))
        let error = "promote failed: accessDenied: ... RELOAD privilege"
        #expect(machine.writerTakeFailing(host: "db2", error: error, at: .seconds(110)).isEmpty, "within the take timeout")
        #expect(machine.showText.contains(error))
        let moved = machine.writerTakeFailing(host: "db2", error: error, at: .seconds(121))
        #expect(moved.contains(.removeRoles(host: "db2", roles: [self.writer])))
        #expect(machine.writer == nil)
        #expect(machine.showText.contains("# db2 could not take role writer: \(error)"))
        // db1 is HARD_OFFLINE and db2 is skipped: nobody else can be the writer now; after the retry delay db2 again.
        #expect(!moved.contains { if case .drainThenPromote = $0 { return true } else { return false } })
        #expect(machine.tick(at: .seconds(140)).isEmpty)
        #expect(machine.tick(at: .seconds(151)).contains(.drainThenPromote(host: "db2", previousWriter: nil)))
    }

    @Test func aWriterSeenHoldingTheRoleIsShownWithIt() {
        var machine = ClusterStateMachine.running()
        _ = machine.reportConfirmed("db1", .unreachable, at: .seconds(100))
        _ = machine.promotionDrained(host: "db2", at: .seconds(101))
        machine.writerTaken(host: "db2", at: .seconds(102))
        #expect(machine.heldRoles(of: "db2").contains(self.writer))
        #expect(!machine.showText.contains("has not taken it yet"))
        #expect(machine.writerTakeFailing(host: "db2", error: "a later failure", at: .seconds(200)).isEmpty, "taken: an agent error does not move it")
    }

    @Test func candidateLeavingOnlineCancelsTheDrainAndALateConfirmationIsIgnored() {
        var machine = ClusterStateMachine.running()
        _ = machine.reportConfirmed("db1", .unreachable, at: .seconds(100))
        let actions = machine.report("db2", .mysqlDown, at: .seconds(101))
        #expect(actions.contains(.cancelDrain(host: "db2")))
        #expect(machine.promotionDrained(host: "db2", at: .seconds(102)).isEmpty)
        #expect(machine.writer == nil)
    }

    @Test func writersOwnReplicationFailureDoesNotDemoteIt() {
        var machine = ClusterStateMachine.running()
        let actions = machine.report("db1", .replicationBroken, at: .seconds(100))
        #expect(actions.isEmpty)
        #expect(machine.state(of: "db1") == .online)
        #expect(machine.writer == "db1")
    }

    @Test func standbyWithBrokenReplicationIsNeverPromoted() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db2", .replicationBroken, at: .seconds(100))
        #expect(machine.state(of: "db2") == .replicationFail)
        // The writer dies: MMM's peer clause turns db2 ONLINE, but it is not eligible to write.
        let actions = machine.reportConfirmed("db1", .unreachable, at: .seconds(200))
        #expect(machine.state(of: "db2") == .online)
        #expect(!actions.contains { if case .drainThenPromote = $0 { return true } else { return false } })
        #expect(machine.writer == nil && machine.pendingPromotion == nil)
        // Once its replication is healthy it becomes the writer (after draining).
        let healed = machine.report("db2", .allOK, at: .seconds(210))
        #expect(healed.contains(.drainThenPromote(host: "db2", previousWriter: "db1")))
    }

    @Test func lateReplicaLagDemotesAReaderButNotTheWriter() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db3")
        let actions = machine.report("db3", .replicationLagging, at: .seconds(100))
        #expect(machine.state(of: "db3") == .replicationDelay)
        #expect(actions.contains(.removeRoles(host: "db3", roles: held)))
        #expect(machine.roles(of: "db3").isEmpty)
        #expect(machine.assignment.holders.count == 4)
    }

    @Test func errantHostNeverGoesOnlineByItself() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(autoSetOnline: .seconds(10)))
        _ = machine.report("db2", .unreachable, at: .seconds(100))
        _ = machine.gtidCompared(host: "db2", errant: ["0-2-17", "0-2-18"], at: .seconds(150))
        _ = machine.report("db2", .allOK, at: .seconds(160))
        #expect(machine.state(of: "db2") == .replicationFail)
        #expect(machine.hosts["db2"]?.replicationFailReason == .errantTransactions(["0-2-17", "0-2-18"]))
        _ = machine.tick(at: .seconds(10_000))
        #expect(machine.state(of: "db2") == .replicationFail)
        #expect(machine.roles(of: "db2").isEmpty)
        let force = machine.moveRoleRequested(role: "writer", host: "db2", force: true, agentReachable: true, at: .seconds(10_001))
        #expect(force.text == "ERROR: Host 'db2' has errant transactions (0-2-17, 0-2-18). Can't move the active master role there.")
    }

    @Test func preferredWriterFailsBackInActiveModeOnly() {
        for mode in [MonitorMode.active, .manual] {
            var machine = ClusterStateMachine.running(
                topology: ClusterFixtures.topology(writerPrefer: "db1"),
                policy: ClusterPolicy(initialMode: mode)
            )
            #expect(machine.writer == "db1")
            _ = machine.reportConfirmed("db1", .unreachable, at: .seconds(100))
            _ = machine.promotionDrained(host: "db2", at: .seconds(101))
            #expect(machine.writer == "db2")
            _ = machine.report("db1", .allOK, at: .seconds(200))
            _ = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(201))
            if mode == .active {
                #expect(machine.writer == nil)
                #expect(machine.pendingPromotion?.host == "db1")
                _ = machine.promotionDrained(host: "db1", at: .seconds(202))
                #expect(machine.writer == "db1")
            } else {
                #expect(machine.writer == "db2")
                #expect(machine.pendingPromotion == nil)
            }
        }
    }

    @Test func manualModeTakesRolesFromFailedHostsToo() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(initialMode: .manual))
        let held = machine.roles(of: "db3")
        let actions = machine.report("db3", .unreachable, at: .seconds(100))
        // MMM keeps them in MANUAL; swift-mmm never leaves a role on a host that is not ONLINE.
        #expect(actions.contains(.removeRoles(host: "db3", roles: held)))
        #expect(machine.roles(of: "db3").isEmpty)
    }

    @Test func waitModeTurnsActiveWhenBothMastersAreOnline() {
        var machine = ClusterStateMachine.fresh(policy: ClusterPolicy(initialMode: .wait))
        _ = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(1))
        #expect(machine.mode == .wait)
        let actions = machine.setOnlineRequested(host: "db2", agentReachable: true, at: .seconds(2)).actions
        #expect(actions.contains(.modeChanged(from: .wait, to: .active)))
        #expect(machine.mode == .active)
    }

    @Test func waitModeTurnsActiveAfterWaitingForTheOtherMaster() {
        var machine = ClusterStateMachine.fresh(policy: ClusterPolicy(waitForOtherMaster: .seconds(120), initialMode: .wait))
        _ = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(10))
        #expect(machine.tick(at: .seconds(129)).isEmpty)
        #expect(machine.mode == .wait)
        #expect(machine.tick(at: .seconds(130)).contains(.modeChanged(from: .wait, to: .active)))
    }

    @Test func waitModeWithZeroWaitsForever() {
        var machine = ClusterStateMachine.fresh(policy: ClusterPolicy(waitForOtherMaster: nil, initialMode: .wait))
        _ = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(10))
        _ = machine.tick(at: .seconds(1_000_000))
        #expect(machine.mode == .wait)
    }

    @Test func passiveModeSendsNothingToAgents() {
        var machine = ClusterStateMachine.running()
        _ = machine.setPassiveRequested(at: .seconds(10))
        let holders = machine.assignment.holders.count
        let actions = machine.report("db3", .unreachable, at: .seconds(100))
        #expect(actions == [.hostStateChanged(host: "db3", HostTransition(from: .online, to: .hardOffline, rule: .checksFailed))])
        // Roles are cleared in memory (MMM), nothing is reassigned.
        #expect(machine.roles(of: "db3").isEmpty)
        #expect(machine.assignment.holders.count == holders - 1)
        // The writer is held for its cross-check, which PASSIVE may not ask: nothing at all.
        #expect(machine.report("db1", .unreachable, at: .seconds(101)).isEmpty)
        #expect(machine.writer == "db1" && machine.pendingPromotion == nil)
    }

    @Test func leavingPassiveDrainsAWriterMovedBySetIP() {
        var machine = ClusterStateMachine.running()
        _ = machine.setPassiveRequested(at: .seconds(10))
        #expect(machine.setIPRequested(ip: "192.168.0.50", host: "db2", at: .seconds(11)).text
            == "OK: Set role 'writer(192.168.0.50)' to host 'db2'.")
        #expect(machine.writer == "db2")
        let reply = machine.setActiveRequested(at: .seconds(12))
        #expect(reply.text == "OK: Switched into active mode.")
        #expect(reply.actions.prefix(3) == [
            .modeChanged(from: .passive, to: .active),
            .sendStatusToAll(hosts: ["db1", "db2", "db3"]),
            .drainThenPromote(host: "db2", previousWriter: "db1"),
        ])
        #expect(machine.writer == nil)
        _ = machine.promotionDrained(host: "db2", at: .seconds(13))
        #expect(machine.writer == "db2")
    }

    @Test func noNetworkFreezesDecisions() {
        var machine = ClusterStateMachine.running()
        _ = machine.networkChanged(available: false, at: .seconds(10))
        #expect(machine.report("db1", .unreachable, at: .seconds(20)).isEmpty)
        #expect(machine.state(of: "db1") == .online)
        let back = machine.networkChanged(available: true, at: .seconds(30))
        #expect(back == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        let confirmed = machine.answerCrossChecks(in: back, reachable: false, at: .seconds(30))
        #expect(confirmed.contains { if case .hostStateChanged(host: "db1", _) = $0 { return true } else { return false } })
    }

    @Test func agentDownHostKeepsItsRolesButGetsNoNewOnes() {
        var machine = ClusterStateMachine.running()
        let held = machine.roles(of: "db3")
        _ = machine.agentUnreachable(host: "db3", at: .seconds(10))
        #expect(machine.roles(of: "db3") == held)
        _ = machine.report("db2", .unreachable, at: .seconds(20))
        #expect(machine.roles(of: "db3") == held)
        #expect(machine.roles(of: "db1").filter { $0.role == "reader" }.count == 2)
    }

    @Test func autoSetOnlineBringsARecoveredHostBack() {
        var machine = ClusterStateMachine.running(policy: ClusterPolicy(autoSetOnline: .seconds(10)))
        _ = machine.report("db3", .unreachable, at: .seconds(100))
        _ = machine.agentAnswered(host: "db3", uptime: .seconds(5), at: .seconds(150))  // rebooted
        _ = machine.report("db3", .allOK, at: .seconds(150))
        #expect(machine.state(of: "db3") == .awaitingRecovery)
        _ = machine.tick(at: .seconds(159))
        #expect(machine.state(of: "db3") == .awaitingRecovery)
        _ = machine.tick(at: .seconds(160))
        #expect(machine.state(of: "db3") == .online)
        #expect(machine.roles(of: "db3").count == 1)
    }
}
