import MMMControl
import MMMCore
import MMMMonitor
import Testing

@Suite struct ControlCommandTests {
    /// Every verb with its accepted argument counts.
    static let good: [(String, [String], ControlCommand)] = [
        ("help", [], .help),
        ("ping", [], .ping),
        ("show", [], .show),
        ("checks", [], .checks(host: nil, check: nil)),
        ("checks", ["all"], .checks(host: nil, check: nil)),
        ("checks", ["db1"], .checks(host: "db1", check: nil)),
        ("checks", ["all", "all"], .checks(host: nil, check: nil)),
        ("checks", ["db2", "rep_backlog"], .checks(host: "db2", check: .repBacklog)),
        ("checks", ["all", "ping"], .checks(host: nil, check: .ping)),
        ("checks", ["db1", "all"], .checks(host: "db1", check: nil)),
        ("mode", [], .mode),
        ("set_active", [], .setActive),
        ("set_manual", [], .setManual),
        ("set_passive", [], .setPassive),
        ("set_online", ["db1"], .setOnline(host: "db1")),
        ("set_offline", ["db2"], .setOffline(host: "db2")),
        ("move_role", ["writer", "db2"], .moveRole(role: "writer", host: "db2", force: false)),
        ("move_role", ["--force", "writer", "db2"], .moveRole(role: "writer", host: "db2", force: true)),
        ("set_ip", ["192.168.1.210", "db2"], .setIP(ip: "192.168.1.210", host: "db2")),
        // MMM splits on runs of whitespace: empty words do not count.
        ("set_online", ["", "db1", ""], .setOnline(host: "db1")),
    ]

    @Test(arguments: 0..<Self.good.count)
    func parsesGoodRequest(_ index: Int) {
        let (verb, arguments, expected) = Self.good[index]
        #expect(ControlCommand.parse(verb: verb, arguments: arguments) == .command(expected))
    }

    /// Wrong argument counts and unknown verbs: MMM's `Invalid command '<line>'`, a blank line, the help.
    static let bad: [(String, [String], String)] = [
        ("help", ["me"], "help me"),
        ("ping", ["db1"], "ping db1"),
        ("show", ["all"], "show all"),
        ("checks", ["db1", "ping", "extra"], "checks db1 ping extra"),
        ("mode", ["active"], "mode active"),
        ("set_active", ["now"], "set_active now"),
        ("set_manual", ["x"], "set_manual x"),
        ("set_passive", ["x"], "set_passive x"),
        ("set_online", [], "set_online"),
        ("set_online", ["db1", "db2"], "set_online db1 db2"),
        ("set_offline", [], "set_offline"),
        ("move_role", ["writer"], "move_role writer"),
        ("move_role", ["--forc", "writer", "db2"], "move_role --forc writer db2"),
        ("move_role", ["--force", "writer", "db2", "x"], "move_role --force writer db2 x"),
        ("set_ip", ["192.168.1.210"], "set_ip 192.168.1.210"),
        ("status", [], "status"),
        ("check-config", [], "check-config"),
        ("SHOW", [], "SHOW"),
    ]

    @Test(arguments: 0..<Self.bad.count)
    func refusesBadRequest(_ index: Int) {
        let (verb, arguments, line) = Self.bad[index]
        let expected = ControlOutcome(error: "Invalid command '\(line)'\n\n" + ControlHelp.text)
        #expect(ControlCommand.parse(verb: verb, arguments: arguments) == .refused(expected))
        #expect(expected.isError)
    }

    @Test func unknownCheckIsRefusedBeforeTheHost() {
        #expect(
            ControlCommand.parse(verb: "checks", arguments: ["nosuchhost", "replication"])
                == .refused(ControlOutcome(error: "ERROR: Unknown check 'replication'!"))
        )
    }

    @Test func moveRoleWithForceAndTwoWordsTakesForceAsTheRoleName() {
        // As in MMM: `move_role --force db2` is the two-argument form, and the core then says the role is unknown.
        #expect(
            ControlCommand.parse(verb: "move_role", arguments: ["--force", "db2"])
                == .command(.moveRole(role: "--force", host: "db2", force: false))
        )
    }

    // MARK: - Names against the topology

    static let topology = ControlFixtures.topology()

    @Test func knownNamesAreNotRefused() {
        let commands: [ControlCommand] = [
            .help, .ping, .show, .mode, .setActive, .setManual, .setPassive,
            .checks(host: nil, check: nil), .checks(host: "db1", check: .ping),
            .setOnline(host: "db1"), .setOffline(host: "db2"),
            .moveRole(role: "reader", host: "db1", force: false), .moveRole(role: "writer", host: "db2", force: true),
        ]
        for command in commands {
            #expect(command.refusal(topology: Self.topology, mode: .active) == nil, "\(command)")
        }
        #expect(ControlCommand.setIP(ip: "192.168.1.220", host: "db1").refusal(topology: Self.topology, mode: .passive) == nil)
    }

    /// Unknown names in MMM's order, with the mode's refusal first for `move_role` and `set_ip`.
    static let refusals: [(ControlCommand, MonitorMode, String)] = [
        (.checks(host: "db3", check: nil), .active, "ERROR: Unknown host name 'db3'!"),
        (.checks(host: "db3", check: .mysql), .active, "ERROR: Unknown host name 'db3'!"),
        (.setOnline(host: "db3"), .active, "ERROR: Unknown host name 'db3'!"),
        (.setOffline(host: "DB1"), .manual, "ERROR: Unknown host name 'DB1'!"),
        (.moveRole(role: "writer", host: "db3", force: false), .active, "ERROR: Unknown host name 'db3'!"),
        (.moveRole(role: "backup", host: "db3", force: false), .active, "ERROR: Unknown role name 'backup'!"),
        (.moveRole(role: "backup", host: "db3", force: true), .passive, "ERROR: This command is not allowed in passive mode"),
        (.setIP(ip: "192.168.1.220", host: "db3"), .passive, "ERROR: Unknown host name 'db3'!"),
        (.setIP(ip: "192.168.1.99", host: "db3"), .passive, "ERROR: Unknown ip '192.168.1.99'!"),
        (.setIP(ip: "192.168.1.99", host: "db3"), .active, "ERROR: This command is only allowed in passive mode"),
        (.setIP(ip: "192.168.1.220", host: "db1"), .wait, "ERROR: This command is only allowed in passive mode"),
    ]

    @Test(arguments: 0..<Self.refusals.count)
    func refusesUnknownNames(_ index: Int) {
        let (command, mode, text) = Self.refusals[index]
        #expect(command.refusal(topology: Self.topology, mode: mode) == ControlOutcome(error: text))
    }

    @Test func swiftMMMVerbsParseWithTheirArgumentCounts() {
        #expect(ControlCommand.parse(verb: "failover_report", arguments: []) == .command(.failoverReport))
        #expect(ControlCommand.parse(verb: "errant", arguments: ["db2"]) == .command(.errant(host: "db2")))
        guard case .refused(let refusal) = ControlCommand.parse(verb: "errant", arguments: []) else {
            Issue.record("errant without a host must be refused")
            return
        }
        #expect(refusal.text.hasPrefix("Invalid command 'errant'"))
        #expect(ControlCommand.errant(host: "db9").refusal(topology: ControlFixtures.topology(), mode: .active)?.text == "ERROR: Unknown host name 'db9'!")
    }

    // MARK: - Help

    @Test func helpIsMMMsBlockPlusSwiftMMMsVerbs() {
        let lines = ControlHelp.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Valid commands are:")
        #expect(lines[1] == "    help                              - show this message")
        #expect(lines[4] == "    checks [<host>|all [<check>|all]] - show checks status")
        #expect(lines[11] == "    move_role [--force] <role> <host> - move exclusive role <role> to host <host>")
        #expect(lines[12] == "                                        (Only use --force if you know what you are doing!)")
        #expect(lines[13] == "    set_ip <ip> <host>                - set role with ip <ip> to host <host>")
        #expect(lines[14].hasPrefix("    failover_report                   - "))
        #expect(lines[15].hasPrefix("    errant <host>                     - "))
        #expect(lines[16].hasPrefix("    check-config                      - "))
        #expect(lines[17].hasPrefix("    probe [<host> ...]                - "))
        #expect(lines.count == 19 && lines[18].isEmpty)
        // Every description starts in the same column, as in MMM.
        for line in lines[1...17] where !line.hasPrefix("        ") {
            #expect(line.dropFirst(38).hasPrefix("- "), "\(line)")
        }
    }
}
