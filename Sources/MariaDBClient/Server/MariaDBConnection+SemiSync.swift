import MMMCore

extension SemiSyncSetting {
    /// The `SET GLOBAL` statement, after checking the value: every part of it is a constant of this code or a
    /// range-checked integer, never caller text.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a timeout of 0 ms (MariaDB would not wait at all).
    public func sql() throws(MMMError) -> String {
        switch self {
        case .masterEnabled(let on):
            return "SET GLOBAL rpl_semi_sync_master_enabled=\(on ? "ON" : "OFF")"
        case .masterWaitPoint(let point):
            return "SET GLOBAL rpl_semi_sync_master_wait_point=\(point.rawValue)"
        case .masterTimeout(let milliseconds):
            guard milliseconds >= 1 else {
                throw MMMError(.invalidArgument, "semi-sync timeout 0 ms would make every commit return without an ACK; use at least 1 ms")
            }
            return "SET GLOBAL rpl_semi_sync_master_timeout=\(milliseconds)"
        case .masterWaitNoSlave(let on):
            return "SET GLOBAL rpl_semi_sync_master_wait_no_slave=\(on ? "ON" : "OFF")"
        case .slaveEnabled(let on):
            return "SET GLOBAL rpl_semi_sync_slave_enabled=\(on ? "ON" : "OFF")"
        }
    }
}

/// Semi-sync counters of a server (`SHOW GLOBAL STATUS`), for logs and tests.
public struct SemiSyncCounters: Sendable, Hashable {
    /// `Rpl_semi_sync_master_yes_tx`: commits ACKed by a replica.
    public var masterYesTransactions: UInt64
    /// `Rpl_semi_sync_master_no_tx`: commits that returned without an ACK (timeout or killed waiter).
    public var masterNoTransactions: UInt64
    /// `Rpl_semi_sync_master_no_times`: how often the master fell back to async.
    public var masterNoTimes: UInt64
}

extension MariaDBConnection {
    /// Runs one semi-sync `SET GLOBAL` (see ``MMMCore/SemiSyncSetting``).
    public func setSemiSync(_ setting: SemiSyncSetting) async throws {
        _ = try await self.query(try setting.sql())
    }

    /// Releases every commit waiting for an ACK: `rpl_semi_sync_master_enabled` OFF (MariaDB switches semi-sync off
    /// and wakes the waiters, which return to their clients un-ACKed), then ON again (the next commits wait).
    public func releaseSemiSyncWaiters() async throws {
        try await self.setSemiSync(.masterEnabled(false))
        try await self.setSemiSync(.masterEnabled(true))
    }

    /// Reads the semi-sync variables and status, and the default replication connection's threads, for
    /// ``MMMCore/SemiSyncPlanner``.
    public func semiSyncObservation() async throws -> SemiSyncObservation {
        let row = try await self.query(
            """
            SELECT @@global.rpl_semi_sync_master_enabled AS master_enabled, \
            @@global.rpl_semi_sync_master_wait_point AS wait_point, \
            @@global.rpl_semi_sync_master_timeout AS timeout_ms, \
            @@global.rpl_semi_sync_master_wait_no_slave AS wait_no_slave, \
            @@global.rpl_semi_sync_slave_enabled AS slave_enabled
            """
        ).singleRow("the semi-sync variables")
        let counters = try await self.semiSyncStatus()
        let source = try await self.replicaStatuses().first { $0.connectionName.isEmpty }
        // Client sessions only: a replication SQL thread whose applied transaction waits (an old writer that follows the
        // new one while its master side is still on) acknowledges nothing to anyone.
        let waiting = try await self.query(
            """
            SELECT COUNT(*) AS sessions, CAST(COALESCE(MAX(TIME_MS), 0) AS UNSIGNED) AS longest FROM information_schema.PROCESSLIST \
            WHERE STATE = 'Waiting for semi-sync ACK from slave' AND COMMAND NOT IN ('Slave_SQL', 'Slave_worker')
            """
        ).singleRow("the client sessions waiting for a semi-sync ACK")
        return SemiSyncObservation(
            masterEnabled: try row.bool("master_enabled") ?? false,
            waitPoint: SemiSyncWaitPoint(rawValue: (try row.string("wait_point") ?? "").uppercased()),
            timeoutMilliseconds: try row.uint64("timeout_ms") ?? 0,
            masterWaitNoSlave: try row.bool("wait_no_slave") ?? true,
            slaveEnabled: try row.bool("slave_enabled") ?? false,
            masterActive: counters["Rpl_semi_sync_master_status"] == "ON",
            masterClients: Int(counters["Rpl_semi_sync_master_clients"] ?? "0") ?? 0,
            masterWaitSessions: try waiting.int("sessions") ?? 0,
            longestACKWaitMilliseconds: try waiting.uint64("longest") ?? 0,
            slaveActive: counters["Rpl_semi_sync_slave_status"] == "ON",
            ioThreadConnected: source?.ioThread == .yes,
            sqlThreadRunning: source?.sqlThreadRunning ?? false
        )
    }

    /// Reads the semi-sync transaction counters.
    public func semiSyncCounters() async throws -> SemiSyncCounters {
        let counters = try await self.semiSyncStatus()
        func number(_ name: String) -> UInt64 { UInt64(counters[name] ?? "0") ?? 0 }
        return SemiSyncCounters(
            masterYesTransactions: number("Rpl_semi_sync_master_yes_tx"),
            masterNoTransactions: number("Rpl_semi_sync_master_no_tx"),
            masterNoTimes: number("Rpl_semi_sync_master_no_times")
        )
    }

    /// Restarts the IO thread of the default replication connection alone, so that it reconnects and picks up
    /// `rpl_semi_sync_slave_enabled`.
    ///
    /// Refuses unless the SQL thread runs: with both threads stopped, the next start of any thread deletes the relay
    /// log in GTID mode (rule R3); restarting only the IO thread while the SQL thread runs keeps it.
    ///
    /// - Throws: ``MMMError/Code/invalidTransition`` when the SQL thread is not running or there is no default
    ///   connection; client errors as reported.
    public func restartReplicaIOThread(deadline: Duration = .seconds(5)) async throws {
        guard let source = try await self.replicaStatuses().first(where: { $0.connectionName.isEmpty }),
            source.sqlThreadRunning
        else {
            throw MMMError(
                .invalidTransition,
                "not restarting the IO thread on \(self.configuration.endpointDescription): its SQL thread is not running, and with both threads stopped the relay log would be lost (rule R3); start the SQL thread first"
            )
        }
        try await self.stopReplica(threads: .io, deadline: deadline)
        try await self.startReplica(threads: .io)
    }

    private func semiSyncStatus() async throws -> [String: String] {
        let status = try await self.query("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'")
        var counters: [String: String] = [:]
        for row in status.rows {
            if let name = try row.string("Variable_name") { counters[name] = try row.string("Value") }
        }
        return counters
    }
}
