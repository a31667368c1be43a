import MMMCore

/// Which replication threads a start or stop applies to.
public enum ReplicationThreads: Sendable, Hashable {
    /// Both threads (`START SLAVE` / `STOP SLAVE`).
    case both
    /// Only the IO thread (receiving from the master).
    case io
    /// Only the SQL thread (applying the relay log).
    case sql

    var sqlSuffix: String {
        switch self {
        case .both: return ""
        case .io: return " IO_THREAD"
        case .sql: return " SQL_THREAD"
        }
    }
}

/// `MASTER_USE_GTID` for ``ChangeMaster``. Binlog file and position are never used (invariant 3).
public enum GTIDStartPosition: String, Sendable, Hashable {
    /// Start from `gtid_slave_pos`: for a host that never wrote on its own.
    case slavePos = "slave_pos"
    /// Start from `gtid_current_pos`: for a host that has written; the master refuses it (error 1236) if it holds
    /// transactions the master lacks, which is what keeps an errant host out (rule R2).
    case currentPos = "current_pos"
}

/// The arguments of `CHANGE MASTER TO` as swift-mmm uses it: always by GTID.
public struct ChangeMaster: Sendable, Hashable {
    /// The multi-source connection name; empty for the default connection.
    public var connectionName: String
    /// The master's address.
    public var host: String
    /// The master's port.
    public var port: Int
    /// The replication account.
    public var user: String
    /// Its password (never printed: ``description`` leaves it out).
    public var password: String
    /// Where replication starts.
    public var useGTID: GTIDStartPosition
    /// `MASTER_CONNECT_RETRY` in seconds.
    public var connectRetry: Int
    /// `MASTER_HEARTBEAT_PERIOD`.
    public var heartbeatPeriod: Duration

    /// Creates the arguments; retry 1 s and heartbeat 1 s make a dead master visible within seconds.
    public init(
        connectionName: String = "",
        host: String,
        port: Int = 3306,
        user: String,
        password: String,
        useGTID: GTIDStartPosition,
        connectRetry: Int = 1,
        heartbeatPeriod: Duration = .seconds(1)
    ) {
        self.connectionName = connectionName
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.useGTID = useGTID
        self.connectRetry = connectRetry
        self.heartbeatPeriod = heartbeatPeriod
    }

    /// The statement, after validating every value that goes into it.
    public func sql() throws(MMMError) -> String {
        try SQLValidation.requireConnectionName(self.connectionName)
        try SQLValidation.requireHost(self.host, "master host")
        try SQLValidation.requireUser(self.user, "replication user")
        guard (1...65535).contains(self.port) else {
            throw MMMError(.invalidArgument, "master port \(self.port) is out of range; use 1 to 65535")
        }
        guard (1...86400).contains(self.connectRetry) else {
            throw MMMError(.invalidArgument, "connect retry \(self.connectRetry) s is out of range; use 1 to 86400")
        }
        let heartbeat = self.heartbeatPeriod.secondsDouble
        guard heartbeat > 0, heartbeat <= 4_294_967 else {
            throw MMMError(.invalidArgument, "heartbeat period \(self.heartbeatPeriod) is out of range")
        }
        return "CHANGE MASTER \(SQLValidation.quote(self.connectionName)) TO MASTER_HOST=\(SQLValidation.quote(self.host)), "
            + "MASTER_PORT=\(self.port), MASTER_USER=\(SQLValidation.quote(self.user)), "
            + "MASTER_PASSWORD=\(SQLValidation.quote(self.password)), MASTER_USE_GTID=\(self.useGTID.rawValue), "
            + "MASTER_CONNECT_RETRY=\(self.connectRetry), MASTER_HEARTBEAT_PERIOD=\(heartbeat)"
    }
}

extension ChangeMaster: CustomStringConvertible {
    /// The arguments without the password.
    public var description: String {
        "CHANGE MASTER '\(self.connectionName)' TO \(self.host):\(self.port) user \(self.user) password <redacted> MASTER_USE_GTID=\(self.useGTID.rawValue)"
    }
}

/// The outcome of `MASTER_GTID_WAIT`.
public enum GTIDWaitResult: Sendable, Hashable {
    /// `gtid_slave_pos` reached the position (returned 0).
    case reached
    /// The server-side timeout passed first (returned -1).
    case timedOut
}

extension MariaDBConnection {
    /// Every replication connection (`SHOW ALL SLAVES STATUS`); empty on a host that replicates from nobody.
    public func replicaStatuses() async throws -> [ReplicaStatus] {
        try await self.query("SHOW ALL SLAVES STATUS").rows.map(ReplicaStatus.init(row:))
    }

    /// Points replication at a master by GTID. Never by binlog file and position.
    public func changeMaster(_ arguments: ChangeMaster) async throws {
        _ = try await self.query(try arguments.sql())
    }

    /// `START SLAVE ['name'] [IO_THREAD|SQL_THREAD]`.
    ///
    /// Caution (rule R3): in GTID mode, starting any thread while both are stopped deletes the relay log; a candidate
    /// with unapplied relay log must keep one thread running.
    public func startReplica(connectionName: String = "", threads: ReplicationThreads = .both) async throws {
        try SQLValidation.requireConnectionName(connectionName)
        _ = try await self.query("START SLAVE \(SQLValidation.quote(connectionName))\(threads.sqlSuffix)")
    }

    /// `STOP SLAVE ['name'] [IO_THREAD|SQL_THREAD]`, bounded by `deadline`: the server can take tens of seconds when
    /// the SQL thread waits on a row lock (rule R8); at the deadline the statement is killed and this connection
    /// closed.
    public func stopReplica(
        connectionName: String = "",
        threads: ReplicationThreads = .both,
        deadline: Duration? = nil
    ) async throws {
        try SQLValidation.requireConnectionName(connectionName)
        _ = try await self.query(
            "STOP SLAVE \(SQLValidation.quote(connectionName))\(threads.sqlSuffix)",
            deadline: deadline
        )
    }

    /// `RESET SLAVE ['name'] [ALL]`: ALL forgets the master; without it the GTID start settings are kept.
    public func resetReplica(connectionName: String = "", all: Bool) async throws {
        try SQLValidation.requireConnectionName(connectionName)
        _ = try await self.query("RESET SLAVE \(SQLValidation.quote(connectionName))\(all ? " ALL" : "")")
    }

    /// Waits until `gtid_slave_pos` has reached `position` (rule R4/R5: per domain by sequence number; a server's
    /// own binlogged writes never count), at most `timeout` on the server.
    ///
    /// The connection's read timeout must exceed `timeout` (Connector/C fixes it at connect time); open a separate
    /// connection with a longer read timeout for long waits.
    public func masterGTIDWait(_ position: GTIDPosition, timeout: Duration) async throws -> GTIDWaitResult {
        guard timeout >= .zero else {
            throw MMMError(.invalidArgument, "MASTER_GTID_WAIT timeout must not be negative (it would wait forever)")
        }
        guard timeout < self.configuration.readTimeout else {
            throw MMMError(
                .invalidArgument,
                "MASTER_GTID_WAIT timeout \(timeout) is not below the read timeout \(self.configuration.readTimeout) of the connection to \(self.configuration.endpointDescription); open one with a longer read timeout"
            )
        }
        // The position is printed by GTIDPosition (digits, '-' and ','), so it is safe to quote.
        let row = try await self.query(
            "SELECT MASTER_GTID_WAIT(\(SQLValidation.quote(position.description)), \(timeout.secondsDouble)) AS result",
            deadline: timeout + .seconds(1)
        ).singleRow("MASTER_GTID_WAIT")
        switch try row.int("result") {
        case 0: return .reached
        case -1: return .timedOut
        case let other:
            throw MMMError(
                .unexpectedResult,
                "MASTER_GTID_WAIT on \(self.configuration.endpointDescription) returned \(other.map(String.init) ?? "NULL"), expected 0 or -1"
            )
        }
    }
}
