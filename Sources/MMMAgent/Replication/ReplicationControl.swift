import Logging
import MMMCore
import MariaDBClient
import MMMSystem

/// Where ``ReplicationControl/repoint(_:)`` points a host.
public struct RepointRequest: Sendable, Hashable {
    /// The writer's name, for messages (e.g. `db2`).
    public var writer: String
    /// The writer's address (an IP: it goes into `MASTER_HOST`).
    public var writerHost: String
    /// The writer's port.
    public var writerPort: Int
    /// The writer's replication account (`replication_user` in the config).
    public var replicationUser: String
    /// Its password; never printed (``description`` leaves it out) nor logged.
    public var replicationPassword: String
    /// The multi-source connection name; empty for the default connection.
    public var connectionName: String
    /// The `MASTER_USE_GTID` to use; `nil` (the default) decides it from the host's facts with
    /// ``MariaDBClient/GTIDStartPosition/forRepointing(_:)``.
    public var mode: GTIDStartPosition?
    /// The bound of the whole repoint, connects and confirmation included.
    public var deadline: Duration
    /// The bound of `STOP SLAVE` (R8).
    public var stopReplicaDeadline: Duration
    /// How long to watch the threads after `START SLAVE`: until the IO thread is `Yes` and the SQL thread runs, or
    /// the master refuses the host. Zero: do not watch.
    public var confirmWithin: Duration

    /// Creates a request.
    public init(
        writer: String,
        writerHost: String,
        writerPort: Int = 3306,
        replicationUser: String,
        replicationPassword: String,
        connectionName: String = "",
        mode: GTIDStartPosition? = nil,
        deadline: Duration = .seconds(10),
        stopReplicaDeadline: Duration = .seconds(5),
        confirmWithin: Duration = .seconds(3)
    ) {
        self.writer = writer
        self.writerHost = writerHost
        self.writerPort = writerPort
        self.replicationUser = replicationUser
        self.replicationPassword = replicationPassword
        self.connectionName = connectionName
        self.mode = mode
        self.deadline = deadline
        self.stopReplicaDeadline = stopReplicaDeadline
        self.confirmWithin = confirmWithin
    }
}

extension RepointRequest: CustomStringConvertible {
    /// The request without the password.
    public var description: String {
        "RepointRequest(writer: \(self.writer) (\(self.writerHost):\(self.writerPort)), user: \(self.replicationUser), password: <redacted>, connection: '\(self.connectionName)', mode: \(self.mode?.rawValue ?? "from facts"))"
    }
}

/// What ``ReplicationControl/repoint(_:)`` did.
public struct RepointReport: Sendable, Hashable {
    /// The repointed host's name.
    public var host: String
    /// The writer's name.
    public var writer: String
    /// The `MASTER_USE_GTID` used (or found already in place).
    public var mode: GTIDStartPosition
    /// What was run.
    public var action: RepointAction
    /// Both threads were seen running without error (IO `Yes`) for 0.5 s before the call returned. False when
    /// ``RepointRequest/confirmWithin`` is zero or passed while the IO thread was still connecting (the writer may
    /// be down).
    public var replicating: Bool
    /// The connection's last status read, if it was read after the change.
    public var status: ReplicaStatus?
    /// How long the repoint took.
    public var duration: Duration
}

/// Replication control on one MariaDB server: making it follow the current writer by GTID (``repoint(_:)``).
///
/// Same conventions as ``WriteControl``: its own connections, a deadline on every statement, one ``MMMError`` per
/// failure that names the server and says what to do, and no passwords in messages or log metadata.
public struct ReplicationControl: Sendable {
    /// The server this controls, and the account used for it.
    public let configuration: MariaDBConfiguration
    private let server: ServerAccess
    private let logger: Logger
    private let clock: MMMClock

    /// Creates the replication control of the server `configuration` points at.
    ///
    /// - Parameters:
    ///   - configuration: the server and an administrative account (`REPLICATION SLAVE ADMIN` at least).
    ///   - executor: runs the blocking client calls.
    ///   - logger: receives one `info` line per repoint; defaults to a logger that drops everything.
    ///   - clock: times the repoint's deadline and confirmation.
    public init(
        configuration: MariaDBConfiguration,
        executor: MariaDBExecutor,
        logger: Logger = Logger(label: "mmm.agent.replication", factory: { _ in SwiftLogNoOpLogHandler() }),
        clock: MMMClock = .system
    ) {
        self.clock = clock
        self.configuration = configuration
        self.server = ServerAccess(configuration: configuration, executor: executor)
        self.logger = logger
    }

    private var name: String { self.configuration.name }

    /// Makes this host follow the writer by GTID, never by binlog file and position (invariant 3).
    ///
    /// The sequence (`docs/write-control.md`): read the host's facts and its replication connection; choose
    /// `MASTER_USE_GTID` (``RepointRequest/mode`` or ``MariaDBClient/GTIDStartPosition/forRepointing(_:)``:
    /// `current_pos` for a host that has written, so that an errant host is refused with IO error 1236: R2, invariant
    /// 4); if it already follows the writer that way with both threads running, do nothing; otherwise `STOP SLAVE`
    /// (bounded, R8), `CHANGE MASTER TO` the writer with its replication account, `START SLAVE`, and watch the threads
    /// for ``RepointRequest/confirmWithin``.
    ///
    /// Stopping both threads here is deliberate: the host is not a candidate being drained from an old writer, and
    /// whatever relay log `START SLAVE` discards is fetched again from the writer by GTID. Do not repoint a host that
    /// is still to be drained or promoted; drain it with ``WriteControl/drain(_:)`` first.
    ///
    /// Call this only after the monitor's errant check allowed the host to replicate (invariant 4), and only once the
    /// writer is drained and promoted (invariant 3).
    ///
    /// - Throws: ``MMMError`` naming the host: ``MMMError/Code/queryFailed`` with the replication error as cause
    ///   (`mariaDBErrorNumber` 1236 when the writer refused the host: it holds transactions the writer lacks, or is
    ///   ahead of it, R2/R12) when a thread stops with an error after the start; ``MMMError/Code/invalidArgument``
    ///   when asked to follow itself; ``MMMError/Code/timedOut`` for a statement past its deadline (`STOP SLAVE`: R8);
    ///   connection and privilege errors.
    public func repoint(_ request: RepointRequest) async throws -> RepointReport {
        let started = self.clock.now
        let budget = DeadlineBudget(request.deadline, what: "repointing \(self.name) to \(request.writer)", clock: self.clock)
        if request.writerHost == self.configuration.host && request.writerPort == self.configuration.port
            && self.configuration.unixSocket == nil
        {
            throw MMMError(
                .invalidArgument,
                "cannot repoint \(self.name) to \(request.writer) (\(request.writerHost):\(request.writerPort)): that is \(self.name) itself; a writer follows nobody"
            )
        }
        let readTimeout = max(request.stopReplicaDeadline, .seconds(3))
        return try await self.server.withConnection(readTimeout: readTimeout, within: budget) { connection in
            let facts = try await connection.serverFacts()
            let mode = request.mode ?? GTIDStartPosition.forRepointing(facts)
            let current = try await connection.replicaStatusesSettled().first {
                $0.connectionName == request.connectionName
            }
            let plan = RepointPlan(
                current: current.map(RepointPlan.Source.init), writerHost: request.writerHost,
                writerPort: request.writerPort, replicationUser: request.replicationUser, mode: mode
            )
            let action = plan.action
            switch action {
            case .unchanged:
                break
            case .start:
                _ = try budget.remaining()
                try await connection.startReplica(connectionName: request.connectionName)
            case .changeMaster:
                if current != nil {
                    do {
                        try await connection.stopReplica(
                            connectionName: request.connectionName,
                            deadline: min(request.stopReplicaDeadline, try budget.remaining())
                        )
                    } catch let error as MMMError where error.code == .timedOut {
                        throw MMMError(
                            .timedOut,
                            "repointing \(self.name) to \(request.writer): STOP SLAVE did not finish in time (R8: its SQL thread may wait on a row lock held by a local session); kill that session and retry",
                            cause: error
                        )
                    }
                }
                _ = try budget.remaining()
                try await connection.changeMaster(
                    ChangeMaster(
                        connectionName: request.connectionName, host: request.writerHost, port: request.writerPort,
                        user: request.replicationUser, password: request.replicationPassword, useGTID: mode
                    )
                )
                _ = try budget.remaining()
                try await connection.startReplica(connectionName: request.connectionName)
            }
            let (status, replicating) = try await self.confirm(request, on: connection, budget: budget, mode: mode)
            let report = RepointReport(
                host: self.name, writer: request.writer, mode: mode, action: action, replicating: replicating,
                status: status, duration: self.clock.now - started
            )
            self.logger.info(
                "repointed replication by GTID",
                metadata: [
                    LogKey.host: "\(self.name)", LogKey.writer: "\(request.writer)",
                    LogKey.repointMode: "\(mode.rawValue)", LogKey.repointAction: "\(action)",
                    LogKey.repointReplicating: "\(replicating)", LogKey.durationMilliseconds: "\(report.duration.milliseconds)",
                ]
            )
            return report
        }
    }

    /// How long both threads must be seen running without error before a repoint counts as replicating.
    static let settle = Duration.milliseconds(500)

    /// Watches the connection after a start until both threads run, a thread fails, or the watch time passes.
    private func confirm(
        _ request: RepointRequest,
        on connection: MariaDBConnection,
        budget: DeadlineBudget,
        mode: GTIDStartPosition
    ) async throws -> (ReplicaStatus?, Bool) {
        guard request.confirmWithin > .zero else { return (nil, false) }
        var end = min(self.clock.now + request.confirmWithin, budget.end)
        var last: ReplicaStatus?
        var healthySince: MonitorInstant?
        while true {
            _ = try budget.remaining()
            let statuses = try await connection.replicaStatusesSettled()
            guard let status = statuses.first(where: { $0.connectionName == request.connectionName })
            else {
                throw MMMError(
                    .unexpectedResult,
                    "repointing \(self.name) to \(request.writer): the replication connection '\(request.connectionName)' disappeared after CHANGE MASTER; someone ran RESET SLAVE ALL concurrently?"
                )
            }
            last = status
            if status.lastSQLErrno != 0 && !status.sqlThreadRunning {
                throw MMMError(
                    .queryFailed,
                    "repointing \(self.name) to \(request.writer): its SQL thread stopped with error \(status.lastSQLErrno): \(status.lastSQLError); REPLICATION_FAIL: compare its GTID state with the writer's before repairing",
                    cause: MariaDBServerError(number: UInt32(clamping: status.lastSQLErrno), sqlState: "", text: status.lastSQLError)
                )
            }
            if status.lastIOErrno != 0 && status.ioThread == .no {
                let refused = status.lastIOErrno == Int(MariaDBErrorNumber.masterFatalReadingBinlog)
                let advice =
                    refused
                    ? "\(request.writer) refused \(self.name): with MASTER_USE_GTID=\(mode.rawValue) it asked for GTIDs that are not in \(request.writer)'s binlog, so \(self.name) holds transactions \(request.writer) lacks (errant, R2) or is ahead of it (R12); it must not join: list its errant GTIDs (compare gtid_binlog_state) and let an operator decide"
                    : "check the replication account, the network and \(request.writer)'s error log"
                throw MMMError(
                    .queryFailed,
                    "repointing \(self.name) to \(request.writer): its IO thread stopped with error \(status.lastIOErrno): \(status.lastIOError); \(advice)",
                    cause: MariaDBServerError(number: UInt32(clamping: status.lastIOErrno), sqlState: "", text: status.lastIOError)
                )
            }
            if status.ioThread == .yes && status.sqlThreadRunning {
                // The IO thread shows Yes once connected, before the master answers the GTID request, so a refusal
                // (1236) can follow a few milliseconds later: only a Yes that lasts proves the master accepted.
                let now = self.clock.now
                let since = healthySince ?? now
                healthySince = since
                if now - since >= Self.settle { return (status, true) }
                end = max(end, min(since + Self.settle, budget.end))
            } else {
                healthySince = nil
            }
            guard self.clock.now < end else { return (last, false) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
