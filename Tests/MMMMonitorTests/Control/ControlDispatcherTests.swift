import MMMControl
import MMMCore
import MMMMonitor
import Testing

@Suite struct ControlDispatcherTests {
    /// `show` lines with trailing blanks removed (the seed's pasted output lost the blank after `Roles:`).
    static func trimmedLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            var line = Substring(line)
            while line.last == " " { line = line.dropLast() }
            return String(line)
        }
    }

    // MARK: - Queries

    @Test func pingHelpAndMode() {
        var machine = ControlFixtures.running()
        #expect(ControlFixtures.handle("ping", &machine) == ControlOutcome(ok: "OK: Pinged successfully!"))
        #expect(ControlFixtures.handle("help", &machine) == ControlOutcome(ok: ControlHelp.text))
        #expect(ControlFixtures.handle("mode", &machine) == ControlOutcome(ok: "ACTIVE"))
    }

    @Test func invalidCommandGetsMMMsTextAndChangesNothing() {
        var machine = ControlFixtures.running()
        let before = machine.snapshot
        let outcome = ControlFixtures.handle("set_offline db1 now", &machine)
        #expect(outcome == ControlOutcome(error: "Invalid command 'set_offline db1 now'\n\n" + ControlHelp.text))
        #expect(machine.snapshot == before)
    }

    @Test func showOfAFreshMonitorHasTheSeedsLayout() {
        var machine = ControlFixtures.fresh()
        let outcome = ControlFixtures.handle("show", &machine)
        #expect(!outcome.isError && outcome.actions.isEmpty)
        #expect(
            Self.trimmedLines(outcome.text) == [
                "  db1(192.168.1.101) master/AWAITING_RECOVERY. Roles:",
                "  db2(192.168.1.102) master/AWAITING_RECOVERY. Roles:",
            ]
        )
    }

    @Test func showOfTheRunningClusterMatchesTheSeed() {
        var machine = ControlFixtures.running()
        let outcome = ControlFixtures.handle("show", &machine)
        #expect(
            outcome
                == ControlOutcome(
                    ok: """
                          db1(192.168.1.101) master/ONLINE. Roles: writer(192.168.1.210)
                          db2(192.168.1.102) master/ONLINE. Roles: reader(192.168.1.220)

                        """
                )
        )
    }

    // MARK: - Modes

    @Test func modeSwitchesAnswerAsMMM() {
        var machine = ControlFixtures.running()
        #expect(ControlFixtures.handle("set_active", &machine) == ControlOutcome(ok: "OK: Already in active mode."))
        let manual = ControlFixtures.handle("set_manual", &machine)
        #expect(manual.text == "OK: Switched into manual mode." && !manual.isError)
        #expect(manual.actions.first == .modeChanged(from: .active, to: .manual))
        #expect(ControlFixtures.handle("mode", &machine).text == "MANUAL")
        #expect(ControlFixtures.handle("set_manual", &machine) == ControlOutcome(ok: "OK: Already in manual mode."))
        let passive = ControlFixtures.handle("set_passive", &machine)
        #expect(passive.text == "OK: Switched into passive mode.")
        #expect(passive.actions.first == .modeChanged(from: .manual, to: .passive))
        #expect(ControlFixtures.handle("set_passive", &machine) == ControlOutcome(ok: "OK: Already in passive mode."))
        #expect(
            ControlFixtures.handle("show", &machine).text.hasPrefix(
                "# --- Monitor is in PASSIVE MODE ---\n# Cause: Admin switched to passive mode.\n"
            )
        )
        let active = ControlFixtures.handle("set_active", &machine)
        #expect(active.text == "OK: Switched into active mode.")
        // Leaving PASSIVE pushes every agent its status (MMM's cleanup_and_send_status).
        #expect(active.actions.first == .modeChanged(from: .passive, to: .active))
        #expect(active.actions.contains { action in
            if case .sendStatusToAll(let hosts) = action { return Set(hosts) == ["db1", "db2"] }
            return false
        })
        #expect(ControlFixtures.handle("mode", &machine).text == "ACTIVE")
    }

    // MARK: - set_online / set_offline

    @Test func setOnlineFromAwaitingRecovery() {
        var machine = ControlFixtures.fresh()
        let outcome = ControlFixtures.handle("set_online db2", &machine)
        #expect(outcome.text == "OK: State of 'db2' changed to ONLINE. Now you can wait some time and check its new roles!")
        #expect(!outcome.isError)
        #expect(outcome.actions.contains { action in
            if case .hostStateChanged(host: "db2", _) = action { return true }
            return false
        })
        #expect(machine.state(of: "db2") == .online)
    }

    @Test func setOnlineRefusals() {
        var machine = ControlFixtures.fresh()
        #expect(
            ControlFixtures.handle("set_online db1", &machine, reachable: ["db2"])
                == ControlOutcome(error: "ERROR: Can't reach agent daemon on 'db1'! Can't switch its state!")
        )
        #expect(machine.state(of: "db1") == .awaitingRecovery)
        #expect(ControlFixtures.handle("set_online db3", &machine) == ControlOutcome(error: "ERROR: Unknown host name 'db3'!"))
        _ = ControlFixtures.handle("set_online db1", &machine)
        #expect(
            ControlFixtures.handle("set_online db1", &machine) == ControlOutcome(ok: "OK: This host is already ONLINE. Skipping command.")
        )
        // ping and mysql failing: the host goes HARD_OFFLINE and set_online is refused.
        _ = machine.probeCompleted(host: "db2", check: .mysql, outcome: .failed(message: "ERROR: down"), at: .seconds(20))
        let state = machine.state(of: "db2")
        #expect(state == .hardOffline)
        #expect(
            ControlFixtures.handle("set_online db2", &machine, at: .seconds(21))
                == ControlOutcome(error: "ERROR: Host 'db2' is 'HARD_OFFLINE' at the moment. It can't be switched to ONLINE.")
        )
    }

    @Test func setOfflineAndBack() {
        var machine = ControlFixtures.running()
        #expect(
            ControlFixtures.handle("set_offline db2", &machine, reachable: ["db1"])
                == ControlOutcome(error: "ERROR: Can't reach agent daemon on 'db2'! Can't switch its state!")
        )
        #expect(machine.state(of: "db2") == .online)
        let outcome = ControlFixtures.handle("set_offline db2", &machine)
        #expect(outcome.text == "OK: State of 'db2' changed to ADMIN_OFFLINE. Now you can wait some time and check all roles!")
        #expect(!outcome.isError)
        #expect(outcome.actions.contains(.removeRoles(host: "db2", roles: [ControlFixtures.reader])))
        #expect(machine.state(of: "db2") == .adminOffline)
        #expect(machine.assignment.roles(of: "db1").contains(ControlFixtures.reader))
        #expect(
            ControlFixtures.handle("set_offline db2", &machine)
                == ControlOutcome(ok: "OK: This host is already ADMIN_OFFLINE. Skipping command.")
        )
        #expect(ControlFixtures.handle("set_offline db9", &machine) == ControlOutcome(error: "ERROR: Unknown host name 'db9'!"))
        let back = ControlFixtures.handle("set_online db2", &machine, at: .seconds(11))
        #expect(back.text == "OK: State of 'db2' changed to ONLINE. Now you can wait some time and check its new roles!")
    }

    @Test func setOfflineRefusedFromAwaitingRecovery() {
        var machine = ControlFixtures.fresh()
        #expect(
            ControlFixtures.handle("set_offline db1", &machine)
                == ControlOutcome(error: "ERROR: Host 'db1' is 'AWAITING_RECOVERY' at the moment. It can't be switched to ADMIN_OFFLINE.")
        )
    }

    // MARK: - move_role

    @Test func moveBalancedRoleRemovesItFromTheHost() {
        var machine = ControlFixtures.running()
        let outcome = ControlFixtures.handle("move_role reader db2", &machine)
        #expect(
            outcome.text
                == "OK: Balanced role reader has been removed from host 'db2'. Now you can wait some time and check new roles info!"
        )
        #expect(outcome.actions.first == .removeRoles(host: "db2", roles: [ControlFixtures.reader]))
    }

    @Test func moveWriterDrainsTheTargetFirst() {
        var machine = ControlFixtures.running()
        #expect(machine.writer == "db1")
        #expect(ControlFixtures.handle("move_role writer db1", &machine) == ControlOutcome(ok: "OK: Role is on 'db1' already. Skipping command."))
        #expect(
            ControlFixtures.handle("move_role writer db2", &machine, reachable: ["db1"])
                == ControlOutcome(error: "ERROR: Can't reach agent daemon on 'db2'! Can't move roles there!")
        )
        #expect(machine.writer == "db1")
        let outcome = ControlFixtures.handle("move_role writer db2", &machine)
        #expect(
            outcome.text == "OK: Role 'writer' has been moved from 'db1' to 'db2'. Now you can wait some time and check new roles info!"
        )
        #expect(outcome.actions.contains(.removeRoles(host: "db1", roles: [ControlFixtures.writer])))
        #expect(outcome.actions.contains(.drainThenPromote(host: "db2", previousWriter: "db1")))
        #expect(machine.pendingPromotion?.host == "db2")
    }

    @Test func moveRoleRefusals() {
        var machine = ControlFixtures.running()
        #expect(ControlFixtures.handle("move_role backup db2", &machine) == ControlOutcome(error: "ERROR: Unknown role name 'backup'!"))
        #expect(ControlFixtures.handle("move_role writer db3", &machine) == ControlOutcome(error: "ERROR: Unknown host name 'db3'!"))
        #expect(
            ControlFixtures.handle("move_role --force reader db2", &machine)
                == ControlOutcome(error: "ERROR: move_role --forced may be used for the active master role only!")
        )
        #expect(
            ControlFixtures.handle("move_role --force writer db2", &machine)
                == ControlOutcome(error: "ERROR: Can't force move of role to host with state ONLINE.")
        )
        _ = ControlFixtures.handle("set_offline db2", &machine)
        #expect(
            ControlFixtures.handle("move_role writer db2", &machine)
                == ControlOutcome(error: "ERROR: Can't move role to host with state ADMIN_OFFLINE.")
        )
        _ = ControlFixtures.handle("set_passive", &machine)
        #expect(
            ControlFixtures.handle("move_role backup db3", &machine)
                == ControlOutcome(error: "ERROR: This command is not allowed in passive mode")
        )
    }

    @Test func moveWriterAwayFromItsPreferredHostIsRefusedInActiveMode() {
        var machine = ControlFixtures.running(writerPrefer: "db1")
        #expect(machine.writer == "db1")
        #expect(
            ControlFixtures.handle("move_role writer db2", &machine)
                == ControlOutcome(error: "ERROR: Role 'writer' is assigned to preferred host 'db1'. Can't move it!")
        )
    }

    // MARK: - set_ip

    @Test func setIPOnlyInPassiveMode() {
        var machine = ControlFixtures.running()
        #expect(
            ControlFixtures.handle("set_ip 192.168.1.220 db1", &machine)
                == ControlOutcome(error: "ERROR: This command is only allowed in passive mode")
        )
        _ = ControlFixtures.handle("set_passive", &machine)
        #expect(ControlFixtures.handle("set_ip 192.168.1.99 db1", &machine) == ControlOutcome(error: "ERROR: Unknown ip '192.168.1.99'!"))
        #expect(ControlFixtures.handle("set_ip 192.168.1.220 db7", &machine) == ControlOutcome(error: "ERROR: Unknown host name 'db7'!"))
        let outcome = ControlFixtures.handle("set_ip 192.168.1.220 db1", &machine)
        #expect(outcome == ControlOutcome(ok: "OK: Set role 'reader(192.168.1.220)' to host 'db1'."))
        #expect(machine.assignment.holder(of: ControlFixtures.reader) == "db1")
    }

    // MARK: - Refusals change nothing

    /// Bad input of every kind on the running cluster: each is an error, carries no action, changes no state.
    static let refusedLines = [
        "set_online db3", "set_offline db3", "move_role backup db1", "move_role writer db3", "move_role --force reader db2",
        "move_role --force writer db2", "move_role writer db1 db2 db3", "set_ip 192.168.1.210 db2", "checks db3",
        "checks all replication", "set_online", "status", "--json show",
    ]

    @Test(arguments: Self.refusedLines)
    func refusalChangesNothing(_ line: String) {
        var machine = ControlFixtures.running()
        let before = machine.snapshot
        let outcome = ControlFixtures.handle(line, &machine)
        #expect(outcome.isError)
        #expect(outcome.actions.isEmpty)
        #expect(machine.snapshot == before)
        #expect(machine.pendingPromotion == nil)
    }

    // MARK: - apply without handle

    @Test func applyDelegatesNameChecksToTheCore() {
        var machine = ControlFixtures.running()
        let outcome = ControlDispatcher.apply(
            .setOnline(host: "db3"),
            to: &machine,
            reachableAgents: ControlFixtures.bothAgents,
            now: .seconds(10),
            time: ControlFixtures.time
        )
        #expect(outcome == ControlOutcome(error: "ERROR: Unknown host name 'db3'!"))
    }
}
