import MMMCore
import MMMMonitor
import MariaDBClient
import Testing

@Suite struct CheckMessagesTests {
    /// A `SHOW ALL SLAVES STATUS` row of the default connection with the columns the checks read.
    static func row(
        connection: String = "",
        io: String? = "Yes",
        sql: String? = "Yes",
        secondsBehind: String? = "0"
    ) -> MariaDBRow {
        MariaDBRow(
            columns: .init(["Connection_name", "Slave_IO_Running", "Slave_SQL_Running", "Seconds_Behind_Master"]),
            values: [connection, io, sql, secondsBehind]
        )
    }

    static func serverError(_ number: UInt32, _ code: MMMError.Code, _ text: String) -> MMMError {
        MMMError(code, "wrapped: \(text)", cause: MariaDBServerError(number: number, sqlState: "HY000", text: text))
    }

    // MARK: - rep_threads

    @Test func repThreadsOKWhenBothThreadsRun() {
        #expect(CheckMessages.repThreads(rows: [Self.row()]) == .ok(message: "OK"))
    }

    @Test(arguments: ["Connecting", "Preparing"])
    func repThreadsPassesAnIOThreadThatIsNotStopped(io: String) {
        // MMM fails only on 'No': a reconnecting IO thread passes.
        #expect(CheckMessages.repThreads(rows: [Self.row(io: io, secondsBehind: nil)]) == .ok(message: "OK"))
    }

    @Test(arguments: [("No", "Yes"), ("Yes", "No"), ("No", "No")])
    func repThreadsFailsWhenAThreadIsStopped(io: String, sql: String) {
        #expect(
            CheckMessages.repThreads(rows: [Self.row(io: io, sql: sql, secondsBehind: nil)])
                == .failed(message: "ERROR: Replication is broken")
        )
    }

    @Test func repChecksFailWithoutReplication() {
        let notSetUp = CheckOutcome.failed(message: "ERROR: Replication is not set up")
        #expect(CheckMessages.repThreads(rows: []) == notSetUp)
        #expect(CheckMessages.repBacklog(rows: [], maxBacklog: 60) == notSetUp)
        // Only a named multi-source connection: the default one is not set up, as MMM's SHOW SLAVE STATUS sees it.
        let named = [Self.row(connection: "other")]
        #expect(CheckMessages.repThreads(rows: named) == notSetUp)
        #expect(CheckMessages.repBacklog(rows: named, maxBacklog: 60) == notSetUp)
    }

    @Test func repChecksJudgeTheDefaultConnectionAmongSeveral() {
        let rows = [Self.row(connection: "other", io: "No", sql: "No", secondsBehind: "999"), Self.row()]
        #expect(CheckMessages.repThreads(rows: rows) == .ok(message: "OK"))
        #expect(CheckMessages.repBacklog(rows: rows, maxBacklog: 60) == .ok(message: "OK: Backlog is null"))
    }

    // MARK: - rep_backlog

    @Test func repBacklogNullOrZeroIsOKBacklogIsNull() {
        // NULL: the SQL thread (or the IO thread) is stopped; MMM lets it pass and leaves it to rep_threads.
        #expect(CheckMessages.repBacklog(rows: [Self.row(secondsBehind: nil)], maxBacklog: 60) == .ok(message: "OK: Backlog is null"))
        #expect(CheckMessages.repBacklog(rows: [Self.row(secondsBehind: "0")], maxBacklog: 60) == .ok(message: "OK: Backlog is null"))
    }

    @Test func repBacklogComparesWithMaxBacklog() {
        #expect(CheckMessages.repBacklog(rows: [Self.row(secondsBehind: "60")], maxBacklog: 60) == .ok(message: "OK"))
        #expect(CheckMessages.repBacklog(rows: [Self.row(secondsBehind: "1")], maxBacklog: 60) == .ok(message: "OK"))
        #expect(
            CheckMessages.repBacklog(rows: [Self.row(secondsBehind: "61")], maxBacklog: 60)
                == .failed(message: "ERROR: Backlog is too big")
        )
    }

    // MARK: - replication checks that cannot read the status

    @Test func repChecksAreUnknownWhenTheServerCannotBeReached() {
        let refused = Self.serverError(2003, .connectionFailed, "Can't connect to server on '198.18.0.102' (111)")
        let outcome = CheckMessages.replicationUnreadable(
            ip: "198.18.0.102", port: 3306, user: "mmm_monitor", phase: .connect, error: refused
        )
        #expect(
            outcome
                == .unknown(
                    message: "UNKNOWN: Connect error (host = 198.18.0.102:3306, user = mmm_monitor)! Can't connect to server on '198.18.0.102' (111)"
                )
        )
        let timeout = MMMError(.timedOut, "statement did not finish within 2 s")
        let hung = CheckMessages.replicationUnreadable(ip: "198.18.0.102", port: 3306, user: "m", phase: .query, error: timeout)
        #expect(hung == .unknown(message: "UNKNOWN: Timeout! statement did not finish within 2 s"))
    }

    @Test func repChecksFailWithoutReplicationClientPrivilege() {
        let denied = Self.serverError(1227, .accessDenied, "Access denied; you need (at least one of) the REPLICA MONITOR privilege(s)")
        let outcome = CheckMessages.replicationUnreadable(ip: "10.0.0.1", port: 3306, user: "mon", phase: .query, error: denied)
        #expect(
            outcome
                == .failed(
                    message: "ERROR: The monitor user 'mon' doesn't have the required REPLICATION CLIENT privilege! Access denied; you need (at least one of) the REPLICA MONITOR privilege(s)"
                )
        )
        let other = Self.serverError(1064, .queryFailed, "syntax")
        #expect(
            CheckMessages.replicationUnreadable(ip: "10.0.0.1", port: 3306, user: "mon", phase: .query, error: other)
                == .unknown(message: "UNKNOWN: Unknown state. Execute error: syntax")
        )
    }

    // MARK: - mysql

    @Test func mysqlOKAndConnectErrors() {
        #expect(CheckMessages.mysql(ip: "10.0.0.1", port: 3306, user: "mon", phase: .connect, error: nil) == .ok(message: "OK"))
        let denied = Self.serverError(1045, .accessDenied, "Access denied for user 'mon'@'10.0.0.9' (using password: YES)")
        #expect(
            CheckMessages.mysql(ip: "10.0.0.1", port: 3307, user: "mon", phase: .connect, error: denied)
                == .failed(
                    message: "ERROR: Connect error (host = 10.0.0.1:3307, user = mon)! Access denied for user 'mon'@'10.0.0.9' (using password: YES)"
                )
        )
        let hung = MMMError(.timedOut, "connect to db2 did not finish within 2 s")
        #expect(
            CheckMessages.mysql(ip: "10.0.0.1", port: 3306, user: "mon", phase: .connect, error: hung)
                == .failed(message: "ERROR: Connect error (host = 10.0.0.1:3306, user = mon)! connect to db2 did not finish within 2 s")
        )
    }

    @Test func mysqlTooManyConnectionsIsUnknownSoItNeverFailsAHost() {
        let full = Self.serverError(1040, .tooManyConnections, "Too many connections")
        #expect(
            CheckMessages.mysql(ip: "10.0.0.1", port: 3306, user: "mon", phase: .connect, error: full)
                == .unknown(message: "UNKNOWN: Too many connections! Too many connections")
        )
    }

    @Test func mysqlQueryErrors() {
        let timeout = MMMError(.timedOut, "statement did not finish")
        #expect(
            CheckMessages.mysql(ip: "10.0.0.1", port: 3306, user: "mon", phase: .query, error: timeout)
                == .failed(message: "ERROR: Timeout")
        )
        let lost = Self.serverError(2013, .connectionLost, "Lost connection to server during query")
        #expect(
            CheckMessages.mysql(ip: "10.0.0.1", port: 3306, user: "mon", phase: .query, error: lost)
                == .failed(message: "ERROR: SQL Query Error: Lost connection to server during query")
        )
        #expect(
            CheckMessages.mysql(ip: "10.0.0.1", port: 3306, user: "mon", phase: .query, error: CancellationError())
                == .unknown(message: "UNKNOWN: Error occurred: CancellationError()")
        )
    }

    // MARK: - ping

    @Test func pingMessages() {
        #expect(CheckMessages.ping(ip: "10.0.0.1", error: nil) == .ok(message: "OK"))
        #expect(
            CheckMessages.ping(ip: "10.0.0.1", error: MMMError(.timedOut, "no reply"))
                == .failed(message: "ERROR: Could not ping 10.0.0.1")
        )
        #expect(
            CheckMessages.ping(ip: "10.0.0.1", error: MMMError(.accessDenied, "raw sockets need root"))
                == .failed(message: "ERROR: Could not ping 10.0.0.1! raw sockets need root")
        )
    }
}
