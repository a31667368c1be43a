import MMMCore
import Testing

/// A start without status file: consistent clusters assign the writer once checks pass, inconsistent ones
/// start PASSIVE and say why.
@Suite struct ClusterFirstStartTests {
    private let writer = ClusterFixtures.writer
    private let readers = ClusterFixtures.readers

    private static func state(_ text: String) -> GTIDBinlogState {
        // Literal test states; a throw here is a broken test.
        try! GTIDBinlogState(parsing: text)
    }

    /// Every host answered with a consistent GTID state: db3 lags the masters, which is not divergence.
    private static func consistent() -> [String: StartupObservation] {
        [
            "db1": StartupObservation(gtidBinlogState: Self.state("0-1-10,1-1-4")),
            "db2": StartupObservation(gtidBinlogState: Self.state("0-1-10,1-1-4")),
            "db3": StartupObservation(gtidBinlogState: Self.state("0-1-8")),
        ]
    }

    private func start(
        _ observations: [String: StartupObservation],
        restoring snapshot: ClusterSnapshot? = nil,
        policy: ClusterPolicy = ClusterPolicy()
    ) -> ClusterStateMachine {
        ClusterStateMachine(
            topology: ClusterFixtures.topology(),
            policy: policy,
            checkPolicies: ClusterFixtures.immediateChecks,
            restoring: snapshot,
            observations: observations,
            at: .zero
        )
    }

    private static func roleActions(_ actions: [ClusterAction]) -> [ClusterAction] {
        actions.filter {
            switch $0 {
            case .hostStateChanged, .modeChanged: return false
            default: return true
            }
        }
    }

    // MARK: - Consistent first start

    @Test func firstStartAssignsTheWriterThroughADrainOnceChecksPass() {
        var machine = self.start(Self.consistent())
        #expect(machine.isFirstStart)
        #expect(machine.mode == .active)
        #expect(machine.started(at: .zero) == [.sendStatusToAll(hosts: ["db1", "db2", "db3"])])
        // ping and mysql alone are not enough: the replication checks must be known OK too.
        _ = machine.report("db1", HostCheckStatus(ping: true, mysql: true), at: .seconds(1))
        #expect(machine.state(of: "db1") == .awaitingRecovery)

        let actions = machine.report("db1", .allOK, at: .seconds(1))
        let online = HostTransition(from: .awaitingRecovery, to: .online, rule: .firstStart)
        #expect(actions.first == .hostStateChanged(host: "db1", online))
        #expect(actions.contains(.drainThenPromote(host: "db1", previousWriter: nil)))
        #expect(!actions.contains { if case .promote = $0 { return true } else { return false } })
        #expect(machine.writer == nil)
        #expect(machine.hosts["db1"]?.isFirstStart == false)

        let promoted = machine.promotionDrained(host: "db1", at: .seconds(2))
        #expect(promoted.first == .promote(host: "db1", role: self.writer))
        #expect(machine.writer == "db1")

        _ = machine.report("db2", .allOK, at: .seconds(2))
        _ = machine.report("db3", .allOK, at: .seconds(2))
        for host in ["db1", "db2", "db3"] {
            #expect(machine.state(of: host) == .online)
            #expect(machine.roles(of: host).filter { $0.role == "reader" }.count == 1)
        }
    }

    @Test func firstStartDoesNotNeedAutoSetOnlineAndWorksInEveryMode() {
        for mode in [MonitorMode.active, .manual, .wait] {
            var machine = self.start(Self.consistent(), policy: ClusterPolicy(autoSetOnline: nil, initialMode: mode))
            _ = machine.started(at: .zero)
            for host in ["db1", "db2", "db3"] {
                _ = machine.report(host, .allOK, at: .seconds(1))
            }
            #expect(machine.pendingPromotion?.host == "db1", "mode \(mode)")
            for host in ["db1", "db2", "db3"] {
                #expect(machine.state(of: host) == .online, "mode \(mode)")
            }
        }
    }

    @Test func aWritableHostWinsTheVoteAndKeepsTheWriterWithoutADrain() {
        var observations = Self.consistent()
        observations["db2"]?.writable = true
        observations["db2"]?.configuredIPs = [self.writer.ip]
        var machine = self.start(observations)
        #expect(machine.isFirstStart)
        #expect(machine.writer == "db2")
        #expect(machine.state(of: "db2") == .online)
        _ = machine.started(at: .zero)
        let actions = machine.report("db1", .allOK, at: .seconds(1))
        #expect(machine.state(of: "db1") == .online)
        #expect(!actions.contains { if case .drainThenPromote = $0 { return true } else { return false } })
    }

    @Test func withAStatusFileAutoSetOnlineGovernsAsInMMM() {
        let snapshot = ClusterSnapshot(
            mode: .active,
            hosts: ["db1": HostSnapshot(state: .awaitingRecovery), "db2": HostSnapshot(state: .awaitingRecovery),
                    "db3": HostSnapshot(state: .awaitingRecovery)],
            roles: RoleAssignment(),
            lastWriter: nil
        )
        var machine = self.start(Self.consistent(), restoring: snapshot, policy: ClusterPolicy(autoSetOnline: .seconds(10)))
        #expect(!machine.isFirstStart)
        _ = machine.started(at: .zero)
        _ = machine.report("db1", .allOK, at: .seconds(1))
        #expect(machine.state(of: "db1") == .awaitingRecovery)
        #expect(machine.pendingPromotion == nil)
        let actions = machine.tick(at: .seconds(10))
        #expect(actions.contains(.hostStateChanged(host: "db1", HostTransition(from: .awaitingRecovery, to: .online, rule: .autoSetOnline))))
        #expect(machine.pendingPromotion?.host == "db1")
    }

    @Test func anAgentThatReportsAStateMeansThisIsNotAFirstStart() {
        var observations = Self.consistent()
        observations["db3"]?.agentState = .awaitingRecovery
        var machine = self.start(observations)
        #expect(!machine.isFirstStart)
        _ = machine.started(at: .zero)
        _ = machine.report("db1", .allOK, at: .seconds(1))
        #expect(machine.state(of: "db1") == .awaitingRecovery)
    }

    @Test func aHostWhoseGTIDStateIsUnknownPreventsAFirstStart() {
        var observations = Self.consistent()
        observations["db2"]?.gtidBinlogState = nil
        #expect(!self.start(observations).isFirstStart)
        observations["db2"] = nil
        var machine = self.start(observations)
        #expect(!machine.isFirstStart)
        #expect(machine.mode == .active)
        _ = machine.started(at: .zero)
        _ = machine.report("db1", .allOK, at: .seconds(1))
        #expect(machine.state(of: "db1") == .awaitingRecovery)
    }

    @Test func aFreshHostThatFailedThenRecoveredWaitsForAutoSetOnline() {
        var machine = self.start(Self.consistent(), policy: ClusterPolicy(autoSetOnline: .seconds(10)))
        _ = machine.started(at: .zero)
        _ = machine.report("db2", .mysqlDown, at: .seconds(1))
        #expect(machine.state(of: "db2") == .hardOffline)
        #expect(machine.hosts["db2"]?.isFirstStart == false)
        _ = machine.report("db2", .allOK, at: .seconds(2))
        #expect(machine.state(of: "db2") == .awaitingRecovery)
        _ = machine.tick(at: .seconds(11))
        #expect(machine.state(of: "db2") == .awaitingRecovery)
        let actions = machine.tick(at: .seconds(12))
        #expect(actions.contains(.hostStateChanged(host: "db2", HostTransition(from: .awaitingRecovery, to: .online, rule: .autoSetOnline))))

        // Without auto_set_online it waits for the operator.
        var manual = self.start(Self.consistent(), policy: ClusterPolicy(autoSetOnline: nil))
        _ = manual.started(at: .zero)
        _ = manual.report("db2", .unreachable, at: .seconds(1))
        _ = manual.report("db2", .allOK, at: .seconds(2))
        _ = manual.tick(at: .seconds(1000))
        #expect(manual.state(of: "db2") == .awaitingRecovery)
    }

    @Test func aFreshHostFoundErrantStaysOut() {
        var machine = self.start(Self.consistent())
        _ = machine.started(at: .zero)
        // Found before its checks arrive: the errant rule comes before the first-start rule.
        _ = machine.gtidCompared(host: "db3", errant: ["0-3-1"], at: .seconds(1))
        _ = machine.report("db3", .allOK, at: .seconds(1))
        #expect(machine.state(of: "db3") == .replicationFail)
        #expect(machine.hosts["db3"]?.isFirstStart == false)
        #expect(machine.roles(of: "db3").isEmpty)
    }

    // MARK: - Inconsistent first start

    /// PASSIVE from the start, nothing assigned, and no action but host-state changes while checks arrive.
    private func expectAssignsNothing(_ observations: [String: StartupObservation], cause: String) {
        var machine = self.start(observations)
        #expect(machine.mode == .passive)
        #expect(!machine.isFirstStart)
        #expect(machine.passiveCause == cause)
        #expect(machine.assignment.holders.isEmpty)
        #expect(machine.writer == nil)
        var actions = machine.started(at: .zero)
        for host in ["db1", "db2", "db3"] {
            actions += machine.report(host, .allOK, at: .seconds(1))
            actions += machine.agentAnswered(host: host, uptime: .seconds(100), at: .seconds(1))
        }
        actions += machine.tick(at: .seconds(1000))
        #expect(Self.roleActions(actions).isEmpty)
        #expect(machine.assignment.holders.isEmpty)
        for host in ["db1", "db2", "db3"] {
            #expect(machine.hosts[host]?.isFirstStart == false)
        }
        #expect(machine.showText.hasPrefix("# --- Monitor is in PASSIVE MODE ---\n# Cause: " + cause.split(separator: "\n")[0] + "\n"))
    }

    private static let tail = "\nNothing is assigned until then; hosts go ONLINE by auto_set_online or `mmm_control set_online HOST`."

    @Test func twoWritableHostsAssignNothing() {
        var observations = Self.consistent()
        observations["db1"]?.writable = true
        observations["db2"]?.writable = true
        self.expectAssignsNothing(
            observations,
            cause: "db1 and db2 are both writable (read_only=OFF) at first start; make all but one read-only "
                + "(SET GLOBAL read_only=ON), then run `mmm_control set_active`." + Self.tail
        )
    }

    @Test func aRoleIPOnTwoHostsAssignsNothingEvenWithoutCarefulStartup() {
        var observations = Self.consistent()
        observations["db2"]?.configuredIPs = [self.readers[1].ip]
        observations["db3"]?.configuredIPs = [self.readers[1].ip]
        // show warns about it from the start.
        #expect(self.start(observations).showText.contains("# Warning: IP 192.168.0.52 (reader) is configured on db2 and db3\n"))
        self.expectAssignsNothing(
            observations,
            cause: "IP 192.168.0.52 (reader) is configured on db2 and db3 at first start; remove it from all but one "
                + "host (ip addr del), then run `mmm_control set_active`." + Self.tail
        )
        // careful_startup governs restarts only; a first start always checks.
        observations["db1"]?.configuredIPs = [self.writer.ip]
        observations["db2"]?.configuredIPs = [self.writer.ip]
        let careless = self.start(observations, policy: ClusterPolicy(carefulStartup: false))
        #expect(careless.mode == .passive)
        #expect(careless.writer == nil)
    }

    @Test func divergedGTIDsInASharedDomainAssignNothing() {
        // Fact R1's example: the old writer's 0-1-5, 0-1-6 never reached db2, which then wrote up to 0-2-7.
        // Positions (0-1-6 against 0-2-7) would call db1 merely behind.
        var observations = Self.consistent()
        observations["db1"]?.gtidBinlogState = Self.state("0-1-6")
        observations["db2"]?.gtidBinlogState = Self.state("0-1-4,0-2-7")
        observations["db3"]?.gtidBinlogState = Self.state("0-1-4")
        self.expectAssignsNothing(
            observations,
            cause: "db1 and db2 have diverged GTIDs at first start: db1 has 0-1-5..0-1-6 that db2 lacks, db2 has "
                + "0-2-1..0-2-7 that db1 lacks; make their data agree (or rebuild one from the other), then run "
                + "`mmm_control set_active`." + Self.tail
        )
    }

    @Test func sameSequenceNumbersFromDifferentServersAreDiverged() {
        var observations = Self.consistent()
        observations["db1"]?.gtidBinlogState = Self.state("0-1-5")
        observations["db2"]?.gtidBinlogState = Self.state("0-2-5")
        observations["db3"]?.gtidBinlogState = Self.state("")
        let machine = self.start(observations)
        #expect(machine.mode == .passive)
        #expect(machine.passiveCause?.hasPrefix("db1 and db2 have diverged GTIDs at first start: db1 has 0-1-1..0-1-5") == true)
    }

    @Test func divergedGTIDsWithOneDomainPerMasterAssignNothing() {
        // Fact §2.1: db1 wrote 1-1-2, 1-1-3 that db2 never got; db2 then wrote 2-2-1.
        var observations = Self.consistent()
        observations["db1"]?.gtidBinlogState = Self.state("0-1-3,1-1-3")
        observations["db2"]?.gtidBinlogState = Self.state("0-1-3,1-1-1,2-2-1")
        observations["db3"]?.gtidBinlogState = Self.state("0-1-3,1-1-1")
        let machine = self.start(observations)
        #expect(machine.mode == .passive)
        #expect(
            machine.passiveCause?.hasPrefix(
                "db1 and db2 have diverged GTIDs at first start: db1 has 1-1-2..1-1-3 that db2 lacks, db2 has 2-2-1 that db1 lacks;"
            ) == true
        )
    }

    @Test func lagIsNotDivergence() {
        // Fact §2.1's clean old writer, and a replica behind both.
        var observations = Self.consistent()
        observations["db1"]?.gtidBinlogState = Self.state("0-1-3,1-1-11")
        observations["db2"]?.gtidBinlogState = Self.state("0-1-3,1-1-11,2-2-2")
        observations["db3"]?.gtidBinlogState = Self.state("0-1-3,1-1-9")
        let machine = self.start(observations)
        #expect(machine.mode == .active)
        #expect(machine.passiveCause == nil)
        #expect(machine.isFirstStart)
    }

    @Test func everyProblemIsListed() {
        var observations = Self.consistent()
        observations["db1"]?.writable = true
        observations["db2"]?.writable = true
        observations["db3"]?.writable = true
        observations["db1"]?.configuredIPs = [self.writer.ip]
        observations["db2"]?.configuredIPs = [self.writer.ip]
        observations["db3"]?.gtidBinlogState = Self.state("0-3-1")
        let machine = self.start(observations)
        let lines = machine.passiveCause?.split(separator: "\n").map(String.init) ?? []
        #expect(lines.count == 5)
        #expect(lines.first?.hasPrefix("db1, db2 and db3 are all writable") == true)
        #expect(lines.dropFirst().first?.hasPrefix("IP 192.168.0.50 (writer) is configured on db1 and db2") == true)
        #expect(lines.filter { $0.contains("have diverged GTIDs") }.count == 2)  // db3 against db1 and db2
        let show = machine.showText.split(separator: "\n").map(String.init)
        var expected: [String] = ["# --- Monitor is in PASSIVE MODE ---", "# Cause: " + lines[0]]
        expected += lines.dropFirst().map { "# " + $0 }
        #expect(Array(show.prefix(6)) == expected)
    }

    @Test func afterTheRepairSetActiveDistributesRolesAsUsual() {
        var observations = Self.consistent()
        observations["db1"]?.writable = true
        observations["db2"]?.writable = true
        var machine = self.start(observations, policy: ClusterPolicy(autoSetOnline: .seconds(5)))
        _ = machine.started(at: .zero)
        for host in ["db1", "db2", "db3"] {
            _ = machine.report(host, .allOK, at: .seconds(1))
        }
        _ = machine.tick(at: .seconds(6))
        #expect(machine.state(of: "db1") == .online)
        #expect(machine.assignment.holders.isEmpty)
        let reply = machine.setActiveRequested(at: .seconds(7))
        #expect(reply.actions.contains(.drainThenPromote(host: "db1", previousWriter: nil)))
        #expect(machine.passiveCause == nil)
    }

    @Test func aRestartBeforeTheOperatorActedChecksAgainAndStaysPassive() {
        var observations = Self.consistent()
        observations["db1"]?.writable = true
        observations["db2"]?.writable = true
        var machine = self.start(observations)
        _ = machine.started(at: .zero)
        #expect(machine.firstStartUnresolved)
        let snapshot = machine.snapshot
        #expect(snapshot.firstStartUnresolved)

        // Still two writers: the same cause again, although a status file exists now.
        let again = self.start(observations, restoring: snapshot)
        #expect(again.mode == .passive)
        #expect(again.passiveCause?.hasPrefix("db1 and db2 are both writable") == true)

        // db2 did not answer: nothing proves the servers consistent now.
        var partial = observations
        partial["db2"] = nil
        let blind = self.start(partial, restoring: snapshot)
        #expect(blind.mode == .passive)
        #expect(blind.passiveCause?.hasPrefix("An earlier first start found the servers inconsistent") == true)
        #expect(blind.assignment.holders.isEmpty)

        // Repaired while the monitor was down, every host answered: a first start after all.
        let repaired = self.start(Self.consistent(), restoring: snapshot)
        #expect(repaired.mode == .active)
        #expect(repaired.isFirstStart)

        // Once the operator changed the mode, the snapshot is an ordinary one.
        _ = machine.setActiveRequested(at: .seconds(1))
        #expect(!machine.firstStartUnresolved)
        #expect(!machine.snapshot.firstStartUnresolved)
    }
}
