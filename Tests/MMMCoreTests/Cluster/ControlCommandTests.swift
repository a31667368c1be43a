import MMMCore
import Testing

/// One `mmm_control` command against a scripted cluster, with MMM 2.2's expected reply text.
struct CommandCase: Sendable, CustomTestStringConvertible {
    enum Setup: Sendable {
        /// db1 writer + reader, db2 and db3 one reader each, all ONLINE, ACTIVE.
        case running
        case runningManual
        case runningPassive
        /// No status file: every host AWAITING_RECOVERY with OK checks.
        case fresh
        /// Running, then the host got these checks (and the machine evaluated them).
        case runningThen(host: String, HostCheckStatus)
        /// Running with `prefer db1` on the writer role.
        case runningPreferDB1
        /// Running, db2 set offline by the admin.
        case db2AdminOffline
        /// Fresh, db2 with failing mysql.
        case freshDB2MysqlDown
    }

    enum Command: Sendable {
        case setOnline(String, agent: Bool = true)
        case setOffline(String, agent: Bool = true)
        case moveRole(String, String, force: Bool = false, agent: Bool = true)
        case setIP(String, String)
        case setActive, setManual, setPassive, mode
    }

    var setup: Setup
    var command: Command
    var reply: String

    var testDescription: String { "\(self.command) -> \(self.reply)" }

    func machine() -> ClusterStateMachine {
        switch self.setup {
        case .running:
            return .running()
        case .runningManual:
            var machine = ClusterStateMachine.running()
            _ = machine.setManualRequested(at: .seconds(5))
            return machine
        case .runningPassive:
            var machine = ClusterStateMachine.running()
            _ = machine.setPassiveRequested(at: .seconds(5))
            return machine
        case .fresh:
            return .fresh()
        case .runningThen(let host, let status):
            var machine = ClusterStateMachine.running()
            _ = machine.report(host, status, at: .seconds(100))
            return machine
        case .runningPreferDB1:
            return .running(topology: ClusterFixtures.topology(writerPrefer: "db1"))
        case .db2AdminOffline:
            var machine = ClusterStateMachine.running()
            _ = machine.setOfflineRequested(host: "db2", agentReachable: true, at: .seconds(5))
            return machine
        case .freshDB2MysqlDown:
            var machine = ClusterStateMachine.fresh()
            _ = machine.report("db2", .mysqlDown, at: .seconds(1))
            return machine
        }
    }

    func run(on machine: inout ClusterStateMachine) -> ControlReply {
        let now = MonitorInstant.seconds(200)
        switch self.command {
        case .setOnline(let host, let agent):
            return machine.setOnlineRequested(host: host, agentReachable: agent, at: now)
        case .setOffline(let host, let agent):
            return machine.setOfflineRequested(host: host, agentReachable: agent, at: now)
        case .moveRole(let role, let host, let force, let agent):
            return machine.moveRoleRequested(role: role, host: host, force: force, agentReachable: agent, at: now)
        case .setIP(let ip, let host):
            return machine.setIPRequested(ip: ip, host: host, at: now)
        case .setActive:
            return machine.setActiveRequested(at: now)
        case .setManual:
            return machine.setManualRequested(at: now)
        case .setPassive:
            return machine.setPassiveRequested(at: now)
        case .mode:
            return machine.modeReply
        }
    }
}

let mmmReplyTable: [CommandCase] = [
    // set_online
    CommandCase(setup: .running, command: .setOnline("db9"), reply: "ERROR: Unknown host name 'db9'!"),
    CommandCase(setup: .running, command: .setOnline("db1"), reply: "OK: This host is already ONLINE. Skipping command."),
    CommandCase(setup: .runningThen(host: "db3", .unreachable), command: .setOnline("db3"),
                reply: "ERROR: Host 'db3' is 'HARD_OFFLINE' at the moment. It can't be switched to ONLINE."),
    CommandCase(setup: .freshDB2MysqlDown, command: .setOnline("db2"),
                reply: "ERROR: Host 'db2' is 'HARD_OFFLINE' at the moment. It can't be switched to ONLINE."),
    CommandCase(setup: .fresh, command: .setOnline("db1", agent: false),
                reply: "ERROR: Can't reach agent daemon on 'db1'! Can't switch its state!"),
    CommandCase(setup: .fresh, command: .setOnline("db1"),
                reply: "OK: State of 'db1' changed to ONLINE. Now you can wait some time and check its new roles!"),
    CommandCase(setup: .db2AdminOffline, command: .setOnline("db2"),
                reply: "OK: State of 'db2' changed to ONLINE. Now you can wait some time and check its new roles!"),
    // set_offline
    CommandCase(setup: .running, command: .setOffline("db9"), reply: "ERROR: Unknown host name 'db9'!"),
    CommandCase(setup: .db2AdminOffline, command: .setOffline("db2"), reply: "OK: This host is already ADMIN_OFFLINE. Skipping command."),
    CommandCase(setup: .fresh, command: .setOffline("db1"),
                reply: "ERROR: Host 'db1' is 'AWAITING_RECOVERY' at the moment. It can't be switched to ADMIN_OFFLINE."),
    CommandCase(setup: .running, command: .setOffline("db3", agent: false),
                reply: "ERROR: Can't reach agent daemon on 'db3'! Can't switch its state!"),
    CommandCase(setup: .running, command: .setOffline("db3"),
                reply: "OK: State of 'db3' changed to ADMIN_OFFLINE. Now you can wait some time and check all roles!"),
    CommandCase(setup: .runningThen(host: "db3", .replicationBroken), command: .setOffline("db3"),
                reply: "OK: State of 'db3' changed to ADMIN_OFFLINE. Now you can wait some time and check all roles!"),
    // move_role
    CommandCase(setup: .runningPassive, command: .moveRole("writer", "db2"), reply: "ERROR: This command is not allowed in passive mode"),
    CommandCase(setup: .running, command: .moveRole("boss", "db2"), reply: "ERROR: Unknown role name 'boss'!"),
    CommandCase(setup: .running, command: .moveRole("writer", "db9"), reply: "ERROR: Unknown host name 'db9'!"),
    CommandCase(setup: .running, command: .moveRole("reader", "db2"),
                reply: "OK: Balanced role reader has been removed from host 'db2'. Now you can wait some time and check new roles info!"),
    CommandCase(setup: .db2AdminOffline, command: .moveRole("writer", "db2"), reply: "ERROR: Can't move role to host with state ADMIN_OFFLINE."),
    CommandCase(setup: .running, command: .moveRole("writer", "db3"),
                reply: "ERROR: Host 'db3' can't handle role 'writer'. Only following hosts could: db1, db2"),
    CommandCase(setup: .running, command: .moveRole("writer", "db1"), reply: "OK: Role is on 'db1' already. Skipping command."),
    CommandCase(setup: .running, command: .moveRole("writer", "db2", agent: false),
                reply: "ERROR: Can't reach agent daemon on 'db2'! Can't move roles there!"),
    CommandCase(setup: .runningPreferDB1, command: .moveRole("writer", "db2"),
                reply: "ERROR: Role 'writer' is assigned to preferred host 'db1'. Can't move it!"),
    CommandCase(setup: .running, command: .moveRole("writer", "db2"),
                reply: "OK: Role 'writer' has been moved from 'db1' to 'db2'. Now you can wait some time and check new roles info!"),
    CommandCase(setup: .runningManual, command: .moveRole("writer", "db2"),
                reply: "OK: Role 'writer' has been moved from 'db1' to 'db2'. Now you can wait some time and check new roles info!"),
    // move_role --force
    CommandCase(setup: .running, command: .moveRole("reader", "db2", force: true),
                reply: "ERROR: move_role --forced may be used for the active master role only!"),
    CommandCase(setup: .running, command: .moveRole("writer", "db2", force: true),
                reply: "ERROR: Can't force move of role to host with state ONLINE."),
    CommandCase(setup: .runningThen(host: "db2", .replicationLagging), command: .moveRole("writer", "db2", force: true),
                reply: "OK: Role 'writer' has been moved from 'db1' to 'db2' enforcedly. Now you can wait some time and check new roles info!"),
    // set_ip
    CommandCase(setup: .running, command: .setIP("192.168.0.50", "db2"), reply: "ERROR: This command is only allowed in passive mode"),
    CommandCase(setup: .runningPassive, command: .setIP("10.1.1.1", "db2"), reply: "ERROR: Unknown ip '10.1.1.1'!"),
    CommandCase(setup: .runningPassive, command: .setIP("192.168.0.50", "db3"),
                reply: "ERROR: Host 'db3' can't handle role 'writer'. Following hosts could: db1, db2"),
    CommandCase(setup: .runningPassive, command: .setIP("192.168.0.51", "db9"), reply: "ERROR: Unknown host name 'db9'!"),
    CommandCase(setup: .runningPassive, command: .setIP("192.168.0.51", "db2"), reply: "OK: Set role 'reader(192.168.0.51)' to host 'db2'."),
    // modes
    CommandCase(setup: .running, command: .mode, reply: "ACTIVE"),
    CommandCase(setup: .runningManual, command: .mode, reply: "MANUAL"),
    CommandCase(setup: .runningPassive, command: .mode, reply: "PASSIVE"),
    CommandCase(setup: .running, command: .setActive, reply: "OK: Already in active mode."),
    CommandCase(setup: .runningManual, command: .setActive, reply: "OK: Switched into active mode."),
    CommandCase(setup: .runningPassive, command: .setActive, reply: "OK: Switched into active mode."),
    CommandCase(setup: .runningManual, command: .setManual, reply: "OK: Already in manual mode."),
    CommandCase(setup: .running, command: .setManual, reply: "OK: Switched into manual mode."),
    CommandCase(setup: .runningPassive, command: .setPassive, reply: "OK: Already in passive mode."),
    CommandCase(setup: .running, command: .setPassive, reply: "OK: Switched into passive mode."),
]

@Suite struct ControlCommandTests {
    @Test(arguments: mmmReplyTable)
    func replyText(_ row: CommandCase) {
        var machine = row.machine()
        let before = machine.assignment
        let reply = row.run(on: &machine)
        #expect(reply.text == row.reply)
        if reply.isError {
            // A refusal changes nothing.
            #expect(reply.actions.isEmpty)
            #expect(machine.assignment == before)
        }
    }

    @Test func setOnlineRefusesWhileChecksFail() {
        var machine = ClusterStateMachine.running()
        _ = machine.setOfflineRequested(host: "db3", agentReachable: true, at: .seconds(10))
        _ = machine.report("db3", .unreachable, at: .seconds(20))
        #expect(machine.state(of: "db3") == .adminOffline)
        let reply = machine.setOnlineRequested(host: "db3", agentReachable: true, at: .seconds(30))
        #expect(reply.text == "ERROR: Checks ping and/or mysql are not ok for host 'db3'. It can't be switched to ONLINE.")
    }

    @Test func setOnlineRefusesWhilePeerReplicationFails() {
        var machine = ClusterStateMachine.running()
        _ = machine.setOfflineRequested(host: "db2", agentReachable: true, at: .seconds(10))
        // The writer db1 (db2's peer) reports broken replication; as writer it stays ONLINE.
        _ = machine.report("db1", .replicationBroken, at: .seconds(20))
        let reply = machine.setOnlineRequested(host: "db2", agentReachable: true, at: .seconds(30))
        #expect(reply.text == "ERROR: Some replication checks failed on peer 'db1'. We can't set 'db2' online now. Please, wait some time.")
    }

    @Test func setOnlineRefusesAnErrantHost() {
        var machine = ClusterStateMachine.running()
        _ = machine.setOfflineRequested(host: "db2", agentReachable: true, at: .seconds(10))
        _ = machine.gtidCompared(host: "db2", errant: ["0-2-44"], at: .seconds(11))
        let reply = machine.setOnlineRequested(host: "db2", agentReachable: true, at: .seconds(12))
        #expect(reply.text == "ERROR: Host 'db2' has errant transactions (0-2-44). It can't be switched to ONLINE.")
        #expect(reply.isError)
    }

    @Test func moveRoleRefusesTheWriterOnAHostWithFailingReplicationChecks() {
        var machine = ClusterStateMachine.running()
        // db2's replication lag is still inside the peer grace, so it stays ONLINE but its check fails.
        _ = machine.report("db2", .replicationLagging, at: .seconds(4))
        #expect(machine.state(of: "db2") == .online)
        let reply = machine.moveRoleRequested(role: "writer", host: "db2", force: false, agentReachable: true, at: .seconds(5))
        #expect(reply.text == "ERROR: Replication checks failed on host 'db2'. Can't move the active master role there.")
    }

    @Test func moveRoleOfTheWriterDemotesFirstThenDrains() {
        var machine = ClusterStateMachine.running()
        let reply = machine.moveRoleRequested(role: "writer", host: "db2", force: false, agentReachable: true, at: .seconds(10))
        #expect(reply.actions.prefix(2) == [
            .removeRoles(host: "db1", roles: [ClusterFixtures.writer]),
            .drainThenPromote(host: "db2", previousWriter: "db1"),
        ])
        #expect(machine.writer == nil)
        #expect(machine.promotionDrained(host: "db2", at: .seconds(11)).first == .promote(host: "db2", role: ClusterFixtures.writer))
        #expect(machine.writer == "db2")
    }

    @Test func forcedMoveSetsTargetOnlineAndDemotesABrokenOldWriter() {
        var machine = ClusterStateMachine.running()
        _ = machine.report("db2", .replicationBroken, at: .seconds(100))
        #expect(machine.state(of: "db2") == .replicationFail)
        _ = machine.report("db1", .replicationBroken, at: .seconds(101))  // the writer's own: ignored
        #expect(machine.state(of: "db1") == .online)
        let reply = machine.moveRoleRequested(role: "writer", host: "db2", force: true, agentReachable: true, at: .seconds(102))
        #expect(reply.actions.contains(.hostStateChanged(host: "db2", HostTransition(from: .replicationFail, to: .online, rule: .forcedOnline))))
        #expect(reply.actions.contains(.hostStateChanged(host: "db1", HostTransition(from: .online, to: .replicationFail, rule: .forcedDemotion))))
        #expect(machine.state(of: "db1") == .replicationFail)
        #expect(machine.roles(of: "db1").isEmpty)
        #expect(machine.pendingPromotion?.forced == true)
        _ = machine.promotionDrained(host: "db2", at: .seconds(103))
        #expect(machine.writer == "db2")
        #expect(machine.state(of: "db2") == .online)
    }

    @Test func forcedPromotionIsCalledOffWhenTheTargetTurnsOutErrant() {
        // --force overrides failing replication checks, not errant transactions (refused up front):
        // errant GTIDs found while the forced target drains must stop the promotion too.
        var machine = ClusterStateMachine.running()
        _ = machine.report("db2", .replicationBroken, at: .seconds(100))
        #expect(machine.state(of: "db2") == .replicationFail)
        _ = machine.moveRoleRequested(role: "writer", host: "db2", force: true, agentReachable: true, at: .seconds(102))
        #expect(machine.pendingPromotion?.host == "db2")
        let actions = machine.gtidCompared(host: "db2", errant: ["0-2-17"], at: .seconds(103))
        #expect(actions.contains(.cancelDrain(host: "db2")))
        #expect(machine.pendingPromotion?.host != "db2")
        let late = machine.promotionDrained(host: "db2", at: .seconds(104))
        #expect(!late.contains { if case .promote(host: "db2", role: _) = $0 { return true } else { return false } })
        #expect(machine.writer != "db2")
    }

    @Test func exclusiveNonWriterRoleMovesAtOnce() throws {
        let topology = try ClusterTopology(
            hosts: ClusterFixtures.topology().hosts,
            roles: ClusterFixtures.topology().roles + [
                RoleSpec(name: "backup", mode: .exclusive, hosts: ["db2", "db3"], ips: ["192.168.0.60"])
            ],
            activeMasterRole: "writer"
        )
        var machine = ClusterStateMachine.running(topology: topology)
        let backup = RoleIP(role: "backup", ip: "192.168.0.60")
        let from = try #require(machine.assignment.holder(of: backup))
        let to = from == "db2" ? "db3" : "db2"
        let reply = machine.moveRoleRequested(role: "backup", host: to, force: false, agentReachable: true, at: .seconds(10))
        #expect(reply.text == "OK: Role 'backup' has been moved from '\(from)' to '\(to)'. Now you can wait some time and check new roles info!")
        #expect(reply.actions.prefix(2) == [.removeRoles(host: from, roles: [backup]), .addRoles(host: to, roles: [backup])])
        #expect(machine.assignment.holder(of: backup) == to)
    }
}
