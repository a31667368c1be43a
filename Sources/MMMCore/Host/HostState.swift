/// The states of a host, named as MMM prints them (`show`, status file).
public enum HostState: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Healthy; the only state that holds roles.
    case online = "ONLINE"
    /// Taken out by `set_offline`; the state machine leaves it alone until `set_online`.
    case adminOffline = "ADMIN_OFFLINE"
    /// ping and/or mysql failed.
    case hardOffline = "HARD_OFFLINE"
    /// Back after HARD_OFFLINE; waits for the admin, quick recovery or `auto_set_online`.
    case awaitingRecovery = "AWAITING_RECOVERY"
    /// rep_backlog failed while rep_threads is OK.
    case replicationDelay = "REPLICATION_DELAY"
    /// rep_threads failed, or the host has errant transactions.
    case replicationFail = "REPLICATION_FAIL"

    /// The MMM name, e.g. `AWAITING_RECOVERY`.
    public var description: String { self.rawValue }

    /// MMM's precedence when stored and agent-reported states disagree at startup (higher wins).
    public var startupPrecedence: Int {
        switch self {
        case .adminOffline: return 5
        case .hardOffline: return 4
        case .replicationFail: return 3
        case .replicationDelay: return 2
        case .online: return 1
        case .awaitingRecovery: return 0
        }
    }
}

/// Why a host is in REPLICATION_FAIL.
public enum ReplicationFailReason: Hashable, Sendable, Codable {
    /// A replication thread is stopped (`rep_threads` failed), or the host was demoted by a forced move.
    case replicationBroken
    /// The host has transactions the writer lacks; it stays out until an operator repairs it.
    case errantTransactions([String])
}

/// Which rule of the state table (or which command) caused a transition.
public enum HostTransitionRule: String, Hashable, Sendable, Codable {
    /// `!(ping && mysql)`.
    case checksFailed
    /// `!rep_threads` (with the peer ONLINE and reachable, from ONLINE).
    case replicationBroken
    /// `!rep_backlog` while rep_threads is OK.
    case replicationLagging
    /// Back from HARD_OFFLINE with ping and mysql OK.
    case reachableAgain
    /// Replication healthy again, or the peer is not ONLINE (MMM's REPLICATION_* recovery).
    case replicationRecovered
    /// Quick recovery: the agent's uptime shows the host was down for less than the window, no reboot.
    case quickRecovery
    /// `auto_set_online` elapsed in AWAITING_RECOVERY.
    case autoSetOnline
    /// swift-mmm's first start: a host of a consistent cluster with no status file and no agent state,
    /// whose four checks all passed before it changed state any other way.
    case firstStart
    /// A flapping host stayed quiet for `flap_duration` (with `auto_set_online` enabled).
    case flapQuietPeriodElapsed
    /// The host has errant transactions (swift-mmm): it is kept out in REPLICATION_FAIL.
    case errantTransactions
    /// `set_online`.
    case adminSetOnline
    /// `set_offline`.
    case adminSetOffline
    /// The target of `move_role --force` is set ONLINE.
    case forcedOnline
    /// The old writer of `move_role --force` whose own replication checks fail.
    case forcedDemotion
}

/// One state change of one host.
public struct HostTransition: Hashable, Sendable {
    /// The state before.
    public var from: HostState
    /// The state after.
    public var to: HostState
    /// The rule or command that fired.
    public var rule: HostTransitionRule
    /// Whether MMM tells the agent at once (`notify` in the table). Agents learn every state anyway
    /// from the periodic status; this only marks the transitions MMM pushes immediately.
    public var notifiesAgent: Bool
    /// This drop from ONLINE made the host count as flapping.
    public var flapDetected: Bool

    /// Creates a transition.
    public init(
        from: HostState,
        to: HostState,
        rule: HostTransitionRule,
        notifiesAgent: Bool = true,
        flapDetected: Bool = false
    ) {
        self.from = from
        self.to = to
        self.rule = rule
        self.notifiesAgent = notifiesAgent
        self.flapDetected = flapDetected
    }
}
