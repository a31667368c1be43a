import Logging
import MMMCore
import MariaDBClient
import MMMSystem

/// Write control on one MariaDB server: losing the writer role (``fence(_:)``), draining the relay log before gaining
/// it (``drain(_:)``), and gaining it (``promote(_:gate:)``). See `docs/write-control.md` for each sequence and the rule
/// of `mariadb-failover-facts.md` (R1–R12) behind each step.
///
/// Every call opens its own connections with the account of ``configuration`` (an account with `ALL PRIVILEGES`:
/// fencing needs `CONNECTION ADMIN` to kill root sessions and `READ_ONLY ADMIN` to set `read_only`), bounds every
/// statement by a deadline, closes its connections before it returns, and reports a failure as one ``MMMError`` that
/// names the server and says what to do. Calls on the same server must not overlap (the agent applies one role
/// change at a time).
public struct WriteControl: Sendable {
    /// The server this controls, and the account and connect timeout used for it.
    public let configuration: MariaDBConfiguration
    let server: ServerAccess
    let logger: Logger
    /// Times every step's deadline and duration.
    let clock: MMMClock

    /// Creates the write control of the server `configuration` points at.
    ///
    /// - Parameters:
    ///   - configuration: the server and an administrative account; its `readTimeout` is replaced per call by a
    ///     value derived from that call's own deadlines.
    ///   - executor: runs the blocking client calls (see ``MariaDBExecutor``).
    ///   - logger: receives one `info` line per completed step; metadata never contains passwords. Defaults to a
    ///     logger that drops everything.
    ///   - clock: times every step's deadline and duration.
    public init(
        configuration: MariaDBConfiguration,
        executor: MariaDBExecutor,
        logger: Logger = Logger(label: "mmm.agent.write-control", factory: { _ in SwiftLogNoOpLogHandler() }),
        clock: MMMClock = .system
    ) {
        self.clock = clock
        self.configuration = configuration
        self.server = ServerAccess(configuration: configuration, executor: executor)
        self.logger = logger
    }

    /// The server's name in messages, e.g. `db1`.
    var name: String { self.configuration.name }
}

/// Opens connections to one server within a call's deadline.
struct ServerAccess: Sendable {
    let configuration: MariaDBConfiguration
    let executor: MariaDBExecutor

    /// Connects with `readTimeout` as the socket read timeout (the longest one statement may take), failing when
    /// `budget` has run out.
    func connect(readTimeout: Duration, within budget: DeadlineBudget) async throws -> MariaDBConnection {
        var configuration = self.configuration
        configuration.connectTimeout = min(configuration.connectTimeout, try budget.remaining())
        configuration.readTimeout = max(readTimeout, .milliseconds(100))
        return try await MariaDBConnection.connect(configuration, on: self.executor)
    }

    /// Runs `body` with a fresh connection and always closes it.
    func withConnection<T: Sendable>(
        readTimeout: Duration,
        within budget: DeadlineBudget,
        _ body: (MariaDBConnection) async throws -> T
    ) async throws -> T {
        let connection = try await self.connect(readTimeout: readTimeout, within: budget)
        do {
            let value = try await body(connection)
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw error
        }
    }
}

extension MariaDBConnection {
    /// Runs `sql` bounded by the budget's remaining time and the connection's read timeout, whichever ends first.
    func query(_ sql: String, within budget: DeadlineBudget) async throws -> MariaDBResult {
        try await self.query(sql, deadline: min(try budget.remaining(), self.configuration.readTimeout))
    }

    /// `SHOW ALL SLAVES STATUS`, read again (every 50 ms, for up to `patience`) while an IO thread is still
    /// `Preparing`, which 10.11 shows for a moment right after `START SLAVE [IO_THREAD]` (seen on the bench).
    func replicaStatusesSettled(patience: Duration = .seconds(1)) async throws -> [ReplicaStatus] {
        // Counted in reads rather than timed: each read has its own deadline, so the whole wait stays bounded.
        let interval = Duration.milliseconds(50)
        var reads = 0
        while true {
            let statuses = try await self.replicaStatuses()
            reads += 1
            guard statuses.contains(where: { $0.ioThread == .preparing }), interval * reads < patience else {
                return statuses
            }
            try await Task.sleep(for: interval)
        }
    }

    /// `@@global.read_only`, read back from the server.
    func globalReadOnly(within budget: DeadlineBudget) async throws -> Bool {
        let row = try await self.query("SELECT @@global.read_only AS read_only", within: budget).singleRow("read_only")
        return try row.bool("read_only") ?? false
    }
}

extension Duration {
    /// Milliseconds, for log metadata.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
