import MMMCore
import Testing

@Suite struct ClusterStartupTests {
    private let writer = ClusterFixtures.writer
    private let readers = ClusterFixtures.readers

    private func restart(
        _ snapshot: ClusterSnapshot?,
        observations: [String: StartupObservation] = [:],
        policy: ClusterPolicy = ClusterPolicy()
    ) -> ClusterStateMachine {
        ClusterStateMachine(
            topology: ClusterFixtures.topology(),
            policy: policy,
            checkPolicies: ClusterFixtures.immediateChecks,
            restoring: snapshot,
            observations: observations,
            at: .seconds(500)
        )
    }

    @Test func restartKeepsStatesRolesAndTheWriterWithoutANewDrain() {
        let before = ClusterStateMachine.running()
        var after = self.restart(before.snapshot)
        #expect(after.assignment == before.assignment)
        for host in ["db1", "db2", "db3"] {
            #expect(after.state(of: host) == before.state(of: host))
        }
        let actions = after.started(at: .seconds(500))
        #expect(actions == [.sendStatusToAll(hosts: ["db2", "db3", "db1"])])
        #expect(after.pendingPromotion == nil)
    }

    @Test func restartedHostsAreJudgedOnlyOnceTheirChecksArrive() {
        var machine = self.restart(ClusterStateMachine.running().snapshot)
        _ = machine.started(at: .seconds(500))
        #expect(machine.tick(at: .seconds(600)).isEmpty)
        // The first result after a restart is reported at once (MMM's startup pass), failure included.
        let actions = machine.probeCompleted(host: "db1", check: .mysql, outcome: .failed(message: "ERROR"), at: .seconds(601))
        #expect(actions.isEmpty)  // ping still unknown
        let judged = machine.probeCompleted(host: "db1", check: .ping, outcome: .ok(message: "OK"), at: .seconds(601))
        // The writer is cross-checked first, a restarted monitor included; here nobody reaches it either.
        #expect(judged == [.crossCheckWriter(host: "db1", via: ["db2", "db3"])])
        _ = machine.answerCrossChecks(in: judged, reachable: false, at: .seconds(601))
        #expect(machine.state(of: "db1") == .hardOffline)
        #expect(machine.writer == nil)
    }

    @Test func inProgressPromotionIsRolledBackByARestart() {
        var before = ClusterStateMachine.running()
        _ = before.reportConfirmed("db1", .unreachable, at: .seconds(100))
        #expect(before.pendingPromotion?.host == "db2")
        var after = self.restart(before.snapshot)
        #expect(after.writer == nil && after.pendingPromotion == nil)
        _ = after.started(at: .seconds(500))
        for host in ["db1", "db2", "db3"] {
            _ = after.report(host, host == "db1" ? .unreachable : .allOK, at: .seconds(501))
        }
        _ = after.agentAnswered(host: "db2", uptime: .seconds(1), at: .seconds(501))
        #expect(after.pendingPromotion?.host == "db2")
    }

    @Test func storedAndReportedStatesFollowMMMsPrecedence() {
        var snapshot = ClusterStateMachine.running().snapshot
        snapshot.hosts["db1"]?.state = .online
        snapshot.hosts["db2"]?.state = .replicationDelay
        snapshot.hosts["db3"]?.state = .online
        let machine = self.restart(
            snapshot,
            observations: [
                "db2": StartupObservation(agentState: .online),
                "db3": StartupObservation(agentState: .adminOffline),
            ],
            policy: ClusterPolicy(initialMode: .manual)
        )
        #expect(machine.state(of: "db2") == .replicationDelay)
        #expect(machine.state(of: "db3") == .adminOffline)
        #expect(machine.roles(of: "db3").isEmpty)
    }

    @Test func withoutStatusFileEveryHostAwaitsRecovery() {
        let machine = self.restart(nil)
        for host in ["db1", "db2", "db3"] {
            #expect(machine.state(of: host) == .awaitingRecovery)
        }
        #expect(machine.writer == nil)
    }

    @Test func writerVoteFollowsTheRealServerOverTheStatusFile() {
        // The status file says db1, but db2 is writable with the VIP: 4 + 2 beats 1.
        var snapshot = ClusterStateMachine.running().snapshot
        snapshot.hosts["db2"]?.state = .awaitingRecovery
        let machine = self.restart(
            snapshot,
            observations: ["db2": StartupObservation(writable: true, configuredIPs: [self.writer.ip])]
        )
        #expect(machine.writer == "db2")
        // The winner is forced ONLINE (not MANUAL).
        #expect(machine.state(of: "db2") == .online)
    }

    @Test func writerVipOnTwoHostsStartsPassiveWithCarefulStartup() {
        let observations = [
            "db1": StartupObservation(writable: true, configuredIPs: [self.writer.ip]),
            "db2": StartupObservation(writable: true, configuredIPs: [self.writer.ip]),
        ]
        var careful = self.restart(ClusterStateMachine.running().snapshot, observations: observations)
        #expect(careful.mode == .passive)
        #expect(careful.passiveCause == "Writer IP 192.168.0.50 is configured on more than one host (db1, db2) at startup.")
        #expect(careful.started(at: .seconds(500)).isEmpty)

        let careless = self.restart(
            ClusterStateMachine.running().snapshot,
            observations: observations,
            policy: ClusterPolicy(carefulStartup: false)
        )
        #expect(careless.mode == .active)
        #expect(careless.writer == "db1")
    }

    @Test func flappingAndErrantMemorySurviveARestart() {
        var before = ClusterStateMachine.running()
        _ = before.gtidCompared(host: "db2", errant: ["0-2-9"], at: .seconds(100))
        #expect(before.state(of: "db2") == .replicationFail)
        let after = self.restart(before.snapshot)
        #expect(after.state(of: "db2") == .replicationFail)
        #expect(after.hosts["db2"]?.errantTransactions == ["0-2-9"])
    }

    @Test func adminOfflineHostDoesNotWinTheWriterVote() {
        var snapshot = ClusterStateMachine.running().snapshot
        snapshot.hosts["db1"]?.state = .adminOffline
        let machine = self.restart(snapshot, observations: ["db1": StartupObservation(writable: true, configuredIPs: [self.writer.ip])])
        #expect(machine.writer == nil)
        #expect(machine.state(of: "db1") == .adminOffline)
    }

    @Test func readerVotesKeepReadersWhereTheyAre() {
        let before = ClusterStateMachine.running()
        let after = self.restart(before.snapshot)
        for reader in self.readers {
            #expect(after.assignment.holder(of: reader) == before.assignment.holder(of: reader))
        }
    }

    @Test func replicationFailHostStaysOutUntilItsReplicationChecksArrive() {
        // db2 was REPLICATION_FAIL before the restart. Its ping and mysql results arrive first: unknown
        // replication checks must not count as healthy replication and bring it ONLINE.
        var snapshot = ClusterStateMachine.running().snapshot
        snapshot.hosts["db2"]?.state = .replicationFail
        snapshot.roles = RoleAssignment(holders: snapshot.roles.holders.filter { $0.value != "db2" })
        var machine = self.restart(snapshot)
        _ = machine.started(at: .seconds(500))
        _ = machine.report("db1", .allOK, at: .seconds(501))
        _ = machine.report("db2", HostCheckStatus(ping: true, mysql: true), at: .seconds(501))
        #expect(machine.state(of: "db2") == .replicationFail)
        #expect(machine.roles(of: "db2").isEmpty)
        // Once they arrive healthy, MMM's recovery rule applies.
        _ = machine.report("db2", .allOK, at: .seconds(502))
        #expect(machine.state(of: "db2") == .online)
    }

    @Test func errantHostIsNotForcedOnlineByTheReaderVote() {
        // db3's errant transactions were found while it was AWAITING_RECOVERY; its agent still has a
        // reader IP configured. The writer vote ignores errant hosts; the reader vote must too, or the
        // restart turns an errant host ONLINE with a reader role.
        var snapshot = ClusterStateMachine.running().snapshot
        snapshot.hosts["db3"] = HostSnapshot(state: .awaitingRecovery, errantTransactions: ["0-3-7"])
        snapshot.roles = RoleAssignment(holders: snapshot.roles.holders.filter { $0.value != "db3" })
        let machine = self.restart(
            snapshot,
            observations: ["db3": StartupObservation(agentRoles: [self.readers[2]], configuredIPs: [self.readers[2].ip])]
        )
        #expect(machine.state(of: "db3") == .awaitingRecovery)
        #expect(machine.roles(of: "db3").isEmpty)
    }
}
