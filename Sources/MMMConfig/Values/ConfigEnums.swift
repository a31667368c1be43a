// HostMode, RoleMode and MonitorMode are MMMCore's: the config yields the values the decision core takes.

/// `type` of the `<socket>` section.
public enum SocketType: String, Sendable, Hashable, CaseIterable {
    /// Unencrypted TCP (messages are still authenticated with the protocol secret).
    case plain
    /// TLS with client certificates (`cert_file`, `key_file`, `ca_file`).
    case ssl
}

/// Global `blocking_type`: how the agent stops writes when it loses the writer role.
public enum BlockingType: String, Sendable, Hashable, CaseIterable {
    /// Upstream MMM 2.2.1: `read_only=ON` first, then kill client sessions.
    case hard
    /// chernomor fork: block new connections with `iptables_block_cmd`, wait, kill, `read_only=ON`, unblock.
    case soft
}

/// `failover_policy` of the `<monitor>` section (new in swift-mmm).
public enum FailoverPolicy: String, Sendable, Hashable, CaseIterable {
    /// Fail over after draining the candidate; acknowledged writes that never reached the standby may be lost.
    case `default`
    /// Require semi-sync with `AFTER_SYNC` ACKed by the standby: no acknowledged write is lost (DESIGN.md §4).
    case zeroLoss = "zero_loss"
}

/// `drain_timeout_action` of the `<monitor>` section (new in swift-mmm): what to do when a
/// failover candidate has not applied its relay log within `drain_timeout`.
public enum DrainTimeoutAction: String, Sendable, Hashable, CaseIterable {
    /// Stop the failover and say why; nobody is promoted with unapplied transactions.
    case stop
    /// Skip this candidate and try the next eligible one.
    case skip
}

/// `endpoint_provider` of a `<host>` section (new in swift-mmm): how the agent realizes role IPs.
public enum EndpointProvider: String, Sendable, Hashable, CaseIterable {
    /// `ip addr add/del` on `cluster_interface` plus gratuitous ARP (MMM's behaviour).
    case vip
    /// Run `endpoint_exec` with validated arguments (cloud alias IPs, load-balancer APIs).
    case exec
}

/// The program whose requirements a configuration is validated against (MMM's AGENT/MONITOR/CONTROL).
public enum ConfigProgram: String, Sendable, Hashable, CaseIterable {
    /// `mmm_agentd`: reads `mmm_agent[_CLUSTER].conf`.
    case agent
    /// `mmm_mond`: reads `mmm_mon[_CLUSTER].conf`.
    case monitor
    /// `mmm_control`: reads `mmm_mon[_CLUSTER].conf` but needs only the monitor's address.
    case control
}
