import MMMCore
import Testing

@Suite struct HostStateMachineTests {
    private static let down = HostEvaluation(checks: HostCheckStatus(ping: false, mysql: false, repThreads: true, repBacklog: true))
    private static let up = HostEvaluation(checks: .allOK)

    /// Drops the host from ONLINE and brings it back through set_online, at `t` seconds.
    private func bounce(_ machine: inout HostStateMachine, at t: Int) -> HostTransition? {
        guard case .transition(let drop) = machine.checksEvaluated(Self.down, at: .seconds(t)) else { return nil }
        _ = machine.checksEvaluated(Self.up, at: .seconds(t))
        _ = machine.setOnlineAccepted(at: .seconds(t))
        return drop
    }

    @Test func fourthDropInsideTheWindowMarksFlapping() {
        var machine = HostStateMachine(state: .online, policy: ClusterPolicy(), since: .zero)
        // set_online clears the flag, so bring it back with quick recovery instead.
        var drops: [HostTransition] = []
        for t in [0, 100, 200, 300] {
            machine.agentAnswered(uptime: .seconds(10_000 + t))
            guard case .transition(let drop) = machine.checksEvaluated(Self.down, at: .seconds(t)) else {
                Issue.record("no drop at \(t)")
                return
            }
            drops.append(drop)
            _ = machine.checksEvaluated(Self.up, at: .seconds(t))
            machine.agentAnswered(uptime: .seconds(10_000 + t + 5))
            _ = machine.checksEvaluated(Self.up, at: .seconds(t + 5))
        }
        #expect(drops.map(\.flapDetected) == [false, false, false, true])
        #expect(machine.flapping)
        // A flapping host does not quick-recover: it waits in AWAITING_RECOVERY.
        #expect(machine.state == .awaitingRecovery)
    }

    @Test func slidingWindowForgetsOldDrops() {
        // Drops at 0, 3000, 3600 (the first has left the window), 4000: only three inside 3600 s.
        var machine = HostStateMachine(state: .online, policy: ClusterPolicy(), since: .zero)
        var flags: [Bool] = []
        for t in [0, 3000, 3600, 4000] {
            flags.append(self.bounce(&machine, at: t)?.flapDetected ?? true)
        }
        #expect(flags == [false, false, false, false])
        // A fixed window anchored at t=0 (MMM) would have restarted at 3600 too; a fifth drop at 4100
        // makes four inside (3000, 3600, 4000, 4100]: flapping.
        #expect(self.bounce(&machine, at: 4100)?.flapDetected == true)
    }

    @Test func flapDetectionDisabledWithZeroCount() {
        var machine = HostStateMachine(state: .online, policy: ClusterPolicy(flapCount: 0), since: .zero)
        for t in 0..<10 {
            #expect(self.bounce(&machine, at: t)?.flapDetected == false)
        }
        #expect(!machine.flapping)
    }

    @Test func adminOfflineIsNotAFlap() {
        var machine = HostStateMachine(state: .online, policy: ClusterPolicy(flapCount: 1), since: .zero)
        for t in 0..<5 {
            _ = machine.setOfflineAccepted(at: .seconds(t))
            _ = machine.setOnlineAccepted(at: .seconds(t))
        }
        #expect(machine.flapDrops.isEmpty)
        #expect(!machine.flapping)
    }

    @Test func setOnlineClearsFlapping() {
        var machine = HostStateMachine(
            restoring: HostSnapshot(state: .awaitingRecovery, flapping: true),
            policy: ClusterPolicy(),
            at: .zero
        )
        let transition = machine.setOnlineAccepted(at: .seconds(5))
        #expect(transition == HostTransition(from: .awaitingRecovery, to: .online, rule: .adminSetOnline))
        #expect(!machine.flapping)
    }

    @Test func autoOnlineOfFlappingHostKeepsTheFlag() {
        var machine = HostStateMachine(
            restoring: HostSnapshot(state: .awaitingRecovery, flapping: true),
            policy: ClusterPolicy(autoSetOnline: .seconds(10), flapDuration: .seconds(100)),
            at: .zero
        )
        var checks = HostCheckStatus.allOK
        checks.lastChanges[.ping] = .zero
        let action = machine.checksEvaluated(HostEvaluation(checks: checks), at: .seconds(100))
        #expect(action == .transition(HostTransition(from: .awaitingRecovery, to: .online, rule: .flapQuietPeriodElapsed)))
        #expect(machine.flapping)
    }

    @Test func quickRecoveryUsesUptimeFromTheLastAnswerWhileOnline() {
        var machine = HostStateMachine(state: .online, policy: ClusterPolicy(), since: .zero)
        machine.agentAnswered(uptime: .seconds(500))
        _ = machine.checksEvaluated(Self.down, at: .seconds(1))
        // Answers while offline do not move the reference point.
        machine.agentAnswered(uptime: .seconds(520))
        #expect(machine.lastOnlineUptime == .seconds(500))
        _ = machine.checksEvaluated(Self.up, at: .seconds(20))
        #expect(machine.state == .awaitingRecovery)
        machine.agentAnswered(uptime: .seconds(540))
        let action = machine.checksEvaluated(Self.up, at: .seconds(40))
        #expect(action == .transition(HostTransition(from: .awaitingRecovery, to: .online, rule: .quickRecovery)))
    }

    @Test func errantHostReturnsToMMMRulesOnceClean() {
        var machine = HostStateMachine(state: .hardOffline, policy: ClusterPolicy(autoSetOnline: .seconds(1)), since: .zero)
        machine.gtidCompared(errant: ["0-1-100"])
        _ = machine.checksEvaluated(Self.up, at: .seconds(1))
        #expect(machine.state == .replicationFail)
        #expect(machine.replicationFailReason == .errantTransactions(["0-1-100"]))
        // Healthy replication and a dead peer would make MMM turn it ONLINE; errant keeps it out.
        let peerDown = HostEvaluation(checks: .allOK, peer: PeerView(state: .hardOffline, isReachable: false))
        #expect(machine.checksEvaluated(peerDown, at: .seconds(50)) == .stay)
        machine.gtidCompared(errant: [])
        #expect(machine.replicationFailReason == .replicationBroken)
        #expect(machine.checksEvaluated(peerDown, at: .seconds(60)) != .stay)
        #expect(machine.state == .online)
    }

    @Test func forcedTransitions() {
        var target = HostStateMachine(state: .replicationDelay, policy: ClusterPolicy(), since: .zero)
        #expect(target.forcedOnline(at: .seconds(1)) == HostTransition(from: .replicationDelay, to: .online, rule: .forcedOnline))
        var old = HostStateMachine(state: .online, policy: ClusterPolicy(), since: .zero)
        let demotion = old.forcedDemotion(to: .replicationFail, at: .seconds(1))
        #expect(demotion == HostTransition(from: .online, to: .replicationFail, rule: .forcedDemotion))
        #expect(old.flapDrops.count == 1)
    }

    @Test func firstStartHostGoesOnlineOnceEveryCheckPasses() {
        var machine = HostStateMachine(state: .awaitingRecovery, policy: ClusterPolicy(autoSetOnline: nil), since: .zero)
        machine.firstStartDeclared()
        #expect(machine.isFirstStart)
        let unknownReplication = HostEvaluation(checks: HostCheckStatus(ping: true, mysql: true))
        #expect(machine.checksEvaluated(unknownReplication, at: .seconds(1)) == .stay)
        let lagging = HostEvaluation(checks: HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false))
        #expect(machine.checksEvaluated(lagging, at: .seconds(1)) == .stay)
        let action = machine.checksEvaluated(Self.up, at: .seconds(2))
        #expect(action == .transition(HostTransition(from: .awaitingRecovery, to: .online, rule: .firstStart)))
        #expect(!machine.isFirstStart)
    }

    @Test func anyTransitionEndsTheFirstStart() {
        var machine = HostStateMachine(state: .awaitingRecovery, policy: ClusterPolicy(autoSetOnline: nil), since: .zero)
        machine.firstStartDeclared()
        _ = machine.checksEvaluated(Self.down, at: .seconds(1))
        #expect(machine.state == .hardOffline)
        #expect(!machine.isFirstStart)
        _ = machine.checksEvaluated(Self.up, at: .seconds(2))
        #expect(machine.state == .awaitingRecovery)
        #expect(machine.checksEvaluated(Self.up, at: .seconds(100)) == .stay)

        // Only a clean host waiting in AWAITING_RECOVERY can take part.
        var online = HostStateMachine(state: .online, policy: ClusterPolicy(), since: .zero)
        online.firstStartDeclared()
        #expect(!online.isFirstStart)
        var errant = HostStateMachine(state: .awaitingRecovery, policy: ClusterPolicy(), since: .zero)
        errant.gtidCompared(errant: ["0-1-2"])
        errant.firstStartDeclared()
        #expect(!errant.isFirstStart)
    }

    @Test func snapshotRoundTrip() {
        var machine = HostStateMachine(
            restoring: HostSnapshot(state: .replicationFail, flapping: true, errantTransactions: ["0-1-2"]),
            policy: ClusterPolicy(),
            at: .seconds(3)
        )
        #expect(machine.snapshot == HostSnapshot(state: .replicationFail, flapping: true, errantTransactions: ["0-1-2"]))
        machine.gtidCompared(errant: [])
        #expect(machine.snapshot.errantTransactions.isEmpty)
    }
}
