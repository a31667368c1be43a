import MMMCore
import Testing

@Suite struct AgentStateMachineTests {
    static let writer = RoleIP(role: "writer", ip: "198.18.0.210")
    static let reader = RoleIP(role: "reader", ip: "198.18.0.211")

    func machine(_ this: String = "db2") -> AgentStateMachine {
        AgentStateMachine(
            identity: AgentStateMachine.Identity(this: this, writerRole: "writer", roleIPs: [Self.writer, Self.reader]),
            lease: WriterLease.Configuration()
        )
    }

    func status(_ roles: [RoleIP], follow: String?, epoch: UInt64) -> AgentStateMachine.Status {
        AgentStateMachine.Status(state: .online, roles: roles, activeMaster: follow, epoch: epoch)
    }

    @Test func beforeTheMonitorSpeaksARoundChangesNothing() {
        var machine = self.machine()
        #expect(machine.roundStart() == .idle)
        machine.startedOnWritableServer(grace: .seconds(1), at: .zero)
        #expect(machine.roundStart() == .idle, "armed, not fenced yet")
        #expect(machine.tick(at: .zero) == .none)
        _ = machine.tick(at: .seconds(1))
        _ = machine.peersAnswered([.hearsMonitor], at: .seconds(1))
        guard case .converge(let round) = machine.roundStart() else {
            Issue.record("a fenced lease converges (to fence)")
            return
        }
        #expect(round.mustNotWrite && round.known == nil)
        let plan = machine.plan(observed: AgentObservation(heldIPs: [Self.writer.ip], writable: true), for: round)
        #expect(plan.actions == [.fence, .releaseIP(Self.writer)])
    }

    @Test func anOlderEpochGivesNothingButShowsTheMonitorIsThere() {
        var machine = self.machine()
        let accepted = machine.statusReceived(self.status([Self.reader], follow: "db1", epoch: 5), at: .zero)
        let older = machine.statusReceived(self.status([Self.writer], follow: nil, epoch: 4), at: .seconds(1))
        #expect(accepted && !older)
        #expect(!machine.writerRoleWanted)
        #expect(machine.roles == [Self.reader])
        #expect(machine.lastHeardMonitor == .seconds(1))
        #expect(machine.peerAnswer(at: .seconds(2)) == .hearsMonitor)
    }

    @Test func aFenceOrderTakesTheRoleUntilANewerEpochAndThenClearsItself() {
        var machine = self.machine()
        machine.statusReceived(self.status([Self.writer], follow: nil, epoch: 5), at: .zero)
        #expect(machine.writerRoleWanted)
        machine.fenceOrderReceived(epoch: 5, at: .seconds(1))
        #expect(!machine.writerRoleWanted && machine.fenceOrdered)
        machine.statusReceived(self.status([Self.writer], follow: nil, epoch: 5), at: .seconds(2))
        #expect(!machine.writerRoleWanted, "the same epoch repeated gives nothing back")
        #expect(machine.fencedAwaitingEpoch)
        machine.statusReceived(self.status([Self.writer], follow: nil, epoch: 6), at: .seconds(3))
        #expect(machine.writerRoleWanted && !machine.fenceOrdered && !machine.fencedAwaitingEpoch)
    }

    @Test func unreadableServerReleasesWhatTheHostMustNotHold() {
        var machine = self.machine()
        machine.statusReceived(self.status([Self.reader], follow: "db1", epoch: 1), at: .zero)
        guard case .converge(let round) = machine.roundStart() else {
            Issue.record("expected a round")
            return
        }
        #expect(round.mustNotWrite)
        #expect(machine.unwantedIPs(held: [Self.writer.ip, Self.reader.ip], for: round) == [Self.writer])
    }

    /// Bench finding 5: the new writer's first repoint to the returned peer failed (a transient 1236); the source was
    /// seen configured (a promotion keeps it, stopped), and before this it counted as acted on: no retry, the ring
    /// stayed open.
    @Test func aFailedFollowIsRetriedEvenWhenTheSourceIsConfigured() {
        var machine = self.machine()
        machine.statusReceived(self.status([Self.writer], follow: nil, epoch: 2), at: .zero)
        machine.promoted()
        machine.statusReceived(self.status([Self.writer], follow: "db1", epoch: 2), at: .seconds(1))
        let stopped = AgentObservation(heldIPs: [Self.writer.ip], writable: true, following: "db1", replicating: false)
        guard case .converge(let first) = machine.roundStart() else {
            Issue.record("expected a round")
            return
        }
        let plan = machine.plan(observed: stopped, for: first)
        #expect(plan.actions == [.follow(writer: "db1")])
        machine.roundEnded(desire: plan.desire, observed: stopped, followed: false)
        guard case .converge(let second) = machine.roundStart() else {
            Issue.record("expected a round")
            return
        }
        #expect(machine.plan(observed: stopped, for: second).actions == [.follow(writer: "db1")], "retried")
        machine.roundEnded(desire: plan.desire, observed: stopped, followed: true)
        guard case .converge(let third) = machine.roundStart() else {
            Issue.record("expected a round")
            return
        }
        // Followed once: an operator's later STOP SLAVE is left alone, as before.
        #expect(machine.plan(observed: stopped, for: third).actions.isEmpty)
    }
}
