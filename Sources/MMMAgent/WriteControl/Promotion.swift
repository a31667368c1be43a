import Logging
import MMMCore
import MMMDaemon
import MMMSystem
import MariaDBClient

/// How ``WriteControl/promote(_:gate:)`` promotes a server.
public struct PromotionRequest: Sendable, Hashable {
    /// The drain from the old writer. `nil` only when there is no old writer at all (the first writer of a new
    /// cluster): then nothing is drained and nothing is stopped.
    public var drain: DrainRequest?
    /// The bound of each `STOP SLAVE` (it can wait tens of seconds behind a row lock: R8).
    public var stopReplicaDeadline: Duration
    /// The bound of the final check after the IO thread is stopped, and of `read_only=OFF` and its read-back.
    public var stepDeadline: Duration

    /// Creates a request.
    public init(drain: DrainRequest?, stopReplicaDeadline: Duration = .seconds(5), stepDeadline: Duration = .seconds(3)) {
        self.drain = drain
        self.stopReplicaDeadline = stopReplicaDeadline
        self.stepDeadline = stepDeadline
    }
}

/// Serializes the promotion's `read_only=OFF` with whatever takes the writer role away (the agent's fence orders):
/// inside `gate`, `stillWanted` is asked first and its error aborts the promotion before the server turns writable.
public struct WritableGate: Sendable {
    /// The gate the fence orders also pass.
    public var gate: SerialAccess
    /// Throws when the writer role is no longer wanted.
    public var stillWanted: @Sendable () throws -> Void

    /// Creates a gate.
    public init(gate: SerialAccess, stillWanted: @escaping @Sendable () throws -> Void) {
        self.gate = gate
        self.stillWanted = stillWanted
    }
}

/// What ``WriteControl/promote(_:gate:)`` did.
public struct PromotionReport: Sendable, Hashable {
    /// The new writer's name.
    public var host: String
    /// The drain before replication from the old writer was stopped; `nil` without an old writer.
    public var drain: DrainReport?
    /// The check after the IO thread was stopped (everything that arrived until then is applied); `nil` without an
    /// old writer.
    public var finalDrain: DrainReport?
    /// The replication connection that was stopped (it stays configured; `nil` without an old writer).
    public var stoppedConnection: String?
    /// `@@gtid_binlog_pos` when `read_only` went OFF: new writes come after it.
    public var gtidBinlogPos: GTIDPosition
    /// `@@gtid_slave_pos` when `read_only` went OFF: everything applied from the old writer.
    public var gtidSlavePos: GTIDPosition
    /// Time from the start of the call until `read_only` was read back OFF.
    public var duration: Duration
}

extension WriteControl {
    /// Promotes this server (it gains the writer role): drains it, stops its replication from the old writer, sets
    /// `read_only=OFF` and reads it back.
    ///
    /// The sequence (`docs/write-control.md`): ``drain(_:)``; refuse unless drained; `STOP SLAVE IO_THREAD` (the SQL
    /// thread keeps running, so the relay log is kept: R3); drain again for what arrived in the meantime (the old
    /// writer may still be alive in a switchover); `STOP SLAVE` (SQL thread), bounded (R8); `read_only=OFF`. The
    /// connection from the old writer stays configured (not `RESET SLAVE ALL`), so the ring can be closed again when
    /// the old writer rejoins. This call does not fence the old writer nor move a VIP: the caller fences first, so
    /// that at most one server has `read_only=OFF` (invariant 1).
    ///
    /// - Throws: ``MMMError`` naming the server, and leaving `read_only` ON: ``MMMError/Code/timedOut`` when it is
    ///   not drained within the drain timeout (the report's positions are in the message),
    ///   ``MMMError/Code/queryFailed`` with the SQL error as cause (its number in `mariaDBErrorNumber`) when its
    ///   replication is broken (`REPLICATION_FAIL`: never promoted, invariant 5), ``MMMError/Code/invalidTransition``
    ///   when both replication threads are stopped with unapplied relay log, ``MMMError/Code/timedOut`` when
    ///   `STOP SLAVE` outlives its deadline (the IO thread is then stopped, the SQL thread may still run: kill the
    ///   session blocking it and retry), and connection errors.
    public func promote(_ request: PromotionRequest, gate: WritableGate? = nil) async throws -> PromotionReport {
        let started = self.clock.now
        var drainReport: DrainReport?
        var finalDrain: DrainReport?
        var stoppedConnection: String?
        if let drainRequest = request.drain {
            let first = try await self.drain(drainRequest)
            try self.requireDrained(first, for: drainRequest)
            drainReport = first
            let stopBudget = DeadlineBudget(request.stopReplicaDeadline, what: "STOP SLAVE IO_THREAD on \(self.name)", clock: self.clock)
            try await self.server.withConnection(readTimeout: request.stopReplicaDeadline, within: stopBudget) {
                connection in
                try await self.stopReplica(connection, first.connectionName, .io, request.stopReplicaDeadline)
            }
            // The IO thread is stopped, the SQL thread runs: whatever arrived since the drain is applied now (R3 keeps
            // the relay log in this state).
            var finalRequest = drainRequest
            finalRequest.timeout = request.stepDeadline
            let final = try await self.drain(finalRequest)
            try self.requireDrained(final, for: finalRequest)
            finalDrain = final
            let sqlBudget = DeadlineBudget(request.stopReplicaDeadline, what: "STOP SLAVE on \(self.name)", clock: self.clock)
            try await self.server.withConnection(readTimeout: request.stopReplicaDeadline, within: sqlBudget) {
                connection in
                // The connection stays configured but stopped: the writer replicates from nobody until the monitor
                // closes the ring again after checking the peer's GTIDs (a returning old writer may carry transactions
                // that must not flow back; `skip-slave-start` keeps it stopped across a restart, R11). No RESET SLAVE:
                // it needs RELOAD, which MMM's agent grants lack (bench finding 3), and nothing requires it.
                try await self.stopReplica(connection, first.connectionName, .both, request.stopReplicaDeadline)
            }
            stoppedConnection = first.connectionName
        }

        let budget = DeadlineBudget(request.stepDeadline, what: "read_only=OFF on \(self.name)", clock: self.clock)
        let turnWritable = { @Sendable () async throws -> (binlog: GTIDPosition, slave: GTIDPosition) in
            try await self.turnWritable(request, budget)
        }
        let positions: (binlog: GTIDPosition, slave: GTIDPosition)
        if let gate {
            positions = try await gate.gate.run {
                try gate.stillWanted()
                return try await turnWritable()
            }
        } else {
            positions = try await turnWritable()
        }
        let report = PromotionReport(
            host: self.name, drain: drainReport, finalDrain: finalDrain, stoppedConnection: stoppedConnection,
            gtidBinlogPos: positions.binlog, gtidSlavePos: positions.slave, duration: self.clock.now - started
        )
        self.logger.info(
            "promoted: read_only is OFF",
            metadata: [
                LogKey.host: "\(self.name)", LogKey.oldWriter: "\(request.drain?.oldWriter ?? "none")",
                LogKey.gtidBinlogPosition: "\(report.gtidBinlogPos)", LogKey.gtidSlavePosition: "\(report.gtidSlavePos)",
                LogKey.drainMilliseconds: "\(drainReport?.duration.milliseconds ?? 0)",
                LogKey.durationMilliseconds: "\(report.duration.milliseconds)",
            ]
        )
        return report
    }

    /// `SET GLOBAL read_only=OFF`, read back, with the GTID positions at that moment.
    private func turnWritable(
        _ request: PromotionRequest, _ budget: DeadlineBudget
    ) async throws -> (binlog: GTIDPosition, slave: GTIDPosition) {
        try await self.server.withConnection(readTimeout: request.stepDeadline, within: budget) {
            connection in
            _ = try await connection.query("SET GLOBAL read_only=OFF", within: budget)
            let row = try await connection.query(
                "SELECT @@global.read_only AS read_only, @@gtid_binlog_pos AS binlog, @@gtid_slave_pos AS slave",
                within: budget
            ).singleRow("read_only and GTID positions")
            guard try row.bool("read_only") == false else {
                throw MMMError(
                    .unexpectedResult,
                    "promoting \(self.name): SET GLOBAL read_only=OFF succeeded but read_only reads back ON; something turned it on again (another manager or an operator?)"
                )
            }
            return (
                binlog: try GTIDPosition(parsing: try row.string("binlog") ?? ""),
                slave: try GTIDPosition(parsing: try row.string("slave") ?? "")
            )
        }
    }

    /// Throws the refusal that matches a drain that did not end drained.
    private func requireDrained(_ report: DrainReport, for request: DrainRequest) throws {
        switch report.result {
        case .drained:
            return
        case .notDrained(let reason):
            if report.relayLogAtRisk {
                throw MMMError(.invalidTransition, "refusing to promote \(self.name): \(reason); read_only stays ON")
            }
            throw MMMError(.timedOut, "refusing to promote \(self.name): \(reason); read_only stays ON")
        case .replicationBroken(let errno, let error):
            throw MMMError(
                .queryFailed,
                "refusing to promote \(self.name): its replication from \(request.oldWriter) is broken (Last_SQL_Errno \(errno): \(error)); a host in REPLICATION_FAIL is never promoted (invariant 5): repair its replication or choose another candidate; read_only stays ON",
                cause: MariaDBServerError(number: UInt32(clamping: errno), sqlState: "", text: error)
            )
        }
    }

    /// `STOP SLAVE` bounded by `deadline`, with a message that says what to do when it hangs (R8).
    private func stopReplica(
        _ connection: MariaDBConnection,
        _ connectionName: String,
        _ threads: ReplicationThreads,
        _ deadline: Duration
    ) async throws {
        do {
            try await connection.stopReplica(connectionName: connectionName, threads: threads, deadline: deadline)
        } catch let error as MMMError where error.code == .timedOut {
            throw MMMError(
                .timedOut,
                "refusing to promote \(self.name): STOP SLAVE\(threads == .io ? " IO_THREAD" : "") did not finish within \(deadline) (R8: the SQL thread may wait on a row lock held by a local session; kill that session and retry); read_only stays ON",
                cause: error
            )
        }
    }
}
