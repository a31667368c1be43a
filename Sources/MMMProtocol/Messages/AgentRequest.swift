import MMMCore

/// What the monitor (or, for the lease peer check, another agent) asks an agent to do or tell.
///
/// The first five are MMM's commands (`PING`, `SET_STATUS`, `GET_AGENT_STATUS`, `GET_SYSTEM_STATUS`,
/// `CLEAR_BAD_ROLES`); the others are what failover needs. Every value that reaches a caller after decoding has
/// passed ``WireValidation``.
public enum AgentRequest: Hashable, Sendable {
    /// Is the agent alive? Answered with ``AgentResponse/pong(_:)``.
    case ping
    /// The state and roles the host must have now. Answered with ``AgentResponse/statusApplied(_:)``.
    case setStatus(SetStatus)
    /// What the agent believes it was told last. Answered with ``AgentResponse/agentStatus(_:)``.
    case getAgentStatus
    /// What the host really has (writability, role IPs on the interface, replication source). Answered with
    /// ``AgentResponse/systemInfo(_:)``.
    case getSystemInfo
    /// Remove configured role IPs the host holds but was not told to hold. Answered with
    /// ``AgentResponse/badRolesCleared(_:)``.
    case clearBadRoles
    /// Has the host applied everything it received from its replication source? Answered with
    /// ``AgentResponse/drainStatus(_:)``.
    case getDrainStatus(DrainQuery)
    /// The host's GTID positions. Answered with ``AgentResponse/gtidPositions(_:)``.
    case getGTIDPositions
    /// Can the agent reach a host's service (cross-check before failover) or does it still hear the monitor (the
    /// writer lease's peer check)? Answered with ``AgentResponse/reachability(_:)``.
    case canReach(ReachQuery)
    /// Fence a writer: `read_only=ON`, kill client sessions, drop role IPs. Answered with
    /// ``AgentResponse/fenced(_:)``.
    case fence(FenceOrder)
}

/// The body of ``AgentRequest/setStatus(_:)``: MMM's `SET_STATUS` plus the monitor's epoch.
public struct SetStatus: Hashable, Sendable {
    /// The host's state as the monitor sees it.
    public var state: HostState
    /// The role IPs the host must hold, nothing more (sorted as MMM sends them; order carries no meaning).
    public var roles: [RoleIP]
    /// The host that holds the active-master (writer) role, or `nil` when none does.
    public var activeMaster: String?
    /// The monitor's epoch: it increases with every writer change (and never goes back, even across monitor
    /// restarts), so an agent can refuse orders from an older view of the cluster.
    public var epoch: UInt64
    /// Role IPs of ``roles`` that the monitor knows no other host holds: every other host's agent confirmed it does
    /// not (a fence answer, or its interface read while it was not told to hold the IP). The agent takes these
    /// without the duplicate-address probe, which only guards against a holder nobody has confirmed.
    public var handedOver: [RoleIP]

    /// Creates a status order.
    public init(state: HostState, roles: [RoleIP], activeMaster: String?, epoch: UInt64, handedOver: [RoleIP] = []) {
        self.state = state
        self.roles = roles
        self.activeMaster = activeMaster
        self.epoch = epoch
        self.handedOver = handedOver
    }
}

extension SetStatus {
    /// The message that carries `status` (what ``MMMCore/StatusPlan`` decided a host is told).
    public init(_ status: AgentStateMachine.Status) {
        self.init(
            state: status.state, roles: status.roles, activeMaster: status.activeMaster, epoch: status.epoch,
            handedOver: status.roles.filter { status.handedOver.contains($0.ip) }
        )
    }
}

/// The body of ``AgentRequest/getDrainStatus(_:)``.
public struct DrainQuery: Hashable, Sendable {
    /// How long the agent may wait for the SQL thread to catch up before answering, in milliseconds (0: answer at
    /// once). The agent bounds this by its own limit.
    public var maximumWaitMilliseconds: UInt32

    /// Creates a drain query.
    public init(maximumWaitMilliseconds: UInt32 = 0) {
        self.maximumWaitMilliseconds = maximumWaitMilliseconds
    }
}

/// What a ``ReachQuery`` asks about.
public enum ReachService: UInt8, Hashable, Sendable, CaseIterable {
    /// The host's `mariadbd`: can the agent connect to it and query it, and is its `read_only` ON
    /// (``ReachReport/readOnly``)?
    case mysql = 1
    /// The host's agent (does it answer a ping?).
    case agent = 2
    /// The monitor: has the agent heard from it within its lease timeout? (the lease peer check)
    case monitor = 3
}

/// The body of ``AgentRequest/canReach(_:)``.
public struct ReachQuery: Hashable, Sendable {
    /// The host in question (a configured host name; for ``ReachService/monitor`` the monitor's sender name).
    public var host: String
    /// Which of its services.
    public var service: ReachService

    /// Creates a reachability query.
    public init(host: String, service: ReachService) {
        self.host = host
        self.service = service
    }
}

/// The body of ``AgentRequest/fence(_:)``.
public struct FenceOrder: Hashable, Sendable {
    /// The host to fence: the agent's own host, or another host whose `mariadbd` the agent fences over SQL when
    /// that host's agent does not answer (DESIGN.md §4 step 2).
    public var target: String
    /// The monitor's epoch when it decided to fence.
    public var epoch: UInt64
    /// Why, for the agent's log.
    public var reason: String

    /// Creates a fence order.
    public init(target: String, epoch: UInt64, reason: String) {
        self.target = target
        self.epoch = epoch
        self.reason = reason
    }
}
