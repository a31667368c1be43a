import MMMCore
import Testing

/// MMM's "what happens to roles on each state change" (behaviour reference §5.3), per mode: the host
/// table's transitions seen from the cluster, with the actions they produce.
struct RoleConsequenceRow: Sendable, CustomTestStringConvertible {
    var mode: MonitorMode
    var host: String
    var status: HostCheckStatus
    var expectedState: HostState
    var testDescription: String { "\(self.mode) \(self.host) -> \(self.expectedState)" }
}

let roleConsequenceRows: [RoleConsequenceRow] = [MonitorMode.active, .manual, .passive].flatMap { mode in
    [
        RoleConsequenceRow(mode: mode, host: "db3", status: .unreachable, expectedState: .hardOffline),
        RoleConsequenceRow(mode: mode, host: "db3", status: .replicationBroken, expectedState: .replicationFail),
        RoleConsequenceRow(mode: mode, host: "db3", status: .replicationLagging, expectedState: .replicationDelay),
        RoleConsequenceRow(mode: mode, host: "db2", status: .replicationBroken, expectedState: .replicationFail),
        // The writer leaves once the cross-check confirms it; PASSIVE may not ask, and holds it.
        RoleConsequenceRow(mode: mode, host: "db1", status: .mysqlDown, expectedState: mode == .passive ? .online : .hardOffline),
        // The writer's own replication is not judged.
        RoleConsequenceRow(mode: mode, host: "db1", status: .replicationBroken, expectedState: .online),
    ]
}

@Suite struct ClusterTransitionActionTests {
    @Test(arguments: roleConsequenceRows)
    func rolesFollowStateChanges(_ row: RoleConsequenceRow) {
        var machine = ClusterStateMachine.running()
        switch row.mode {
        case .manual: _ = machine.setManualRequested(at: .seconds(10))
        case .passive: _ = machine.setPassiveRequested(at: .seconds(10))
        case .active, .wait: break
        }
        let held = machine.roles(of: row.host)
        let reported = machine.report(row.host, row.status, at: .seconds(100))
        // Only the writer failing its checks is cross-checked; the answer here: nobody reaches it.
        let asked = reported.filter { if case .crossCheckWriter = $0 { true } else { false } }
        let crossChecked = row.host == "db1" && row.status == .mysqlDown && row.mode != .passive
        #expect(asked == (crossChecked ? [.crossCheckWriter(host: "db1", via: ["db2", "db3"])] : []))
        let actions = reported.filter { !asked.contains($0) } + machine.answerCrossChecks(in: asked, reachable: false, at: .seconds(100))
        #expect(machine.state(of: row.host) == row.expectedState)
        guard row.expectedState != .online else {
            #expect(actions.isEmpty)
            #expect(machine.roles(of: row.host) == held)
            return
        }
        #expect(actions.first.map { if case .hostStateChanged(host: row.host, let t) = $0 { t.to == row.expectedState } else { false } } == true)
        // Never a role on a host that is not ONLINE, in every mode (MMM keeps them in MANUAL).
        #expect(machine.roles(of: row.host).isEmpty)
        if row.mode == .passive {
            // Only the state change: no agent is told anything, nothing is reassigned.
            #expect(actions.count == 1)
            #expect(machine.assignment.holders.count == 4 - held.count)
            return
        }
        #expect(actions.contains(.removeRoles(host: row.host, roles: held)))
        // The orphaned reader is reassigned at once; the writer goes through a drain.
        #expect(machine.assignment.holders.count + (held.contains(ClusterFixtures.writer) ? 1 : 0) == 4)
        if held.contains(ClusterFixtures.writer) {
            let removal = actions.firstIndex(of: .removeRoles(host: row.host, roles: held))
            let drain = actions.firstIndex(of: .drainThenPromote(host: "db2", previousWriter: row.host))
            #expect(removal != nil && drain != nil && removal! < drain!)
        } else {
            #expect(actions.contains { if case .addRoles = $0 { true } else { false } })
        }
    }
}
