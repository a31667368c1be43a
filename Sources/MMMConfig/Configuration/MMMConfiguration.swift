/// A whole, validated configuration: what one program reads from its file and the files it includes.
///
/// Values are typed and carry MMM 2.2's defaults (swift-mmm's own directives are marked). Build one
/// with ``ConfigDirectory`` (`loadAgent`, `loadMonitor`, `loadControl`), which returns it only when
/// there is no error. Passwords are ``Secret``s, so printing or dumping this value never shows them.
public struct MMMConfiguration: Sendable, Hashable {
    /// `this`: the local host's section name (agent; required there).
    public var this: String?
    /// `debug`, default false.
    public var debug: Bool = false
    /// `active_master_role`: the role that marks the writable master, e.g. `writer` (agent, monitor).
    public var activeMasterRole: String?
    /// `max_kill_retries`, default 10.
    public var maxKillRetries: Int = 10
    /// `blocking_type`, default `hard` (upstream MMM 2.2.1; the chernomor fork defaults to `soft`).
    public var blockingType: BlockingType = .hard
    /// `iptables_block_cmd` (used by `blocking_type soft`).
    public var iptablesBlockCommand = "iptables -A INPUT -p tcp --dport 3306 -m state --state NEW -j REJECT"
    /// `iptables_unblock_cmd` (used by `blocking_type soft`).
    public var iptablesUnblockCommand = "iptables -D INPUT -p tcp --dport 3306 -m state --state NEW -j REJECT"
    /// `default_copy_method` (tools).
    public var defaultCopyMethod: String?
    /// `clone_dirs` (tools).
    public var cloneDirs: [String] = []
    /// `agent_secret` (swift-mmm): the key that authenticates monitor⇄agent and control messages.
    /// When absent, see ``protocolSecret(forHost:)``.
    public var agentSecret: Secret?
    /// `monitor_public_key` (swift-mmm): the monitor's Ed25519 public key in base64. When set, agents accept orders
    /// and lease renewals only in frames the monitor signed with the private half (`monitor_signing_key`), so a
    /// database host that holds `agent_secret` cannot act as the monitor.
    public var monitorPublicKey: String?
    /// `lease_timeout` (swift-mmm), default 3 s: how long the writer's agent keeps writing without hearing the monitor.
    public var leaseTimeout: Duration = .seconds(3)
    /// `lease_safety_margin` (swift-mmm), default 1 s: added to `lease_timeout` before the monitor
    /// promotes a new writer without the old writer's confirmation.
    public var leaseSafetyMargin: Duration = .seconds(1)
    /// `failover_policy` (swift-mmm), default `default`: the policy the agents and the monitor follow. Written at the
    /// top level of `mmm_common.conf` (both read it) or in `<monitor>` (the monitor only); when both are written they
    /// must agree, and the monitor's ``MonitorConfiguration/failoverPolicy`` always equals this value.
    public var failoverPolicy: FailoverPolicy = .default
    /// `semi_sync_timeout` (swift-mmm), default 10 s: `rpl_semi_sync_master_timeout` that the agents set on the writer
    /// under `failover_policy zero_loss`; after it, an un-ACKed commit returns and the writer falls back to async
    /// replication until a replica catches up (docs/agent.md, "Zero-loss policy").
    public var semiSyncTimeout: Duration = .seconds(10)
    /// The `<host>` sections, in the order they first appear (without `<host default>`).
    public var hosts: [HostConfiguration] = []
    /// The `<role>` sections, in the order they first appear.
    public var roles: [RoleConfiguration] = []
    /// The `<monitor>` section; always present after `loadMonitor` or `loadControl`.
    public var monitor: MonitorConfiguration?
    /// The four checks.
    public var checks = ChecksConfiguration()
    /// The `<socket>` section (defaults when absent).
    public var socket = SocketConfiguration()
    /// The `<copy_method>` sections (tools).
    public var copyMethods: [CopyMethodConfiguration] = []

    /// An empty configuration with every default.
    public init() {}

    /// The host section called `name`.
    public func host(named name: String) -> HostConfiguration? {
        self.hosts.first { $0.name == name }
    }

    /// The role section called `name`.
    public func role(named name: String) -> RoleConfiguration? {
        self.roles.first { $0.name == name }
    }

    /// The section of the local host (`this`); always present after `loadAgent`.
    public var thisHost: HostConfiguration? {
        self.this.flatMap { self.host(named: $0) }
    }

    /// The role named by `active_master_role`.
    public var activeMasterRoleConfiguration: RoleConfiguration? {
        self.activeMasterRole.flatMap { self.role(named: $0) }
    }

    /// The key that authenticates messages to and from the agent of `host`.
    ///
    /// `agent_secret` when set (the same for every host). Otherwise it is derived from that host's
    /// `agent_password`, which both the agent and the monitor read from `mmm_common.conf`; the
    /// protocol module applies a key derivation function to it, so the password itself never goes
    /// over the wire. `nil` when neither is set.
    public func protocolSecret(forHost host: String) -> ProtocolSecret? {
        if let secret = self.agentSecret { return .configured(secret) }
        if let password = self.host(named: host)?.agentPassword { return .derivedFromAgentPassword(password) }
        return nil
    }
}

/// Where the monitor⇄agent protocol key comes from.
public enum ProtocolSecret: Sendable, Hashable {
    /// `agent_secret` was set.
    case configured(Secret)
    /// No `agent_secret`: derive the key from this host's `agent_password`.
    case derivedFromAgentPassword(Secret)
}
