import MMMCore
import MariaDBClient

/// What a repoint does, decided from the host's current replication connection: a pure decision.
public enum RepointAction: Sendable, Hashable {
    /// Already following the writer with the wanted account and mode, both threads running: nothing to do.
    case unchanged
    /// Configured for the writer as wanted, but a thread is stopped: `START SLAVE`.
    case start
    /// Following someone else, another account or another mode, or nobody: `STOP SLAVE`, `CHANGE MASTER TO` by
    /// GTID, `START SLAVE`.
    case changeMaster
}

/// The replication a host has and the one it should have; ``action`` says what to run.
public struct RepointPlan: Sendable, Hashable {
    /// The part of a replication connection the decision looks at.
    public struct Source: Sendable, Hashable {
        /// `Master_Host`.
        public var host: String
        /// `Master_Port`.
        public var port: Int
        /// `Master_User`.
        public var user: String
        /// `Using_Gtid`.
        public var mode: ReplicaStatus.GTIDMode
        /// `Slave_IO_Running` is `Yes` or `Connecting`.
        public var ioThreadRunning: Bool
        /// `Slave_SQL_Running` is `Yes`.
        public var sqlThreadRunning: Bool
        /// `Last_IO_Errno`.
        public var lastIOErrno: Int
        /// `Last_SQL_Errno`.
        public var lastSQLErrno: Int

        /// Creates a source.
        public init(
            host: String,
            port: Int,
            user: String,
            mode: ReplicaStatus.GTIDMode,
            ioThreadRunning: Bool,
            sqlThreadRunning: Bool,
            lastIOErrno: Int = 0,
            lastSQLErrno: Int = 0
        ) {
            self.host = host
            self.port = port
            self.user = user
            self.mode = mode
            self.ioThreadRunning = ioThreadRunning
            self.sqlThreadRunning = sqlThreadRunning
            self.lastIOErrno = lastIOErrno
            self.lastSQLErrno = lastSQLErrno
        }

        /// The fields of one `SHOW ALL SLAVES STATUS` row.
        public init(_ status: ReplicaStatus) {
            self.init(
                host: status.masterHost, port: status.masterPort, user: status.masterUser, mode: status.usingGTID,
                ioThreadRunning: status.ioThread != .no, sqlThreadRunning: status.sqlThreadRunning,
                lastIOErrno: status.lastIOErrno, lastSQLErrno: status.lastSQLErrno
            )
        }
    }

    /// The host's connection now, `nil` when it has none of that name.
    public var current: Source?
    /// The writer's address.
    public var writerHost: String
    /// The writer's port.
    public var writerPort: Int
    /// The writer's replication account.
    public var replicationUser: String
    /// The wanted `MASTER_USE_GTID`.
    public var mode: GTIDStartPosition

    /// Creates a plan.
    public init(
        current: Source?,
        writerHost: String,
        writerPort: Int,
        replicationUser: String,
        mode: GTIDStartPosition
    ) {
        self.current = current
        self.writerHost = writerHost
        self.writerPort = writerPort
        self.replicationUser = replicationUser
        self.mode = mode
    }

    /// What to run. Idempotent: a host already following the writer as wanted needs ``RepointAction/unchanged``.
    ///
    /// A connection that stopped with an error is re-run (``RepointAction/start``), so a master that refused it
    /// (IO error 1236) refuses it again and the caller sees the error, instead of it being hidden as "unchanged".
    public var action: RepointAction {
        guard let current = self.current,
            current.host == self.writerHost, current.port == self.writerPort, current.user == self.replicationUser,
            current.mode == self.mode.statusMode
        else { return .changeMaster }
        if current.ioThreadRunning && current.sqlThreadRunning && current.lastIOErrno == 0 && current.lastSQLErrno == 0 {
            return .unchanged
        }
        return .start
    }
}
