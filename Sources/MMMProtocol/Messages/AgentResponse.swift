import MMMCore

/// An agent's answer to an ``AgentRequest``.
///
/// Each request has one success case; any request may be answered with ``failed(_:)`` instead.
public enum AgentResponse: Hashable, Sendable {
    /// Answer to ``AgentRequest/ping``.
    case pong(AgentPong)
    /// Answer to ``AgentRequest/setStatus(_:)``: what the agent holds after applying it.
    case statusApplied(AgentStatus)
    /// Answer to ``AgentRequest/getAgentStatus``.
    case agentStatus(AgentStatus)
    /// Answer to ``AgentRequest/getSystemInfo``.
    case systemInfo(SystemInfo)
    /// Answer to ``AgentRequest/clearBadRoles``: the role IPs removed.
    case badRolesCleared([RoleIP])
    /// Answer to ``AgentRequest/getDrainStatus(_:)``.
    case drainStatus(DrainStatus)
    /// Answer to ``AgentRequest/getGTIDPositions``.
    case gtidPositions(GTIDPositions)
    /// Answer to ``AgentRequest/canReach(_:)``.
    case reachability(ReachReport)
    /// Answer to ``AgentRequest/fence(_:)``.
    case fenced(FenceReport)
    /// The request could not be carried out.
    case failed(AgentFailure)
}

/// The body of ``AgentResponse/pong(_:)``.
public struct AgentPong: Hashable, Sendable {
    /// How long the host has been up, in milliseconds (MMM's `UP:` field; the monitor's quick recovery uses it).
    public var uptimeMilliseconds: UInt64

    /// Creates a pong.
    public init(uptimeMilliseconds: UInt64) {
        self.uptimeMilliseconds = uptimeMilliseconds
    }
}

/// What an agent was told last and holds (MMM's `GET_AGENT_STATUS` reply).
public struct AgentStatus: Hashable, Sendable {
    /// The state the monitor last set, or `nil` if no monitor has spoken to this agent since it started (MMM's
    /// `UNKNOWN`).
    public var state: HostState?
    /// The role IPs the agent holds.
    public var roles: [RoleIP]
    /// The active master the agent follows, if any.
    public var activeMaster: String?
    /// The highest monitor epoch the agent has accepted (0: none).
    public var epoch: UInt64
    /// How long the host has been up, in milliseconds.
    public var uptimeMilliseconds: UInt64
    /// The agent's last failed step (for example a refused VIP or a drain that timed out), empty when the last round
    /// of convergence succeeded. The monitor shows it in `show`.
    public var lastError: String
    /// The agent was given the writer role but fenced itself (its lease ran out) or was fenced by the monitor's
    /// order, and it takes the role again only from a status of a newer epoch (DESIGN.md §9.2). The monitor, when it
    /// still means this host to write, raises its epoch.
    public var fencedAwaitingEpoch: Bool

    /// Creates an agent status.
    public init(
        state: HostState?,
        roles: [RoleIP],
        activeMaster: String?,
        epoch: UInt64,
        uptimeMilliseconds: UInt64,
        lastError: String = "",
        fencedAwaitingEpoch: Bool = false
    ) {
        self.state = state
        self.roles = roles
        self.activeMaster = activeMaster
        self.epoch = epoch
        self.uptimeMilliseconds = uptimeMilliseconds
        self.lastError = lastError
        self.fencedAwaitingEpoch = fencedAwaitingEpoch
    }
}

/// What the host really has (MMM's `GET_SYSTEM_STATUS` reply).
public struct SystemInfo: Hashable, Sendable {
    /// Whether `read_only` is OFF.
    public var writable: Bool
    /// The configured role IPs present on the cluster interface.
    public var rolesOnInterface: [RoleIP]
    /// `Master_Host` of `SHOW SLAVE STATUS` (a host name or IP), or `nil` when the host replicates from nobody.
    public var replicationSource: String?
    /// How long the host has been up, in milliseconds.
    public var uptimeMilliseconds: UInt64
    /// Whether the agent means to hold the writer role (its last status gave it and its lease allows it), read
    /// together with the writer IP's presence while no writer-IP change runs: false with the writer IP absent means
    /// the host can take it only after a new status gives it the role.
    public var wantsWriterRole: Bool

    /// Creates a system report.
    public init(
        writable: Bool, rolesOnInterface: [RoleIP], replicationSource: String?, uptimeMilliseconds: UInt64,
        wantsWriterRole: Bool = false
    ) {
        self.writable = writable
        self.rolesOnInterface = rolesOnInterface
        self.replicationSource = replicationSource
        self.uptimeMilliseconds = uptimeMilliseconds
        self.wantsWriterRole = wantsWriterRole
    }
}

/// Whether a host has applied all it received (DESIGN.md §3 invariant 2).
public struct DrainStatus: Hashable, Sendable {
    /// Whether `MASTER_GTID_WAIT` on `Gtid_IO_Pos` returned 0 within the allowed wait.
    public var drained: Bool
    /// `Gtid_IO_Pos`: what the IO thread received (a GTID list).
    public var receivedPosition: String
    /// `gtid_slave_pos`: what the SQL thread applied (a GTID list).
    public var appliedPosition: String
    /// Whether the IO thread runs.
    public var ioThreadRunning: Bool
    /// Whether the SQL thread runs.
    public var sqlThreadRunning: Bool
    /// `Last_SQL_Errno` (0: none).
    public var lastSQLErrorNumber: UInt32

    /// Creates a drain report.
    public init(
        drained: Bool,
        receivedPosition: String,
        appliedPosition: String,
        ioThreadRunning: Bool,
        sqlThreadRunning: Bool,
        lastSQLErrorNumber: UInt32
    ) {
        self.drained = drained
        self.receivedPosition = receivedPosition
        self.appliedPosition = appliedPosition
        self.ioThreadRunning = ioThreadRunning
        self.sqlThreadRunning = sqlThreadRunning
        self.lastSQLErrorNumber = lastSQLErrorNumber
    }
}

/// A host's GTID variables, as MariaDB prints them (parse with `GTIDPosition(parsing:)` and
/// `GTIDBinlogState(parsing:)`; the decoder has already checked that they parse).
public struct GTIDPositions: Hashable, Sendable {
    /// `@@gtid_binlog_pos`.
    public var binlogPosition: String
    /// `@@gtid_binlog_state` (several GTIDs per domain possible).
    public var binlogState: String
    /// `@@gtid_current_pos`.
    public var currentPosition: String
    /// `@@gtid_slave_pos`.
    public var slavePosition: String
    /// `Gtid_IO_Pos` of `SHOW SLAVE STATUS` (empty when not a replica).
    public var receivedPosition: String

    /// Creates a GTID report.
    public init(
        binlogPosition: String,
        binlogState: String,
        currentPosition: String,
        slavePosition: String,
        receivedPosition: String
    ) {
        self.binlogPosition = binlogPosition
        self.binlogState = binlogState
        self.currentPosition = currentPosition
        self.slavePosition = slavePosition
        self.receivedPosition = receivedPosition
    }
}

/// The answer to a ``ReachQuery``.
public struct ReachReport: Hashable, Sendable {
    /// The host asked about.
    public var host: String
    /// The service asked about.
    public var service: ReachService
    /// Whether the agent reached it (for ``ReachService/monitor``: heard from the monitor within its lease).
    public var reachable: Bool
    /// For ``ReachService/monitor``: milliseconds since the agent last accepted a monitor message (`nil`: never).
    public var lastContactMilliseconds: UInt64?
    /// Details for the log (an error message, the query latency).
    public var detail: String
    /// For ``ReachService/mysql`` when reached: whether the server answered with `read_only` ON (a writer that
    /// fenced itself under its lease takes no writes, so it vetoes no failover); `nil` otherwise.
    public var readOnly: Bool?

    /// Creates a reachability report.
    public init(
        host: String,
        service: ReachService,
        reachable: Bool,
        lastContactMilliseconds: UInt64? = nil,
        detail: String = "",
        readOnly: Bool? = nil
    ) {
        self.host = host
        self.service = service
        self.reachable = reachable
        self.lastContactMilliseconds = lastContactMilliseconds
        self.detail = detail
        self.readOnly = readOnly
    }
}

/// What a fence did.
public struct FenceReport: Hashable, Sendable {
    /// The host fenced.
    public var target: String
    /// Whether `read_only` is now ON.
    public var readOnly: Bool
    /// How many client sessions were killed.
    public var sessionsKilled: UInt32
    /// The role IPs dropped (empty when fencing another host over SQL).
    public var rolesDropped: [RoleIP]

    /// Creates a fence report.
    public init(target: String, readOnly: Bool, sessionsKilled: UInt32, rolesDropped: [RoleIP]) {
        self.target = target
        self.readOnly = readOnly
        self.sessionsKilled = sessionsKilled
        self.rolesDropped = rolesDropped
    }
}

/// Why an agent could not carry out a request.
public struct AgentFailure: Hashable, Sendable {
    /// The ``MMMError`` code name (`timedOut`, `queryFailed`…), for matching.
    public var code: String
    /// What went wrong, for the log and `mmm_control`.
    public var message: String

    /// Creates a failure.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// A failure carrying `error`'s code and message (never its cause, which may hold details not meant for the
    /// network).
    public init(_ error: MMMError) {
        self.init(code: error.code.description, message: error.message)
    }
}

extension AgentResponse {
    /// Whether this is a possible answer to `request`: its own success case, or ``failed(_:)``.
    ///
    /// A requester checks this (with ``ProtocolFrame/isReply(to:)``) before acting on an answer.
    public func isAnswer(to request: AgentRequest) -> Bool {
        switch (request, self) {
        case (_, .failed),
            (.ping, .pong),
            (.setStatus, .statusApplied),
            (.getAgentStatus, .agentStatus),
            (.getSystemInfo, .systemInfo),
            (.clearBadRoles, .badRolesCleared),
            (.getDrainStatus, .drainStatus),
            (.getGTIDPositions, .gtidPositions),
            (.canReach, .reachability),
            (.fence, .fenced):
            return true
        default:
            return false
        }
    }
}

extension GTIDPositions {
    /// The positions as the core ranks them: `Gtid_IO_Pos` received, `gtid_slave_pos` and `gtid_binlog_pos` applied.
    ///
    /// - Throws: ``MMMCore/MMMError`` when a position is not valid GTID text.
    public func replicationPositions() throws(MMMError) -> ReplicationPositions {
        try ReplicationPositions(
            receivedPosition: self.receivedPosition, slavePosition: self.slavePosition, binlogPosition: self.binlogPosition
        )
    }
}

