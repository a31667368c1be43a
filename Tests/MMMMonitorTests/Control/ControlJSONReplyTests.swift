import Foundation
import MMMControl
import MMMCore
import MMMMonitor
import Testing

/// `--json` answers as values: the dispatcher's text with a leading `--json`, decoded or compared exactly.
@Suite struct ControlJSONReplyTests {
    /// The JSON answer to `line` (a leading `--json` is added) and the plain answer to the same line on a copy of
    /// the machine.
    static func both(_ line: String, _ machine: ClusterStateMachine) -> (json: ControlOutcome, plain: ControlOutcome) {
        var jsonMachine = machine
        var plainMachine = machine
        let words = line.split(separator: " ").map(String.init)
        let json = ControlDispatcher.handle(
            verb: words.first ?? "",
            arguments: ["--json"] + words.dropFirst(),
            machine: &jsonMachine,
            reachableAgents: ControlFixtures.bothAgents,
            now: .seconds(10),
            time: ControlFixtures.time
        )
        let plain = ControlFixtures.handle(line, &plainMachine)
        #expect(json.isError == plain.isError)
        #expect(json.actions == plain.actions)
        #expect(jsonMachine.snapshot == plainMachine.snapshot)
        return (json, plain)
    }

    static func decode(_ outcome: ControlOutcome) throws -> ControlJSONReply {
        try JSONDecoder().decode(ControlJSONReply.self, from: Data(outcome.text.utf8))
    }

    @Test func showOfTheRunningClusterHasItsHostsRolesAndModeInSortedKeys() throws {
        let (json, plain) = Self.both("show", ControlFixtures.running())
        #expect(
            json.text
                == #"{"hosts":[{"agentReachable":true,"errantTransactions":[],"ip":"192.168.1.101","mode":"master","#
                + #""name":"db1","roles":[{"ip":"192.168.1.210","role":"writer"}],"state":"ONLINE"},"#
                + #"{"agentReachable":true,"errantTransactions":[],"ip":"192.168.1.102","mode":"master","name":"db2","#
                + #""roles":[{"ip":"192.168.1.220","role":"reader"}],"state":"ONLINE"}],"mode":"ACTIVE","ok":true,"#
                + #""text":"  db1(192.168.1.101) master/ONLINE. Roles: writer(192.168.1.210)\n"#
                + #"  db2(192.168.1.102) master/ONLINE. Roles: reader(192.168.1.220)\n","warnings":[]}"#
        )
        #expect(try Self.decode(json).text == plain.text)
    }

    @Test func showListsUnreachableAgentsErrantTransactionsAndWarnings() throws {
        var machine = ControlFixtures.running()
        _ = machine.agentUnreachable(host: "db2", at: .seconds(5))
        _ = machine.gtidCompared(host: "db2", errant: ["0-2-17"], at: .seconds(5))
        let (json, plain) = Self.both("show", machine)
        let reply = try Self.decode(json)
        #expect(reply.ok)
        #expect(reply.text == plain.text)
        #expect(reply.mode == "ACTIVE")
        #expect(reply.warnings == ["# Warning: agent on host db2 is not reachable"])
        let db2 = try #require(reply.hosts?.last)
        #expect(db2.name == "db2")
        #expect(!db2.agentReachable)
        #expect(db2.errantTransactions == ["0-2-17"])
        #expect(reply.hosts?.first?.agentReachable == true)
        #expect(reply.checks == nil)
    }

    @Test func checksGiveOneEntryPerHostAndCheckWithTheTextsFields() throws {
        let (json, plain) = Self.both("checks all", ControlFixtures.fresh())
        let reply = try Self.decode(json)
        #expect(reply.ok && reply.text == plain.text)
        let checks = try #require(reply.checks)
        #expect(checks.count == 8)
        #expect(checks.map(\.host) == ["db1", "db1", "db1", "db1", "db2", "db2", "db2", "db2"])
        #expect(checks.map(\.check) == ["ping", "mysql", "rep_threads", "rep_backlog", "ping", "mysql", "rep_threads", "rep_backlog"])
        #expect(
            checks.last
                == ControlJSONReply.Check(
                    host: "db2",
                    check: "rep_backlog",
                    ok: true,
                    message: "OK: Backlog is null",
                    lastChange: "2024/04/29 07:17:40"
                )
        )
        #expect(reply.hosts == nil && reply.mode == nil)
    }

    @Test func aCheckWithoutResultHasNullOkAndNullTime() {
        let machine = ClusterStateMachine(
            topology: ControlFixtures.topology(),
            policy: ClusterPolicy(),
            checkPolicies: ControlFixtures.immediateChecks,
            at: .zero
        )
        let (json, plain) = Self.both("checks db1 ping", machine)
        #expect(plain.text == "db1  ping  [last change: ----/--/-- --:--:--]  UNKNOWN: No result yet")
        #expect(
            json.text
                == #"{"checks":[{"check":"ping","host":"db1","lastChange":null,"message":"UNKNOWN: No result yet","#
                + #""ok":null}],"ok":true,"text":"db1  ping  [last change: ----/--/-- --:--:--]  UNKNOWN: No result yet"}"#
        )
    }

    @Test func aFailedCheckIsFalseWithItsMessage() throws {
        var machine = ControlFixtures.fresh()
        _ = machine.probeCompleted(
            host: "db2",
            check: .repThreads,
            outcome: .failed(message: "ERROR: Replication is broken"),
            at: .seconds(3)
        )
        let (json, _) = Self.both("checks db2 rep_threads", machine)
        let check = try #require(try Self.decode(json).checks?.first)
        #expect(check.ok == false)
        #expect(check.message == "ERROR: Replication is broken")
        #expect(check.lastChange == "2024/04/29 07:17:43")
    }

    @Test func modeAndModeSwitchesCarryTheModeAfterTheCommand() throws {
        #expect(Self.both("mode", ControlFixtures.running()).json.text == #"{"mode":"ACTIVE","ok":true,"text":"ACTIVE"}"#)
        let (manual, plain) = Self.both("set_manual", ControlFixtures.running())
        #expect(manual.text == #"{"mode":"MANUAL","ok":true,"text":"OK: Switched into manual mode."}"#)
        #expect(manual.actions == plain.actions && !manual.actions.isEmpty)
        #expect(try Self.decode(Self.both("set_passive", ControlFixtures.running()).json).mode == "PASSIVE")
        #expect(try Self.decode(Self.both("set_active", ControlFixtures.running()).json).mode == "ACTIVE")
    }

    @Test func otherVerbsCarryOkAndText() throws {
        #expect(
            Self.both("ping", ControlFixtures.running()).json.text == #"{"ok":true,"text":"OK: Pinged successfully!"}"#
        )
        let help = try Self.decode(Self.both("help", ControlFixtures.running()).json)
        #expect(help == ControlJSONReply(ok: true, text: ControlHelp.text))
        let offline = Self.both("set_offline db2", ControlFixtures.running())
        #expect(try Self.decode(offline.json) == ControlJSONReply(ok: true, text: offline.plain.text))
        #expect(!offline.json.actions.isEmpty)
        let move = Self.both("move_role writer db2", ControlFixtures.running())
        #expect(try Self.decode(move.json) == ControlJSONReply(ok: !move.plain.isError, text: move.plain.text))
        var passive = ControlFixtures.running()
        _ = ControlFixtures.handle("set_passive", &passive)
        let setIP = Self.both("set_ip 192.168.1.210 db2", passive)
        #expect(try Self.decode(setIP.json) == ControlJSONReply(ok: !setIP.plain.isError, text: setIP.plain.text))
        let online = Self.both("set_online db1", ControlFixtures.running())
        #expect(try Self.decode(online.json) == ControlJSONReply(ok: true, text: "OK: This host is already ONLINE. Skipping command."))
    }

    @Test func refusalsAreNotOkAndCarryMMMsText() throws {
        let unknownHost = Self.both("set_online db3", ControlFixtures.running()).json
        #expect(unknownHost.isError)
        #expect(unknownHost.text == #"{"ok":false,"text":"ERROR: Unknown host name 'db3'!"}"#)
        let unknownCheck = Self.both("checks db1 pong", ControlFixtures.running()).json
        #expect(unknownCheck.text == #"{"ok":false,"text":"ERROR: Unknown check 'pong'!"}"#)
        let invalid = Self.both("set_offline db1 now", ControlFixtures.running()).json
        #expect(try Self.decode(invalid) == ControlJSONReply(ok: false, text: "Invalid command 'set_offline db1 now'\n\n" + ControlHelp.text))
        let checksOfUnknownHost = Self.both("checks db9", ControlFixtures.running()).json
        #expect(try Self.decode(checksOfUnknownHost) == ControlJSONReply(ok: false, text: "ERROR: Unknown host name 'db9'!"))
    }

    @Test func theJSONFlagCountsOnlyAsTheFirstArgument() {
        var machine = ControlFixtures.running()
        let outcome = ControlDispatcher.handle(
            verb: "show",
            arguments: ["x", "--json"],
            machine: &machine,
            reachableAgents: ControlFixtures.bothAgents,
            now: .seconds(10),
            time: ControlFixtures.time
        )
        #expect(outcome == ControlOutcome(error: "Invalid command 'show x --json'\n\n" + ControlHelp.text))
    }
}
