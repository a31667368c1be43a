import MMMCore

/// One replication connection as `SHOW ALL SLAVES STATUS` reports it (MariaDB 10.11 column names).
public struct ReplicaStatus: Sendable, Hashable {
    /// State of the IO thread: `Slave_IO_Running`.
    public enum IOThreadState: String, Sendable, Hashable {
        /// Connected to the master and reading.
        case yes = "Yes"
        /// Stopped.
        case no = "No"
        /// Trying to (re)connect; the master may be down (`Last_IO_Errno` can still read 0 for a while).
        case connecting = "Connecting"
        /// Starting: 10.11 shows this for a moment right after `START SLAVE [IO_THREAD]`.
        case preparing = "Preparing"
    }

    /// `Using_Gtid`: how the connection finds its start position.
    public enum GTIDMode: String, Sendable, Hashable {
        /// `MASTER_USE_GTID=slave_pos`.
        case slavePos = "Slave_Pos"
        /// `MASTER_USE_GTID=current_pos`.
        case currentPos = "Current_Pos"
        /// Binlog file and position (swift-mmm never sets this up).
        case no = "No"
    }

    /// `Connection_name` (empty for the default connection).
    public var connectionName: String
    /// `Master_Host`.
    public var masterHost: String
    /// `Master_Port`.
    public var masterPort: Int
    /// `Master_User`.
    public var masterUser: String
    /// `Slave_IO_Running`.
    public var ioThread: IOThreadState
    /// `Slave_SQL_Running` is `Yes`.
    public var sqlThreadRunning: Bool
    /// `Slave_IO_State` (free text, empty when stopped).
    public var ioState: String
    /// `Slave_SQL_Running_State` (free text, empty when stopped).
    public var sqlState: String
    /// `Last_IO_Errno` (0 when none).
    public var lastIOErrno: Int
    /// `Last_IO_Error`.
    public var lastIOError: String
    /// `Last_SQL_Errno` (0 when none; 1062 for a duplicate key).
    public var lastSQLErrno: Int
    /// `Last_SQL_Error`.
    public var lastSQLError: String
    /// `Seconds_Behind_Master`; nil (NULL) as soon as the IO thread is not `Yes`, even with unapplied relay log, so
    /// it proves nothing about drain (rule R4).
    public var secondsBehindMaster: Int?
    /// `Master_Server_Id`.
    public var masterServerID: UInt32
    /// `Using_Gtid`.
    public var usingGTID: GTIDMode
    /// `Gtid_IO_Pos`: the last GTID per domain received into the relay log (not sorted by the server).
    public var gtidIOPos: GTIDPosition
    /// `Gtid_Slave_Pos`: the last GTID per domain applied (the global `gtid_slave_pos`).
    public var gtidSlavePos: GTIDPosition
    /// `Master_Log_File`.
    public var masterLogFile: String
    /// `Read_Master_Log_Pos`.
    public var readMasterLogPos: UInt64
    /// `Relay_Log_File`.
    public var relayLogFile: String
    /// `Relay_Log_Pos`.
    public var relayLogPos: UInt64
    /// `Relay_Master_Log_File`.
    public var relayMasterLogFile: String
    /// `Exec_Master_Log_Pos`.
    public var execMasterLogPos: UInt64
    /// `Relay_Log_Space`.
    public var relayLogSpace: UInt64
    /// `Slave_received_heartbeats`.
    public var receivedHeartbeats: UInt64

    /// True when the SQL thread has applied everything the IO thread received (rule R4: `Gtid_Slave_Pos` contains
    /// `Gtid_IO_Pos` in every domain). This is a snapshot; `MASTER_GTID_WAIT` is the authoritative wait.
    public var isDrained: Bool {
        GTIDPosition.isDrained(received: self.gtidIOPos, applied: self.gtidSlavePos)
    }

    /// Both threads running and no error.
    public var isHealthy: Bool {
        self.ioThread == .yes && self.sqlThreadRunning && self.lastIOErrno == 0 && self.lastSQLErrno == 0
    }

    /// Reads one row of `SHOW ALL SLAVES STATUS`.
    public init(row: MariaDBRow) throws {
        func text(_ column: String) throws -> String { try row.string(column) ?? "" }
        func number(_ column: String) throws -> UInt64 { try row.uint64(column) ?? 0 }
        self.connectionName = try text("Connection_name")
        self.masterHost = try text("Master_Host")
        self.masterPort = try row.int("Master_Port") ?? 0
        self.masterUser = try text("Master_User")
        let io = try text("Slave_IO_Running")
        guard let ioThread = IOThreadState(rawValue: io) else {
            throw MMMError(.unexpectedResult, "Slave_IO_Running is '\(io)', expected Yes, No, Connecting or Preparing")
        }
        self.ioThread = ioThread
        self.sqlThreadRunning = try text("Slave_SQL_Running") == "Yes"
        self.ioState = try text("Slave_IO_State")
        self.sqlState = try text("Slave_SQL_Running_State")
        self.lastIOErrno = try row.int("Last_IO_Errno") ?? 0
        self.lastIOError = try text("Last_IO_Error")
        self.lastSQLErrno = try row.int("Last_SQL_Errno") ?? 0
        self.lastSQLError = try text("Last_SQL_Error")
        self.secondsBehindMaster = try row.int("Seconds_Behind_Master")
        self.masterServerID = UInt32(clamping: try number("Master_Server_Id"))
        let gtidMode = try text("Using_Gtid")
        guard let usingGTID = GTIDMode(rawValue: gtidMode) else {
            throw MMMError(.unexpectedResult, "Using_Gtid is '\(gtidMode)', expected Slave_Pos, Current_Pos or No")
        }
        self.usingGTID = usingGTID
        self.gtidIOPos = try GTIDPosition(parsing: try text("Gtid_IO_Pos"))
        self.gtidSlavePos = try GTIDPosition(parsing: try text("Gtid_Slave_Pos"))
        self.masterLogFile = try text("Master_Log_File")
        self.readMasterLogPos = try number("Read_Master_Log_Pos")
        self.relayLogFile = try text("Relay_Log_File")
        self.relayLogPos = try number("Relay_Log_Pos")
        self.relayMasterLogFile = try text("Relay_Master_Log_File")
        self.execMasterLogPos = try number("Exec_Master_Log_Pos")
        self.relayLogSpace = try number("Relay_Log_Space")
        self.receivedHeartbeats = try number("Slave_received_heartbeats")
    }
}
