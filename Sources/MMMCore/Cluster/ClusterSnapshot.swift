/// What the monitor persists (atomically) and starts from after a restart.
///
/// A promotion that was waiting for its drain is deliberately not persisted: after a restart the writer
/// role is orphaned and the first decision starts a fresh drain (the in-progress failover is rolled back).
public struct ClusterSnapshot: Hashable, Sendable, Codable {
    /// The mode at the time (informational: like MMM, a restart starts in the configured mode).
    public var mode: MonitorMode
    /// Per host: state, flapping flag, errant GTIDs.
    public var hosts: [String: HostSnapshot]
    /// Role IP holders.
    public var roles: RoleAssignment
    /// The last host that held the writer role.
    public var lastWriter: String?
    /// A start without status file found the servers inconsistent and the operator has not changed the mode
    /// since: a monitor restarted from this snapshot checks the servers again as at a first start and stays
    /// PASSIVE unless it can prove them consistent.
    public var firstStartUnresolved: Bool

    /// Creates a snapshot.
    public init(
        mode: MonitorMode,
        hosts: [String: HostSnapshot],
        roles: RoleAssignment,
        lastWriter: String?,
        firstStartUnresolved: Bool = false
    ) {
        self.mode = mode
        self.hosts = hosts
        self.roles = roles
        self.lastWriter = lastWriter
        self.firstStartUnresolved = firstStartUnresolved
    }

    private enum CodingKeys: String, CodingKey {
        case mode, hosts, roles, lastWriter, firstStartUnresolved
    }

    /// Decodes a snapshot; one written before ``firstStartUnresolved`` existed decodes with it `false`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.mode = try container.decode(MonitorMode.self, forKey: .mode)
        self.hosts = try container.decode([String: HostSnapshot].self, forKey: .hosts)
        self.roles = try container.decode(RoleAssignment.self, forKey: .roles)
        self.lastWriter = try container.decodeIfPresent(String.self, forKey: .lastWriter)
        self.firstStartUnresolved = try container.decodeIfPresent(Bool.self, forKey: .firstStartUnresolved) ?? false
    }

    /// The MMM status-file lines (`host|STATE|role(ip),role(ip)`), hosts sorted by name.
    public var statusFileLines: [String] {
        self.hosts.keys.sorted().map { host in
            let state = self.hosts[host]?.state.rawValue ?? HostState.awaitingRecovery.rawValue
            let roles = self.roles.roles(of: host).map(\.description).joined(separator: ",")
            return "\(host)|\(state)|\(roles)"
        }
    }
}

/// What the monitor learned from one host's agent at startup (`GET_AGENT_STATUS`, `GET_SYSTEM_STATUS`).
public struct StartupObservation: Hashable, Sendable {
    /// The state the agent last received, if it answered.
    public var agentState: HostState?
    /// The roles the agent last received.
    public var agentRoles: [RoleIP]
    /// mysqld has `read_only=OFF`.
    public var writable: Bool
    /// Role IPs found configured on the host's cluster interface.
    public var configuredIPs: [String]
    /// The host's `@@gtid_binlog_state`, parsed; `nil` when it could not be read. Used only at a start
    /// without status file, to find diverged hosts; a first start needs it from every host.
    public var gtidBinlogState: GTIDBinlogState?

    /// Creates an observation.
    public init(
        agentState: HostState? = nil,
        agentRoles: [RoleIP] = [],
        writable: Bool = false,
        configuredIPs: [String] = [],
        gtidBinlogState: GTIDBinlogState? = nil
    ) {
        self.agentState = agentState
        self.agentRoles = agentRoles
        self.writable = writable
        self.configuredIPs = configuredIPs
        self.gtidBinlogState = gtidBinlogState
    }
}
