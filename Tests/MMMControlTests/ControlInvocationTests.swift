import MMMConfig
import MMMControl
import MMMCore
import MMMProtocol
import Testing

@Suite struct ControlInvocationTests {
    /// The invocation `arguments` parse to, or a recorded issue.
    static func invocation(_ arguments: [String]) -> ControlInvocation? {
        guard case .monitor(let invocation) = ControlInvocation.parse(arguments) else {
            Issue.record("\(arguments) did not parse to a monitor command: \(ControlInvocation.parse(arguments))")
            return nil
        }
        return invocation
    }

    @Test func mmmsSyntaxWithAClusterAndDefaults() throws {
        let show = try #require(Self.invocation(["@cluster1", "show"]))
        #expect(show.cluster == "cluster1")
        #expect(show.configDirectory == ConfigDirectory.defaultPath)
        #expect(show.configDirectory == "/etc/mysql-mmm")
        #expect(!show.json)
        #expect(show.command == .show)
        #expect(show.request == ControlRequest(verb: "show"))
        #expect(show.replyTimeout == .seconds(10))

        let plain = try #require(Self.invocation(["checks", "db1", "rep_backlog"]))
        #expect(plain.cluster == nil)
        #expect(plain.command == .checks(host: "db1", check: .repBacklog))
        #expect(plain.request == ControlRequest(verb: "checks", arguments: ["db1", "rep_backlog"]))
    }

    @Test func optionsMayComeBeforeOrAfterTheCommand() throws {
        let before = try #require(
            Self.invocation(["--config-dir", "/tmp/mmm", "--cluster", "c2", "--json", "--timeout", "2.5", "show"])
        )
        let after = try #require(Self.invocation(["show", "--json", "--timeout=2.5", "--config-dir=/tmp/mmm", "--cluster=c2"]))
        let mixed = try #require(Self.invocation(["@c2", "--json", "show", "--config-dir", "/tmp/mmm", "--timeout", "2.5"]))
        #expect(before.configDirectory == "/tmp/mmm")
        #expect(before.cluster == "c2")
        #expect(before.json)
        #expect(before.timeout == .milliseconds(2500))
        #expect(before.replyTimeout == .milliseconds(2500))
        #expect(before.request == ControlRequest(verb: "show", arguments: ["--json"]))
        #expect(after == before)
        #expect(mixed == before)
    }

    @Test func moveRoleKeepsForceAsMMMsArgumentAndWaitsLonger() throws {
        let forced = try #require(Self.invocation(["move_role", "--force", "writer", "db2", "--json"]))
        #expect(forced.command == .moveRole(role: "writer", host: "db2", force: true))
        #expect(forced.request == ControlRequest(verb: "move_role", arguments: ["--json", "--force", "writer", "db2"]))
        #expect(forced.replyTimeout == .seconds(60))
        let timed = try #require(Self.invocation(["--timeout", "90", "move_role", "writer", "db1"]))
        #expect(timed.replyTimeout == .seconds(90))
    }

    @Test(
        arguments: [
            (["help"], ControlCommand.help),
            (["ping"], .ping),
            (["mode"], .mode),
            (["set_active"], .setActive),
            (["set_manual"], .setManual),
            (["set_passive"], .setPassive),
            (["set_online", "db1"], .setOnline(host: "db1")),
            (["set_offline", "db2"], .setOffline(host: "db2")),
            (["set_ip", "192.168.1.210", "db2"], .setIP(ip: "192.168.1.210", host: "db2")),
            (["checks"], .checks(host: nil, check: nil)),
            (["checks", "all", "ping"], .checks(host: nil, check: .ping)),
        ]
    )
    func everyMMMVerbIsSentToTheMonitor(arguments: [String], command: ControlCommand) throws {
        let invocation = try #require(Self.invocation(arguments))
        #expect(invocation.command == command)
        #expect(invocation.request == ControlRequest(verb: arguments[0], arguments: Array(arguments.dropFirst())))
    }

    @Test func clientSubcommandsAndHelpGoToTheArgumentParser() {
        #expect(ControlInvocation.parse([]) == .local([]))
        #expect(ControlInvocation.parse(["@c1", "--json"]) == .local([]))
        #expect(ControlInvocation.parse(["--help"]) == .local(["--help"]))
        #expect(ControlInvocation.parse(["-h"]) == .local(["--help"]))
        #expect(ControlInvocation.parse(["@c1", "--help"]) == .local(["--help"]))
        #expect(ControlInvocation.parse(["@c1", "check-config"]) == .local(["@c1", "check-config"]))
        #expect(ControlInvocation.parse(["check_config"]) == .local(["check_config"]))
        #expect(
            ControlInvocation.parse(["--config-dir", "/x", "probe", "db1", "--timeout", "1"])
                == .local(["--config-dir", "/x", "probe", "db1", "--timeout", "1"])
        )
        #expect(ControlInvocation.parse(["show", "--help"]) == .local(["--help"]))
        #expect(ControlInvocation.parse(["help", "probe"]) == .local(["probe", "--help"]))
    }

    @Test func malformedCommandsAreUsageErrorsWithMMMsText() {
        #expect(
            ControlInvocation.parse(["set_online"])
                == .usage("Invalid command 'set_online'\n\n" + ControlHelp.text)
        )
        #expect(
            ControlInvocation.parse(["frobnicate", "db1"])
                == .usage("Invalid command 'frobnicate db1'\n\n" + ControlHelp.text)
        )
        #expect(ControlInvocation.parse(["checks", "db1", "pong"]) == .usage("ERROR: Unknown check 'pong'!"))
        #expect(
            ControlInvocation.parse(["show", "@c2"]) == .usage("Invalid command 'show @c2'\n\n" + ControlHelp.text)
        )
    }

    @Test(
        arguments: [
            (["--timeout"], "mmm_control: --timeout needs a value; see mmm_control --help"),
            (["--timeout", "0", "show"], "mmm_control: --timeout must be a number of seconds above 0 and at most 3600, got '0'"),
            (["show", "--timeout=soon"], "mmm_control: --timeout must be a number of seconds above 0 and at most 3600, got 'soon'"),
            (["--config-dir=", "show"], "mmm_control: --config-dir needs a directory"),
            (["--cluster", "", "show"], "mmm_control: --cluster needs a cluster name"),
            (["@", "show"], "mmm_control: '@' needs a cluster name, e.g. @cluster1"),
            (["--verbose", "show"], "mmm_control: unknown option '--verbose'; see mmm_control --help"),
            (["set_online", "db1\u{1B}[2J"], "mmm_control: argument 1 of set_online has control characters or is longer than 1024 bytes"),
            (["set_ip", "192.168.1.210", String(repeating: "h", count: 1025)], "mmm_control: argument 2 of set_ip has control characters or is longer than 1024 bytes"),
        ]
    )
    func badOptionsAreUsageErrors(arguments: [String], message: String) {
        #expect(ControlInvocation.parse(arguments) == .usage(message))
    }

    @Test func exitStatusesAreDistinctAndDocumented() {
        #expect(ControlExitStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
        #expect(ControlExitStatus(response: ControlResponse(isError: false, text: "OK")) == .success)
        #expect(ControlExitStatus(response: ControlResponse(isError: true, text: "ERROR: x")) == .commandFailed)
    }
}
