import MMMCore
import MariaDBClient

/// MMM's check results and message texts (`lib/Monitor/Checker/Checks.pm`), as pure functions of what a probe saw.
///
/// ``HostProber`` does the I/O and hands its observations here, so every text and every OK/ERROR/UNKNOWN decision
/// is testable without a server. The texts are MMM 2.2's, because `mmm_control checks` shows them and operators
/// grep logs for them.
public enum CheckMessages {
    /// Where a SQL check failed: opening the connection or running the statement.
    public enum Phase: Sendable, Hashable {
        /// Connecting (TCP, handshake, login).
        case connect
        /// Running the check's statement on an open connection.
        case query
    }

    /// The `ping` result: `OK`, or `ERROR: Could not ping <ip>` (with the reason when it is not a plain timeout).
    public static func ping(ip: String, error: (any Error)?) -> CheckOutcome {
        guard let error else { return .ok(message: "OK") }
        if let error = error as? MMMError, error.code == .timedOut {
            return .failed(message: "ERROR: Could not ping \(ip)")
        }
        return .failed(message: "ERROR: Could not ping \(ip)! \(Self.errorText(error))")
    }

    /// The `mysql` result after a failure, or `OK` when `error` is nil.
    ///
    /// Connect errors fail (`ERROR: Connect error (host = ip:port, user = u)! <error>`) except 1040, which is
    /// `UNKNOWN: Too many connections!` so that an overloaded server never causes a failover (as in MMM). A statement
    /// past its deadline is `ERROR: Timeout`; any other statement error is `ERROR: SQL Query Error: <error>`.
    public static func mysql(
        ip: String, port: Int, user: String, phase: Phase, error: (any Error)?
    ) -> CheckOutcome {
        guard let error else { return .ok(message: "OK") }
        let text = Self.errorText(error)
        guard let mmmError = error as? MMMError else {
            return .unknown(message: "UNKNOWN: Error occurred: \(text)")
        }
        if mmmError.code == .tooManyConnections {
            return .unknown(message: "UNKNOWN: Too many connections! \(text)")
        }
        switch phase {
        case .connect:
            return .failed(message: "ERROR: Connect error (host = \(ip):\(port), user = \(user))! \(text)")
        case .query:
            if mmmError.code == .timedOut { return .failed(message: "ERROR: Timeout") }
            return .failed(message: "ERROR: SQL Query Error: \(text)")
        }
    }

    /// The `rep_threads` / `rep_backlog` result when the probe could not read `SHOW SLAVE STATUS`.
    ///
    /// As in MMM, a host whose server cannot be reached never fails a replication check: connect errors are
    /// `UNKNOWN: Connect error ...`, which keeps the last reported status (the `mysql` check accuses the host).
    /// Error 1227 fails: `ERROR: The monitor user 'u' doesn't have the required REPLICATION CLIENT privilege! ...`.
    /// Other statement errors are `UNKNOWN: Unknown state. Execute error: ...`.
    ///
    /// - Note: MMM reports a statement timeout as `ERROR: Timeout`. swift-mmm keeps its connections open between
    ///   probes, so a hung server shows up as a statement timeout where MMM's fresh connection would have failed to
    ///   connect (UNKNOWN). A statement timeout is therefore `UNKNOWN: Timeout! ...` here: a hung host must go
    ///   HARD_OFFLINE by its `mysql` check, not REPLICATION_FAIL by a replication check.
    public static func replicationUnreadable(
        ip: String, port: Int, user: String, phase: Phase, error: any Error
    ) -> CheckOutcome {
        let text = Self.errorText(error)
        guard let mmmError = error as? MMMError else {
            return .unknown(message: "UNKNOWN: Error occurred: \(text)")
        }
        switch phase {
        case .connect:
            return .unknown(message: "UNKNOWN: Connect error (host = \(ip):\(port), user = \(user))! \(text)")
        case .query:
            if mmmError.mariaDBErrorNumber == MariaDBErrorNumber.specificAccessDenied {
                return .failed(
                    message: "ERROR: The monitor user '\(user)' doesn't have the required REPLICATION CLIENT privilege! \(text)"
                )
            }
            if mmmError.code == .timedOut { return .unknown(message: "UNKNOWN: Timeout! \(text)") }
            return .unknown(message: "UNKNOWN: Unknown state. Execute error: \(text)")
        }
    }

    /// The default replication connection (`Connection_name` empty) among `SHOW ALL SLAVES STATUS` rows: what MMM's
    /// `SHOW SLAVE STATUS` reads. Named multi-source connections are not judged, as in MMM.
    public static func defaultConnection(_ rows: [MariaDBRow]) -> MariaDBRow? {
        rows.first { row in
            guard row.has("Connection_name") else { return true }
            return ((try? row.string("Connection_name")) ?? nil) ?? "" == ""
        }
    }

    /// `rep_threads` from `SHOW ALL SLAVES STATUS` rows.
    ///
    /// `ERROR: Replication is not set up` without a default connection; `ERROR: Replication is broken` when
    /// `Slave_IO_Running` or `Slave_SQL_Running` is `No`; otherwise `OK`. As in MMM, an IO thread that is `Connecting`
    /// (or `Preparing`) passes: only a stopped thread fails.
    public static func repThreads(rows: [MariaDBRow]) -> CheckOutcome {
        guard let row = Self.defaultConnection(rows) else {
            return .failed(message: "ERROR: Replication is not set up")
        }
        let io = (try? row.string("Slave_IO_Running")) ?? nil
        let sql = (try? row.string("Slave_SQL_Running")) ?? nil
        if io == "No" || sql == "No" {
            return .failed(message: "ERROR: Replication is broken")
        }
        return .ok(message: "OK")
    }

    /// `rep_backlog` from `SHOW ALL SLAVES STATUS` rows and `max_backlog` in seconds.
    ///
    /// `ERROR: Replication is not set up` without a default connection; `OK: Backlog is null` when
    /// `Seconds_Behind_Master` is NULL or 0 (so a stopped SQL thread passes, as in MMM: `rep_threads` catches it);
    /// `ERROR: Backlog is too big` above `max_backlog`; otherwise `OK`.
    public static func repBacklog(rows: [MariaDBRow], maxBacklog: Int) -> CheckOutcome {
        guard let row = Self.defaultConnection(rows) else {
            return .failed(message: "ERROR: Replication is not set up")
        }
        let seconds = (try? row.int("Seconds_Behind_Master")) ?? nil
        return CheckOutcome.repBacklog(secondsBehindMaster: seconds, maxBacklog: maxBacklog)
    }

    /// What MMM prints as `$DBI::errstr`: the server's or Connector/C's text when there is one, else our message.
    public static func errorText(_ error: any Error) -> String {
        if let error = error as? MMMError {
            if let server = error.cause as? MariaDBServerError { return server.text }
            return error.message
        }
        return "\(error)"
    }
}
