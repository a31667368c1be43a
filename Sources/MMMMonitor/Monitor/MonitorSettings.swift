import MMMConfig
import MMMControl
import MMMCore
import MMMProtocol
import MMMTransport

/// Everything `mmm_mond` takes from `mmm_mon.conf` (and `mmm_common.conf`), resolved and checked once at start.
public struct MonitorSettings: Sendable {
    /// One agent the monitor talks to.
    public struct Agent: Sendable {
        /// The host's name and its agent's `ip`:`agent_port`.
        public var peer: ProtocolPeer
        /// The protocol key of this host's agent (`agent_secret`, or derived from its `agent_password`).
        public var key: ProtocolKey
    }

    /// The monitor's protocol name: the sender of its agent messages and the recipient of control requests.
    public static let protocolName = "monitor"

    /// The hosts and roles.
    public var topology: ClusterTopology
    /// Decision timings and startup policy.
    public var policy: ClusterPolicy
    /// Debouncing per check.
    public var checkPolicies: [CheckKind: CheckPolicy]
    /// The probes' cadences and deadlines.
    public var checks: ChecksConfiguration
    /// The hosts as the probes see them.
    public var monitoredHosts: [MonitoredHost]
    /// Every host's agent, by host name.
    public var agents: [String: Agent]
    /// Where the control server listens (`<monitor>` `ip`, `port`) and the key `mmm_control` must use
    /// (`agent_secret`).
    public var control: ControlSettings
    /// The status file (`status_path`).
    public var statusPath: String
    /// The pid file (`pid_path`).
    public var pidPath: String?
    /// The network self-check targets (`ping_ips`); empty: the check always passes.
    public var pingIPs: [String]
    /// How often the network self-check runs (`ping_interval`).
    public var pingInterval: Duration
    /// The program run (without a shell, with the host name as its only argument) to kill a host that must lose the
    /// writer role and cannot be reached (`kill_host_bin`), if it exists.
    public var killHostBin: String
    /// The writer lease's timings (`lease_timeout`): when an unreachable old writer has certainly fenced itself.
    public var lease: WriterLease.Configuration
    /// How long a candidate may take to apply what it received before promotion (`drain_timeout`).
    public var drainTimeout: Duration
    /// How often every agent is sent its status (also the lease renewal).
    public var statusInterval: Duration
    /// How often every agent is asked what it really holds (role IPs on its interface, `read_only`).
    public var systemInfoInterval: Duration
    /// How often every agent is asked for its host's replication positions, which rank writer candidates.
    public var positionsInterval: Duration
    /// How often time-based rules (auto_set_online, WAIT timeout) are re-evaluated without any other event.
    public var tickInterval: Duration
    /// `cadence_report_interval`: how often `mmm_mond` logs each check's cadence (``CheckCadenceReport``), one line
    /// per check kind.
    public var cadenceReportInterval: Duration
    /// Mutual TLS files (`<socket> type ssl`), or `nil`.
    public var tls: ProtocolTLSFiles?
    /// `monitor_public_key`: when set, every frame to an agent is signed with the private key in
    /// ``signingKeyPath``, whose public half must be this one.
    public var monitorPublicKey: MonitorPublicKey?
    /// `monitor_signing_key`: the private key's file.
    public var signingKeyPath: String?
    /// `agent_secret` is set (one key on every host): without ``monitorPublicKey`` any database host could act as
    /// the monitor; the monitor warns at start.
    public var sharedSecret: Bool

    /// The default status file when `status_path` is not set (MMM's).
    public static let defaultStatusPath = "/var/lib/mysql-mmm/mmm_mond.status"

    /// Resolves a loaded monitor configuration.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidConfiguration` naming what is missing (a `<monitor>` section, a
    ///   host's `monitor_user`, `agent_secret`, which `mmm_control` authenticates with) and how to fix it.
    public init(configuration: MMMConfiguration) throws(MMMError) {
        guard let monitor = configuration.monitor else {
            throw MMMError(.invalidConfiguration, "mmm_mon.conf has no <monitor> section; add one with at least `ip`")
        }
        self.topology = try configuration.clusterTopology()
        self.policy = configuration.clusterPolicy()
        self.checkPolicies = configuration.checkPolicies()
        self.checks = configuration.checks
        var monitored: [MonitoredHost] = []
        var agents: [String: Agent] = [:]
        for host in configuration.hosts {
            guard host.monitorUser != nil, host.monitorPassword != nil else {
                throw MMMError(
                    .invalidConfiguration,
                    "<host \(host.name)> has no monitor_user/monitor_password; the monitor's checks log in with them"
                )
            }
            monitored.append(MonitoredHost(host))
            guard let secret = configuration.protocolSecret(forHost: host.name) else {
                throw MMMError(
                    .invalidConfiguration,
                    "no protocol secret for \(host.name): set agent_secret in mmm_common.conf (or agent_password for "
                        + "the host)"
                )
            }
            let key: ProtocolKey
            switch secret {
            case .configured(let value), .derivedFromAgentPassword(let value):
                key = ProtocolKey(secret: value.revealed())
            }
            agents[host.name] = Agent(
                peer: ProtocolPeer(name: host.name, host: "\(host.ip)", port: host.agentPort),
                key: key
            )
        }
        self.monitoredHosts = monitored
        self.agents = agents
        self.control = try ControlSettings(configuration: configuration)
        self.statusPath = monitor.statusPath ?? Self.defaultStatusPath
        self.pidPath = monitor.pidPath
        self.pingIPs = monitor.pingIPs.map { "\($0)" }
        self.pingInterval = monitor.pingInterval
        self.killHostBin = monitor.resolvedKillHostBin
        self.lease = WriterLease.Configuration(timeout: configuration.leaseTimeout, safetyMargin: configuration.leaseSafetyMargin)
        self.drainTimeout = monitor.drainTimeout
        // Several renewals per lease: one lost message must not cost a writer its lease.
        self.statusInterval = min(.milliseconds(500), configuration.leaseTimeout / 4)
        self.systemInfoInterval = .seconds(2)
        self.positionsInterval = .seconds(1)
        self.tickInterval = .milliseconds(250)
        self.cadenceReportInterval = monitor.cadenceReportInterval
        self.tls = try ProtocolTLSFiles(socket: configuration.socket)
        self.monitorPublicKey = try configuration.monitorPublicKey.map { text throws(MMMError) in
            try MonitorPublicKey(text: text)
        }
        self.signingKeyPath = monitor.signingKeyPath
        self.sharedSecret = configuration.agentSecret != nil
        if self.monitorPublicKey != nil, self.signingKeyPath == nil {
            throw MMMError(
                .invalidConfiguration,
                "monitor_public_key is set in mmm_common.conf but <monitor> in mmm_mon.conf has no monitor_signing_key: "
                    + "the agents would refuse every unsigned order; add `monitor_signing_key <file>` (the file "
                    + "`mmm_mond --generate-signing-key <file>` wrote)"
            )
        }
        if self.monitorPublicKey == nil, let path = self.signingKeyPath {
            throw MMMError(
                .invalidConfiguration,
                "monitor_signing_key \(path) is set but mmm_common.conf has no monitor_public_key: the agents would "
                    + "not check the signatures; add `monitor_public_key <key>` (`mmm_mond --print-public-key \(path)` "
                    + "prints it) to mmm_common.conf on every host"
            )
        }
    }

    /// Reads the signing key from ``signingKeyPath`` and checks that its public half is ``monitorPublicKey``; `nil`
    /// when no key is configured. Reads a file: call it once, at start.
    ///
    /// - Throws: ``MMMCore/MMMError`` naming the file and what to do when it cannot be read, holds no key, or holds
    ///   another key than mmm_common.conf's.
    public func loadSigningKey() throws(MMMError) -> MonitorSigningKey? {
        guard let path = self.signingKeyPath, let expected = self.monitorPublicKey else { return nil }
        let key = try SigningKeyFile.read(at: path)
        guard key.publicKey == expected else {
            throw MMMError(
                .invalidConfiguration,
                "monitor_signing_key \(path) is not the private half of mmm_common.conf's monitor_public_key "
                    + "\(expected) (its public key is \(key.publicKey)); put the right key line into mmm_common.conf "
                    + "on every host"
            )
        }
        return key
    }

    /// The host names in configuration order.
    public var hostNames: [String] { self.topology.hosts.map(\.name) }
}
