/// `rpl_semi_sync_master_wait_point`.
public enum SemiSyncWaitPoint: String, Sendable, Hashable, CaseIterable {
    /// The commit waits for the ACK after the binlog is synced and before the engine commit: other sessions do not
    /// see an un-ACKed row (failover facts §6.2). The zero-loss policy uses this one.
    case afterSync = "AFTER_SYNC"
    /// MariaDB's default: the engine commits first, so other sessions see rows that were never ACKed.
    case afterCommit = "AFTER_COMMIT"
}

/// One semi-sync server variable with the value to give it (`SET GLOBAL`). MariaDBClient renders and validates the
/// statement (`SemiSyncSetting.sql()`).
public enum SemiSyncSetting: Sendable, Hashable {
    /// `rpl_semi_sync_master_enabled`.
    case masterEnabled(Bool)
    /// `rpl_semi_sync_master_wait_point`.
    case masterWaitPoint(SemiSyncWaitPoint)
    /// `rpl_semi_sync_master_timeout`, in milliseconds (1 to 3 600 000).
    case masterTimeout(milliseconds: UInt32)
    /// `rpl_semi_sync_master_wait_no_slave`: OFF lets a commit return at once while no semi-sync replica is connected.
    case masterWaitNoSlave(Bool)
    /// `rpl_semi_sync_slave_enabled`; the IO thread picks it up only when it (re)connects.
    case slaveEnabled(Bool)
}

/// The semi-sync state of one server, with what the planner needs of its default replication connection.
public struct SemiSyncObservation: Sendable, Hashable {
    /// `@@rpl_semi_sync_master_enabled`.
    public var masterEnabled: Bool
    /// `@@rpl_semi_sync_master_wait_point`; nil for a value this code does not know.
    public var waitPoint: SemiSyncWaitPoint?
    /// `@@rpl_semi_sync_master_timeout` in milliseconds.
    public var timeoutMilliseconds: UInt64
    /// `@@rpl_semi_sync_master_wait_no_slave` (MariaDB's default ON: a commit waits the timeout even with no
    /// semi-sync replica connected).
    public var masterWaitNoSlave: Bool
    /// `@@rpl_semi_sync_slave_enabled`.
    public var slaveEnabled: Bool
    /// Status `Rpl_semi_sync_master_status`: ON while the master waits for ACKs (OFF after a timeout fell back to
    /// async, until a replica catches up).
    public var masterActive: Bool
    /// Status `Rpl_semi_sync_master_clients`: connected semi-sync replicas.
    public var masterClients: Int
    /// Client sessions whose commit waits for an ACK now (`information_schema.PROCESSLIST`, state `Waiting for
    /// semi-sync ACK from slave`, replication threads left out: releasing those acknowledges nothing to anyone).
    public var masterWaitSessions: Int
    /// How long the oldest of those commits has waited, in milliseconds; 0 when none waits.
    public var longestACKWaitMilliseconds: UInt64
    /// Status `Rpl_semi_sync_slave_status`: this server's IO thread ACKs what it receives.
    public var slaveActive: Bool
    /// The default replication connection's IO thread is `Yes` (connected to its master).
    public var ioThreadConnected: Bool
    /// The default replication connection's SQL thread runs.
    public var sqlThreadRunning: Bool

    /// Creates an observation; the defaults are a server with semi-sync off that replicates from nobody.
    public init(
        masterEnabled: Bool = false,
        waitPoint: SemiSyncWaitPoint? = .afterCommit,
        timeoutMilliseconds: UInt64 = 10_000,
        masterWaitNoSlave: Bool = true,
        slaveEnabled: Bool = false,
        masterActive: Bool = false,
        masterClients: Int = 0,
        masterWaitSessions: Int = 0,
        longestACKWaitMilliseconds: UInt64 = 0,
        slaveActive: Bool = false,
        ioThreadConnected: Bool = false,
        sqlThreadRunning: Bool = false
    ) {
        self.masterEnabled = masterEnabled
        self.waitPoint = waitPoint
        self.timeoutMilliseconds = timeoutMilliseconds
        self.masterWaitNoSlave = masterWaitNoSlave
        self.slaveEnabled = slaveEnabled
        self.masterActive = masterActive
        self.masterClients = masterClients
        self.masterWaitSessions = masterWaitSessions
        self.longestACKWaitMilliseconds = longestACKWaitMilliseconds
        self.slaveActive = slaveActive
        self.ioThreadConnected = ioThreadConnected
        self.sqlThreadRunning = sqlThreadRunning
    }
}

extension SemiSyncObservation: CustomStringConvertible {
    /// One line for the logs, e.g. `master ON (active, clients 1, AFTER_SYNC, timeout 10000 ms), slave ON (active)`.
    public var description: String {
        let master =
            self.masterEnabled
            ? "ON (\(self.masterActive ? "active" : "fallen back to async"), clients \(self.masterClients), "
                + "\(self.waitPoint?.rawValue ?? "unknown wait point"), timeout \(self.timeoutMilliseconds) ms"
                + "\(self.masterWaitNoSlave ? "" : ", no wait without a replica")"
                + "\(self.masterWaitSessions > 0 ? ", \(self.masterWaitSessions) waiting, oldest \(self.longestACKWaitMilliseconds) ms" : ""))"
            : "OFF"
        let slave = self.slaveEnabled ? "ON (\(self.slaveActive ? "active" : "inactive"))" : "OFF"
        return "master \(master), slave \(slave)"
    }
}

/// One step of keeping semi-sync, in the order ``SemiSyncPlanner/plan(isWriter:mayBecomeWriter:timeoutMilliseconds:promotablePeerUp:observed:lastIORestart:now:)``
/// returns them.
public enum SemiSyncAction: Sendable, Hashable {
    /// `SET GLOBAL` one variable.
    case set(SemiSyncSetting)
    /// `STOP SLAVE IO_THREAD; START SLAVE IO_THREAD` on the default connection while its SQL thread runs, so that the
    /// IO thread reconnects as a semi-sync replica. Never both threads (rule R3: the relay log would be lost).
    case restartIOThread
    /// `SET GLOBAL rpl_semi_sync_master_enabled=OFF`, then `ON`: the commits waiting for an ACK return to their clients
    /// un-ACKed (MariaDB switches semi-sync off, which wakes every waiter; setting `wait_no_slave` or the timeout does
    /// not), and the next commits wait again. The agent does it only inside its writer gate, while its lease still lets
    /// it write: a host that may be an old writer never releases a commit (issue 17).
    case releaseWaitingCommits
}

/// Plans the semi-sync variables of one host under the zero-loss policy (DESIGN.md §4, failover facts §6, R9, R10).
///
/// A pure function, run by the agent in every convergence round after promotion and repointing:
/// - the **writer** (holds the writer role and is writable): `rpl_semi_sync_master_wait_point=AFTER_SYNC`,
///   `rpl_semi_sync_master_timeout` (``strictTimeoutMilliseconds``: MariaDB never falls back by itself) and
///   `rpl_semi_sync_master_wait_no_slave` first, then `rpl_semi_sync_master_enabled=ON`, so that the first commit
///   that waits already waits after the sync; `rpl_semi_sync_slave_enabled=ON` too, so that it ACKs as soon as it
///   loses the role (its IO thread picks it up when it is repointed). `wait_no_slave` is OFF only while no promotable
///   peer is up (`promotablePeerUp`): then no ACK can come, and a commit need not wait for one (bench case 2: a new
///   writer whose only other host was `mode slave` waited on every commit). While a peer is up, ON (MariaDB's
///   default): a commit waits for a replica that disconnected. Commits already waiting are released
///   (``SemiSyncAction/releaseWaitingCommits``) when no promotable peer is up and no replica is connected, or when
///   the oldest has waited `timeoutMilliseconds` (`semi_sync_timeout`): the agent's decision, under a valid lease,
///   where MariaDB's own timeout would also fire for a host frozen past it (issue 17);
/// - **every other host that may become the writer** (it may hold the writer role): `rpl_semi_sync_master_enabled=OFF`
///   first, once no commit waits for an ACK (on an old writer the fence kills those sessions: switching the master
///   side off would return them to their clients as acknowledged) (rule R10: with the master role on, a standby's drain stalled for a whole timeout), then
///   `rpl_semi_sync_slave_enabled=ON`, then, when its IO thread is connected but not ACKing (the variable is read at
///   connect time only), one restart of the IO thread alone while the SQL thread runs (rule R3). The restart is not
///   repeated within ``ioRestartBackoff``, so a replica that stays inactive (e.g. a master that refuses) is not
///   restarted every second;
/// - **a host that can never become the writer** (a `mode slave` replica, or a master not among the writer role's
///   hosts): no semi-sync at all, and an IO thread that still ACKs is restarted at once so that it stops. MariaDB
///   waits for one ACK, from any semi-sync replica; if such a host sent it, the commit was acknowledged to the client
///   while the host that becomes the writer may not have it (DESIGN.md §9.4, bench finding 2).
///
/// Only variables that differ from the target produce an action; a converged host gives an empty plan.
public enum SemiSyncPlanner {
    /// `rpl_semi_sync_master_timeout` on the writer: 2³² − 1 ms (49.7 days), so that MariaDB never falls back to
    /// asynchronous commits by itself. MariaDB measures the timeout in real time, so a commit that waited across a
    /// freeze of the whole host (SIGSTOP, a paused VM) longer than any finite timeout would return to its client at the
    /// wake, before the agent could fence, with the ACK never sent and a new writer already promoted without it
    /// (issue 17). Commits that must not wait for ever are released by the agent instead
    /// (``SemiSyncAction/releaseWaitingCommits``), only while its lease is valid.
    public static let strictTimeoutMilliseconds: UInt32 = .max

    /// The least time between two IO thread restarts planned for the same host.
    public static let ioRestartBackoff: Duration = .seconds(30)

    /// The steps that take `observed` to the zero-loss semi-sync state.
    ///
    /// - Parameters:
    ///   - isWriter: the host holds the writer role and is writable after this round's promotion.
    ///   - mayBecomeWriter: the host is among the writer role's hosts (a candidate of a future promotion).
    ///   - timeoutMilliseconds: `semi_sync_timeout`: how long a commit on the writer may wait for an ACK before the
    ///     agent releases it (MariaDB's own timeout is ``strictTimeoutMilliseconds``).
    ///   - promotablePeerUp: for the writer: a semi-sync replica is connected, or the server of another host that may
    ///     become the writer answers; false when none can send an ACK.
    ///   - lastIORestart: when this host last restarted its IO thread for semi-sync, if ever.
    ///   - now: the current instant, in the same time as `lastIORestart`.
    public static func plan(
        isWriter: Bool,
        mayBecomeWriter: Bool = true,
        timeoutMilliseconds: UInt32,
        promotablePeerUp: Bool = true,
        observed: SemiSyncObservation,
        lastIORestart: MonitorInstant?,
        now: MonitorInstant
    ) -> [SemiSyncAction] {
        var actions: [SemiSyncAction] = []
        if isWriter {
            if !observed.slaveEnabled { actions.append(.set(.slaveEnabled(true))) }
            if observed.waitPoint != .afterSync { actions.append(.set(.masterWaitPoint(.afterSync))) }
            if observed.timeoutMilliseconds != UInt64(Self.strictTimeoutMilliseconds) {
                actions.append(.set(.masterTimeout(milliseconds: Self.strictTimeoutMilliseconds)))
            }
            if observed.masterWaitNoSlave != promotablePeerUp { actions.append(.set(.masterWaitNoSlave(promotablePeerUp))) }
            if !observed.masterEnabled {
                actions.append(.set(.masterEnabled(true)))
            } else if observed.masterWaitSessions > 0,
                (!promotablePeerUp && observed.masterClients == 0) || observed.longestACKWaitMilliseconds >= UInt64(timeoutMilliseconds)
            {
                actions.append(.releaseWaitingCommits)
            }
            return actions
        }
        // A commit still waiting here (an old writer whose fence has not killed it yet) would be acknowledged by
        // switching the master side off: leave it on until the fence has killed every waiter.
        if observed.masterEnabled, observed.masterWaitSessions == 0 { actions.append(.set(.masterEnabled(false))) }
        guard mayBecomeWriter else {
            if observed.slaveEnabled { actions.append(.set(.slaveEnabled(false))) }
            // Stopping the ACKs is what protects the acknowledged writes: no backoff.
            if observed.slaveActive, observed.ioThreadConnected, observed.sqlThreadRunning {
                actions.append(.restartIOThread)
            }
            return actions
        }
        if !observed.slaveEnabled { actions.append(.set(.slaveEnabled(true))) }
        let restartDue = lastIORestart.map { $0.duration(to: now) >= Self.ioRestartBackoff } ?? true
        if observed.ioThreadConnected, observed.sqlThreadRunning, !observed.slaveActive, restartDue {
            actions.append(.restartIOThread)
        }
        return actions
    }
}
