import MMMControl
import MMMCore
import MMMMonitor
import Testing

@Suite struct ChecksFormatterTests {
    /// The seed's `mmm_control checks all` block for one host (its host order was Perl's hash order: db2 first).
    static func seedBlock(_ host: String) -> String {
        """
        \(host)  ping         [last change: 2024/04/29 07:17:40]  OK
        \(host)  mysql        [last change: 2024/04/29 07:17:40]  OK
        \(host)  rep_threads  [last change: 2024/04/29 07:17:40]  OK
        \(host)  rep_backlog  [last change: 2024/04/29 07:17:40]  OK: Backlog is null

        """
    }

    @Test func checksAllMatchesTheSeedForTwoHealthyHosts() {
        var machine = ControlFixtures.fresh()
        let outcome = ControlFixtures.handle("checks all", &machine)
        #expect(outcome == ControlOutcome(ok: Self.seedBlock("db1") + Self.seedBlock("db2")))
        // No argument means all, as in MMM.
        #expect(ControlFixtures.handle("checks", &machine) == outcome)
        #expect(ControlFixtures.handle("checks all all", &machine) == outcome)
    }

    @Test func oneHostAllChecks() {
        var machine = ControlFixtures.fresh()
        #expect(ControlFixtures.handle("checks db2", &machine) == ControlOutcome(ok: Self.seedBlock("db2")))
        #expect(ControlFixtures.handle("checks db2 all", &machine) == ControlOutcome(ok: Self.seedBlock("db2")))
    }

    @Test func allHostsOneCheck() {
        var machine = ControlFixtures.fresh()
        #expect(
            ControlFixtures.handle("checks all rep_threads", &machine)
                == ControlOutcome(
                    ok: """
                        db1  rep_threads  [last change: 2024/04/29 07:17:40]  OK
                        db2  rep_threads  [last change: 2024/04/29 07:17:40]  OK

                        """
                )
        )
    }

    @Test func oneHostOneCheckIsASingleLineWithoutNewline() {
        var machine = ControlFixtures.fresh()
        #expect(
            ControlFixtures.handle("checks db1 rep_backlog", &machine)
                == ControlOutcome(ok: "db1  rep_backlog  [last change: 2024/04/29 07:17:40]  OK: Backlog is null")
        )
    }

    @Test func unknownNamesAreRefused() {
        var machine = ControlFixtures.fresh()
        #expect(ControlFixtures.handle("checks db3", &machine) == ControlOutcome(error: "ERROR: Unknown host name 'db3'!"))
        #expect(ControlFixtures.handle("checks db3 ping", &machine) == ControlOutcome(error: "ERROR: Unknown host name 'db3'!"))
        #expect(ControlFixtures.handle("checks db3 pong", &machine) == ControlOutcome(error: "ERROR: Unknown check 'pong'!"))
        #expect(ControlFixtures.handle("checks all pong", &machine) == ControlOutcome(error: "ERROR: Unknown check 'pong'!"))
    }

    @Test func hostsArePaddedToTheLongestNameAndFailuresShowTheirMessageAndTime() {
        var status = HostCheckStatus.allOK
        status.messages = [.ping: "OK", .mysql: "ERROR: Connect error (host = 10.0.0.1:3306, user = mmm_monitor)! refused"]
        status.mysql = false
        status.lastChanges = [.ping: .seconds(0), .mysql: .seconds(3725)]
        let formatter = ChecksFormatter(
            hostNames: ["db10", "db2"],
            checks: ["db2": status],
            time: ControlFixtures.time
        )
        let outcome = formatter.reply(host: "db2", check: nil)
        #expect(
            outcome
                == ControlOutcome(
                    ok: """
                        db2   ping         [last change: 2024/04/29 07:17:40]  OK
                        db2   mysql        [last change: 2024/04/29 08:19:45]  ERROR: Connect error (host = 10.0.0.1:3306, user = mmm_monitor)! refused
                        db2   rep_threads  [last change: ----/--/-- --:--:--]  OK
                        db2   rep_backlog  [last change: ----/--/-- --:--:--]  OK

                        """
                )
        )
        // A host with no result yet.
        #expect(
            formatter.reply(host: "db10", check: .ping)
                == ControlOutcome(ok: "db10  ping  [last change: ----/--/-- --:--:--]  UNKNOWN: No result yet")
        )
    }

    static let timestamps: [(Int64, Int, String)] = [
        (0, 0, "1970/01/01 00:00:00"),
        (1_714_375_060, 0, "2024/04/29 07:17:40"),
        (1_714_375_060, 9 * 3600, "2024/04/29 16:17:40"),
        (1_709_164_799, 0, "2024/02/28 23:59:59"),
        (1_709_164_800, 0, "2024/02/29 00:00:00"),
        (951_868_800, 0, "2000/03/01 00:00:00"),
        (-1, 0, "1969/12/31 23:59:59"),
        (1_704_067_199, 3600, "2024/01/01 00:59:59"),
        (253_402_300_799, 0, "9999/12/31 23:59:59"),
    ]

    @Test(arguments: 0..<Self.timestamps.count)
    func timestampFormatsMMMsDate(_ index: Int) {
        let (seconds, offset, text) = Self.timestamps[index]
        #expect(ChecksFormatter.timestamp(unixSeconds: seconds, utcOffsetSeconds: offset) == text)
    }
}
