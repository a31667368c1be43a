import Logging
import MMMCore
import MMMSystem
import MariaDBClient

/// What ``WriteControl/drain(_:)`` waits for.
public struct DrainRequest: Sendable, Hashable {
    /// The old writer's name, for messages (e.g. `db1`).
    public var oldWriter: String
    /// The old writer's address as the candidate's replication connection names it (`Master_Host`).
    public var oldWriterHost: String
    /// The old writer's port (`Master_Port`).
    public var oldWriterPort: Int
    /// The bound of the whole drain, connects included.
    public var timeout: Duration
    /// The old writer's `@@gtid_binlog_pos`, read after it was fenced, when it is reachable (switchover: zero loss).
    /// The candidate then also waits until it has applied all of it. `nil` after a crash.
    public var targetPosition: GTIDPosition?
    /// The longest single `MASTER_GTID_WAIT`; between two, the drain re-reads the replication status (a new
    /// `Gtid_IO_Pos`, a broken SQL thread).
    public var waitSlice: Duration

    /// Creates a request.
    public init(
        oldWriter: String,
        oldWriterHost: String,
        oldWriterPort: Int = 3306,
        timeout: Duration,
        targetPosition: GTIDPosition? = nil,
        waitSlice: Duration = .seconds(1)
    ) {
        self.oldWriter = oldWriter
        self.oldWriterHost = oldWriterHost
        self.oldWriterPort = oldWriterPort
        self.timeout = timeout
        self.targetPosition = targetPosition
        self.waitSlice = waitSlice
    }
}

/// How a drain ended.
public enum DrainResult: Sendable, Hashable {
    /// Everything received from the old writer (and the target position, if one was given) is applied.
    case drained
    /// Not everything is applied; the reason says what is missing and why.
    case notDrained(reason: String)
    /// The SQL thread stopped with an error (`Last_SQL_Errno`): `REPLICATION_FAIL`, never promote (invariant 5).
    case replicationBroken(sqlErrno: Int, sqlError: String)
}

/// What ``WriteControl/drain(_:)`` found.
public struct DrainReport: Sendable, Hashable {
    /// The candidate's name.
    public var host: String
    /// The old writer's name.
    public var oldWriter: String
    /// The replication connection from the old writer (`Connection_name`; empty for the default connection).
    public var connectionName: String
    /// How the drain ended.
    public var result: DrainResult
    /// `Gtid_IO_Pos` of that connection when the drain ended: what reached the relay log.
    public var received: GTIDPosition
    /// `gtid_slave_pos` when the drain ended: what the SQL thread applied.
    public var applied: GTIDPosition
    /// The target position that was asked for, if any.
    public var target: GTIDPosition?
    /// Whether the drain ran `START SLAVE SQL_THREAD` (the SQL thread was stopped while the IO thread ran).
    public var startedSQLThread: Bool
    /// How long the drain took.
    public var duration: Duration
    /// True when both replication threads were found stopped with unapplied relay log: the drain started nothing,
    /// because any START would delete that relay log (R3).
    public var relayLogAtRisk: Bool

    /// Whether the result is ``DrainResult/drained``.
    public var isDrained: Bool {
        if case .drained = self.result { return true }
        return false
    }
}

extension WriteControl {
    /// Waits, bounded by ``DrainRequest/timeout``, until this server (a candidate writer) has applied everything it
    /// received from the old writer, and the old writer's whole `gtid_binlog_pos` when ``DrainRequest/targetPosition``
    /// is given (invariant 2).
    ///
    /// The sequence (`docs/write-control.md`): read `SHOW ALL SLAVES STATUS` for the connection from the old writer;
    /// a `Last_SQL_Errno` ends the drain as ``DrainResult/replicationBroken(sqlErrno:sqlError:)``; if the SQL thread is
    /// stopped while the IO thread runs (or connects), `START SLAVE SQL_THREAD`, which keeps the relay log (R3); then
    /// `MASTER_GTID_WAIT('<Gtid_IO_Pos>', slice)` (R4, R5) on a connection whose read timeout exceeds the slice, until
    /// it returns 0 and the re-read `Gtid_IO_Pos` has not grown. The drain never stops a thread. If both threads are
    /// stopped with unapplied relay log, it starts nothing, since any START would delete that relay log (R3), and
    /// reports ``DrainResult/notDrained(reason:)``.
    ///
    /// The waiting ends at the timeout; the status read that follows may take up to 2 s more, so the call returns
    /// within `timeout + 2 s`.
    ///
    /// - Returns: the report; only ``DrainReport/isDrained`` allows a promotion.
    /// - Throws: ``MMMError`` naming the server when it cannot be asked (connect, privileges, deadline of one
    ///   statement), or ``MMMError/Code/invalidArgument`` when it has no replication connection from the old writer.
    public func drain(_ request: DrainRequest) async throws -> DrainReport {
        let started = self.clock.now
        // Statements get a short grace beyond the timeout, so that the status read after the last wait slice can
        // still report "not drained" with positions instead of failing; the waiting itself ends at the timeout.
        let budget = DeadlineBudget(
            request.timeout + Self.drainReadGrace, what: "draining \(self.name) from \(request.oldWriter)",
            clock: self.clock
        )
        guard request.waitSlice > .zero else {
            throw MMMError(.invalidArgument, "drain of \(self.name): waitSlice must be positive, got \(request.waitSlice)")
        }
        return try await self.server.withConnection(readTimeout: Self.drainReadGrace, within: budget) { status in
            try await self.server.withConnection(readTimeout: request.waitSlice + .seconds(2), within: budget) { waiter in
                try await self.drainLoop(request, budget: budget, started: started, status: status, waiter: waiter)
            }
        }
    }

    /// How long one status read of the drain may take; the drain returns at most this long after its timeout.
    static let drainReadGrace = Duration.seconds(2)

    private func drainLoop(
        _ request: DrainRequest,
        budget: DeadlineBudget,
        started: MonitorInstant,
        status statusConnection: MariaDBConnection,
        waiter: MariaDBConnection
    ) async throws -> DrainReport {
        var startedSQLThread = false
        var lastWaitedFor: GTIDPosition?
        while true {
            let replica = try await self.replicaStatus(from: request, on: statusConnection)
            var ownBinlog = GTIDPosition()
            if request.targetPosition != nil {
                let row = try await statusConnection.query("SELECT @@gtid_binlog_pos AS pos", within: budget)
                    .singleRow("gtid_binlog_pos")
                ownBinlog = try GTIDPosition(parsing: try row.string("pos") ?? "")
            }
            let snapshot = DrainSnapshot(
                ioThread: replica.ioThread, sqlThreadRunning: replica.sqlThreadRunning, sqlErrno: replica.lastSQLErrno,
                received: replica.gtidIOPos, applied: replica.gtidSlavePos, ownBinlog: ownBinlog,
                target: request.targetPosition
            )
            func report(_ result: DrainResult) -> DrainReport {
                DrainReport(
                    host: self.name, oldWriter: request.oldWriter, connectionName: replica.connectionName,
                    result: result, received: replica.gtidIOPos, applied: replica.gtidSlavePos,
                    target: request.targetPosition, startedSQLThread: startedSQLThread,
                    duration: self.clock.now - started, relayLogAtRisk: snapshot.nextStep == .stuckBothStopped
                )
            }
            switch snapshot.nextStep {
            case .broken:
                let result = DrainResult.replicationBroken(sqlErrno: replica.lastSQLErrno, sqlError: replica.lastSQLError)
                self.log(report(result))
                return report(result)
            case .drained:
                self.log(report(.drained))
                return report(.drained)
            case .stuckBothStopped:
                let result = DrainResult.notDrained(
                    reason: "both replication threads of \(self.name) from \(request.oldWriter) are stopped with unapplied relay log (received \(replica.gtidIOPos), applied \(replica.gtidSlavePos)); starting either thread would delete that relay log (R3), so nothing was started; rescue it with CHANGE MASTER TO RELAY_LOG_FILE/RELAY_LOG_POS and START SLAVE SQL_THREAD (docs/write-control.md), or choose another candidate"
                )
                self.log(report(result))
                return report(result)
            case .startSQLThread:
                guard !startedSQLThread else {
                    // Started once and stopped again without an error number: do not loop on it.
                    let result = DrainResult.notDrained(
                        reason: "the SQL thread of \(self.name) stopped again after START SLAVE SQL_THREAD without an error; see its error log"
                    )
                    self.log(report(result))
                    return report(result)
                }
                _ = try budget.remaining()
                try await statusConnection.startReplica(connectionName: replica.connectionName, threads: .sql)
                startedSQLThread = true
                self.logger.info(
                    "drain: started the SQL thread (the IO thread still runs, so the relay log is kept)",
                    metadata: [LogKey.host: "\(self.name)", LogKey.oldWriter: "\(request.oldWriter)"]
                )
                continue
            case .wait(let position):
                let left = started + request.timeout - self.clock.now
                guard left > .zero else {
                    let waited = lastWaitedFor.map { " (waited for \($0))" } ?? ""
                    let result = DrainResult.notDrained(
                        reason: "\(self.name) did not apply everything from \(request.oldWriter) within \(request.timeout)\(waited): received \(replica.gtidIOPos), applied \(replica.gtidSlavePos)\(request.targetPosition.map { ", target \($0)" } ?? ""); its SQL thread is slow or blocked (a row lock? see SHOW PROCESSLIST), or it never received the target"
                    )
                    self.log(report(result))
                    return report(result)
                }
                lastWaitedFor = position
                // The result is not trusted alone: the loop re-reads the status, so a Gtid_IO_Pos that grew meanwhile
                // is waited for too.
                _ = try await waiter.masterGTIDWait(position, timeout: min(request.waitSlice, left))
            }
        }
    }

    /// The replication connection from the old writer, found by `Master_Host` and `Master_Port`.
    private func replicaStatus(from request: DrainRequest, on connection: MariaDBConnection) async throws -> ReplicaStatus {
        let statuses = try await connection.replicaStatusesSettled()
        guard
            let status = statuses.first(where: {
                $0.masterHost == request.oldWriterHost && $0.masterPort == request.oldWriterPort
            })
        else {
            let others = statuses.map { "'\($0.connectionName)' from \($0.masterHost):\($0.masterPort)" }
            throw MMMError(
                .invalidArgument,
                "\(self.name) has no replication connection from \(request.oldWriter) (\(request.oldWriterHost):\(request.oldWriterPort)); it has \(others.isEmpty ? "none" : others.joined(separator: ", ")); it cannot be drained from that writer: check the writer's address or choose another candidate"
            )
        }
        return status
    }

    private func log(_ report: DrainReport) {
        self.logger.info(
            "drain finished",
            metadata: [
                LogKey.host: "\(report.host)", LogKey.oldWriter: "\(report.oldWriter)",
                LogKey.drainResult: "\(report.result)", LogKey.gtidReceived: "\(report.received)",
                LogKey.gtidApplied: "\(report.applied)", LogKey.drainStartedSQLThread: "\(report.startedSQLThread)",
                LogKey.durationMilliseconds: "\(report.duration.milliseconds)",
            ]
        )
    }
}

/// One reading of a candidate's replication from the old writer, and the drain's next step: a pure decision.
public struct DrainSnapshot: Sendable, Hashable {
    /// What the drain does next.
    public enum Step: Sendable, Hashable {
        /// Everything is applied.
        case drained
        /// `Last_SQL_Errno` is set: replication is broken.
        case broken
        /// The SQL thread is stopped while the IO thread runs or connects: `START SLAVE SQL_THREAD` (keeps the relay
        /// log, R3).
        case startSQLThread
        /// Both threads are stopped and relay log is unapplied: start nothing (R3).
        case stuckBothStopped
        /// `MASTER_GTID_WAIT` for this position.
        case wait(GTIDPosition)
    }

    /// `Slave_IO_Running`.
    public var ioThread: ReplicaStatus.IOThreadState
    /// `Slave_SQL_Running` is `Yes`.
    public var sqlThreadRunning: Bool
    /// `Last_SQL_Errno`.
    public var sqlErrno: Int
    /// `Gtid_IO_Pos`.
    public var received: GTIDPosition
    /// `gtid_slave_pos`.
    public var applied: GTIDPosition
    /// The candidate's own `gtid_binlog_pos` (only needed with a target).
    public var ownBinlog: GTIDPosition
    /// The old writer's `gtid_binlog_pos`, when it was reachable.
    public var target: GTIDPosition?

    /// Creates a snapshot.
    public init(
        ioThread: ReplicaStatus.IOThreadState,
        sqlThreadRunning: Bool,
        sqlErrno: Int,
        received: GTIDPosition,
        applied: GTIDPosition,
        ownBinlog: GTIDPosition = GTIDPosition(),
        target: GTIDPosition? = nil
    ) {
        self.ioThread = ioThread
        self.sqlThreadRunning = sqlThreadRunning
        self.sqlErrno = sqlErrno
        self.received = received
        self.applied = applied
        self.ownBinlog = ownBinlog
        self.target = target
    }

    /// The position still to be applied: `Gtid_IO_Pos` (R4), plus each GTID of the target that neither
    /// `gtid_slave_pos` nor the candidate's own binlog holds. The candidate's own writes never reach
    /// `gtid_slave_pos` (R5), so a target domain it already holds in its binlog is left out of the wait.
    public var pending: GTIDPosition {
        var wanted = self.received
        if let target = self.target {
            let held = self.applied.merging(self.ownBinlog)
            for gtid in target.gtids where !held.contains(gtid) {
                // Force-try: a position built from one GTID cannot repeat a domain.
                wanted.merge(try! GTIDPosition([gtid]))
            }
        }
        return wanted
    }

    /// The next step; never one that stops a thread.
    public var nextStep: Step {
        if self.sqlErrno != 0 { return .broken }
        let pending = self.pending
        if self.applied.contains(pending) { return .drained }
        if !self.sqlThreadRunning {
            return self.ioThread == .no ? .stuckBothStopped : .startSQLThread
        }
        return .wait(pending)
    }
}
