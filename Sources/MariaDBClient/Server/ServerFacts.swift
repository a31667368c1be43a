import MMMCore

/// What the manager needs to know about one server, read in one round trip plus one for status counters.
public struct ServerFacts: Sendable, Hashable {
    /// `@@read_only`.
    public var readOnly: Bool
    /// `@@server_id`.
    public var serverID: UInt32
    /// `@@gtid_domain_id` (global).
    public var gtidDomainID: UInt32
    /// `@@gtid_binlog_pos`: last GTID per domain in this server's binlog.
    public var gtidBinlogPos: GTIDPosition
    /// `@@gtid_binlog_state`: last GTID per (domain, server_id) in the binlog; the only value that shows divergence
    /// inside a shared domain (rule R1).
    public var gtidBinlogState: GTIDBinlogState
    /// `@@gtid_slave_pos`: last GTID per domain applied by replication.
    public var gtidSlavePos: GTIDPosition
    /// `@@gtid_current_pos`.
    public var gtidCurrentPos: GTIDPosition
    /// `@@gtid_strict_mode`.
    public var gtidStrictMode: Bool
    /// `@@log_bin`.
    public var logBin: Bool
    /// `@@log_slave_updates`.
    public var logSlaveUpdates: Bool
    /// `@@rpl_semi_sync_master_enabled`.
    public var semiSyncMasterEnabled: Bool
    /// `@@rpl_semi_sync_slave_enabled`.
    public var semiSyncSlaveEnabled: Bool
    /// `@@rpl_semi_sync_master_wait_point` (`AFTER_SYNC` or `AFTER_COMMIT`).
    public var semiSyncWaitPoint: String
    /// Status `Rpl_semi_sync_master_status`: semi-sync is active (not fallen back to async).
    public var semiSyncMasterActive: Bool
    /// Status `Rpl_semi_sync_master_clients`: connected semi-sync replicas.
    public var semiSyncMasterClients: Int
    /// Status `Rpl_semi_sync_slave_status`.
    public var semiSyncSlaveActive: Bool
    /// `@@version`.
    public var version: String
    /// `@@hostname`.
    public var hostname: String

    /// The variables statement ``MariaDBConnection/serverFacts()`` runs.
    static let variablesSQL = """
        SELECT @@read_only AS read_only, @@server_id AS server_id, @@global.gtid_domain_id AS gtid_domain_id, \
        @@gtid_binlog_pos AS gtid_binlog_pos, @@gtid_binlog_state AS gtid_binlog_state, \
        @@gtid_slave_pos AS gtid_slave_pos, @@gtid_current_pos AS gtid_current_pos, \
        @@gtid_strict_mode AS gtid_strict_mode, @@log_bin AS log_bin, @@log_slave_updates AS log_slave_updates, \
        @@rpl_semi_sync_master_enabled AS semi_master, @@rpl_semi_sync_slave_enabled AS semi_slave, \
        @@rpl_semi_sync_master_wait_point AS semi_wait_point, @@version AS version, @@hostname AS hostname
        """

    /// The status statement ``MariaDBConnection/serverFacts()`` runs.
    static let statusSQL = """
        SHOW GLOBAL STATUS WHERE Variable_name IN \
        ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients', 'Rpl_semi_sync_slave_status')
        """

    /// Builds the facts from the two results.
    init(variables row: MariaDBRow, status: MariaDBResult) throws {
        func flag(_ column: String) throws -> Bool { try row.bool(column) ?? false }
        self.readOnly = try flag("read_only")
        self.serverID = UInt32(clamping: try row.uint64("server_id") ?? 0)
        self.gtidDomainID = UInt32(clamping: try row.uint64("gtid_domain_id") ?? 0)
        self.gtidBinlogPos = try GTIDPosition(parsing: try row.string("gtid_binlog_pos") ?? "")
        self.gtidBinlogState = try GTIDBinlogState(parsing: try row.string("gtid_binlog_state") ?? "")
        self.gtidSlavePos = try GTIDPosition(parsing: try row.string("gtid_slave_pos") ?? "")
        self.gtidCurrentPos = try GTIDPosition(parsing: try row.string("gtid_current_pos") ?? "")
        self.gtidStrictMode = try flag("gtid_strict_mode")
        self.logBin = try flag("log_bin")
        self.logSlaveUpdates = try flag("log_slave_updates")
        self.semiSyncMasterEnabled = try flag("semi_master")
        self.semiSyncSlaveEnabled = try flag("semi_slave")
        self.semiSyncWaitPoint = try row.string("semi_wait_point") ?? ""
        self.version = try row.string("version") ?? ""
        self.hostname = try row.string("hostname") ?? ""
        var counters: [String: String] = [:]
        for statusRow in status.rows {
            if let name = try statusRow.string("Variable_name") {
                counters[name] = try statusRow.string("Value")
            }
        }
        self.semiSyncMasterActive = counters["Rpl_semi_sync_master_status"] == "ON"
        self.semiSyncMasterClients = Int(counters["Rpl_semi_sync_master_clients"] ?? "0") ?? 0
        self.semiSyncSlaveActive = counters["Rpl_semi_sync_slave_status"] == "ON"
    }
}
