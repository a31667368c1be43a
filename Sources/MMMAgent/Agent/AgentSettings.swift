import MMMConfig
import MMMCore
import MMMProtocol
import MariaDBClient
import MMMTransport

/// Everything the agent needs from the config files, checked and resolved once at start.
public struct AgentSettings: Sendable {
    /// One host of the cluster as the agent needs it.
    public struct Host: Sendable, Hashable {
        /// `<host NAME>`.
        public var name: String
        /// Its IP.
        public var ip: String
        /// Its MariaDB port.
        public var mysqlPort: Int
        /// Its agent's port.
        public var agentPort: Int
        /// Its replication account, used by hosts that follow it (MMM uses the writer's `replication_user`).
        public var replicationUser: String
        /// That account's password.
        public var replicationPassword: String
    }

    /// This host (`this`).
    public var this: Host
    /// Every other host: the peers asked in the lease check, and the writers this host may follow.
    public var peers: [Host]
    /// The active-master role (`active_master_role`).
    public var writerRole: String
    /// Every role IP of the cluster.
    public var roleIPs: [RoleIP]
    /// The local server, with the agent's account.
    public var database: MariaDBConfiguration
    /// Accounts fencing never kills (replication, agent and monitor users).
    public var sparedUsers: [String]
    /// The network interface role IPs live on.
    public var clusterInterface: String
    /// How role IPs are realized.
    public var endpointProvider: MMMConfig.EndpointProvider
    /// The program for `endpoint_provider exec`.
    public var endpointExec: String?
    /// The protocol secret.
    public var secret: String
    /// The writer lease.
    public var lease: WriterLease.Configuration
    /// How long a promotion may wait for the relay log to drain.
    public var drainTimeout: Duration
    /// `failover_policy` (top level of `mmm_common.conf`): `zero_loss` makes the agent keep semi-sync.
    public var failoverPolicy: MMMConfig.FailoverPolicy
    /// `semi_sync_timeout`: `rpl_semi_sync_master_timeout` on the writer under `zero_loss`, in milliseconds.
    public var semiSyncTimeoutMilliseconds: UInt32
    /// This host is a `mode master` host among the writer role's hosts: a promotion may make it the writer, so under
    /// `failover_policy zero_loss` it sends semi-sync ACKs (no other host may, DESIGN.md §9.4).
    public var mayBecomeWriter: Bool
    /// The other `mode master` hosts among the writer role's hosts: the ones a writer's semi-sync ACK may come from.
    public var promotablePeers: [String]
    /// The pid file.
    public var pidPath: String?
    /// The `<socket> type ssl` files, or `nil` for `type plain`; used by the agent's server and its peer client.
    public var tls: ProtocolTLSFiles?
    /// `monitor_public_key`: when set, frames that name the monitor as their sender are accepted only with its
    /// signature (orders, status, lease renewals); `nil` leaves the shared secret as the only proof.
    public var monitorKey: MonitorPublicKey?
    /// `agent_secret` is set (one key on every host), so without ``monitorKey`` any database host could act as the
    /// monitor; the agent warns at start.
    public var sharedSecret: Bool

    /// All hosts, this one first.
    public var allHosts: [Host] { [self.this] + self.peers }

    /// The host called `name`.
    public func host(named name: String) -> Host? {
        self.allHosts.first { $0.name == name }
    }

    /// `host`'s server with the agent's account (the cross-check's reach, a fence over SQL).
    public func database(of host: Host) -> MariaDBConfiguration {
        var target = self.database
        target.name = host.name
        target.host = host.ip
        target.port = host.mysqlPort
        return target
    }

    /// Resolves the settings from a loaded agent configuration (`ConfigDirectory.loadAgent`).
    public init(configuration: MMMConfiguration) throws {
        guard let thisName = configuration.this, let thisHost = configuration.thisHost else {
            throw MMMError(
                .invalidConfiguration,
                "mmm_agent.conf names no valid host with `this`; write `this db1` with a host of mmm_common.conf"
            )
        }
        func resolve(_ host: HostConfiguration) -> Host {
            Host(
                name: host.name, ip: "\(host.ip)", mysqlPort: host.mysqlPort, agentPort: host.agentPort,
                replicationUser: host.replicationUser ?? "", replicationPassword: host.replicationPassword?.revealed() ?? ""
            )
        }
        guard let agentUser = thisHost.agentUser, let agentPassword = thisHost.agentPassword else {
            throw MMMError(
                .invalidConfiguration,
                "<host \(thisName)> has no agent_user/agent_password; the agent needs them to manage its server"
            )
        }
        guard let writerRole = configuration.activeMasterRole else {
            throw MMMError(.invalidConfiguration, "no active_master_role; add `active_master_role writer` to mmm_common.conf")
        }
        guard let secret = configuration.protocolSecret(forHost: thisName) else {
            throw MMMError(
                .invalidConfiguration,
                "no protocol secret for \(thisName): set agent_secret in mmm_common.conf (or agent_password for the host)"
            )
        }
        switch secret {
        case .configured(let value), .derivedFromAgentPassword(let value):
            self.secret = value.revealed()
        }
        self.this = resolve(thisHost)
        self.peers = configuration.hosts.filter { $0.name != thisName }.map(resolve)
        self.writerRole = writerRole
        self.roleIPs = configuration.roles.flatMap { role in
            (role.mode == .exclusive ? Array(role.ips.prefix(1)) : role.ips).map { RoleIP(role: role.name, ip: "\($0)") }
        }
        self.database = MariaDBConfiguration(
            name: thisName, host: "\(thisHost.ip)", port: thisHost.mysqlPort, user: agentUser,
            password: agentPassword.revealed(), connectTimeout: .seconds(1), readTimeout: .seconds(5)
        )
        var spared = [agentUser]
        for host in configuration.hosts {
            if let user = host.replicationUser { spared.append(user) }
            if let user = host.monitorUser { spared.append(user) }
        }
        self.sparedUsers = Array(Set(spared)).sorted()
        self.clusterInterface = thisHost.clusterInterface ?? "eth0"
        self.endpointProvider = thisHost.endpointProvider
        self.endpointExec = thisHost.endpointExec
        self.lease = WriterLease.Configuration(timeout: configuration.leaseTimeout)
        self.drainTimeout = configuration.monitor?.drainTimeout ?? .seconds(10)
        self.failoverPolicy = configuration.failoverPolicy
        self.semiSyncTimeoutMilliseconds = UInt32(clamping: max(1, configuration.semiSyncTimeout.milliseconds))
        self.mayBecomeWriter = thisHost.mode == .master
            && (configuration.roles.first { $0.name == writerRole }?.hosts.contains(thisName) ?? false)
        let writerHosts = configuration.roles.first { $0.name == writerRole }?.hosts ?? []
        self.promotablePeers = configuration.hosts
            .filter { $0.name != thisName && $0.mode == .master && writerHosts.contains($0.name) }.map(\.name)
        self.pidPath = thisHost.pidPath
        self.tls = try ProtocolTLSFiles(socket: configuration.socket)
        self.monitorKey = try configuration.monitorPublicKey.map { text throws(MMMError) in try MonitorPublicKey(text: text) }
        self.sharedSecret = configuration.agentSecret != nil
    }
}

extension AgentSettings: CustomStringConvertible {
    /// The settings without any secret (the protocol secret and every password are left out).
    public var description: String {
        "AgentSettings(this: \(self.this.name) \(self.this.ip):\(self.this.agentPort), peers: \(self.peers.map(\.name)), "
            + "writerRole: \(self.writerRole), roleIPs: \(self.roleIPs), database: \(self.database.endpointDescription), "
            + "interface: \(self.clusterInterface), provider: \(self.endpointProvider), "
            + "failover policy: \(self.failoverPolicy.rawValue), semi-sync timeout: \(self.semiSyncTimeoutMilliseconds) ms, "
            + "tls: \(self.tls.map { "cert \($0.certificateFile), ca \($0.caFile)" } ?? "off"), secret: <redacted>)"
    }
}

extension AgentSettings.Host: CustomStringConvertible, CustomDebugStringConvertible {
    /// Name and addresses; never the replication password.
    public var description: String { "\(self.name) (\(self.ip), mysql \(self.mysqlPort), agent \(self.agentPort))" }
    /// Same as ``description``.
    public var debugDescription: String { self.description }
}
