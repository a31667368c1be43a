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

    /// Creates a snapshot.
    public init(mode: MonitorMode, hosts: [String: HostSnapshot], roles: RoleAssignment, lastWriter: String?) {
        self.mode = mode
        self.hosts = hosts
        self.roles = roles
        self.lastWriter = lastWriter
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

    /// Creates an observation.
    public init(agentState: HostState? = nil, agentRoles: [RoleIP] = [], writable: Bool = false, configuredIPs: [String] = []) {
        self.agentState = agentState
        self.agentRoles = agentRoles
        self.writable = writable
        self.configuredIPs = configuredIPs
    }
}
