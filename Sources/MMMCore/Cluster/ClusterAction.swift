/// What the monitor must do after a cluster event. The executor runs actions in order.
///
/// In PASSIVE mode the machine returns only ``hostStateChanged(host:_:)``, ``modeChanged(from:to:)`` and
/// ``crossCheckVetoed(host:by:)`` (to log): nothing may reach an agent.
public enum ClusterAction: Hashable, Sendable {
    /// A host changed state: log it (notice; critical when ``HostTransition/flapDetected``), persist, and
    /// send the host its status. Entering ADMIN_OFFLINE the agent stops replication (`STOP SLAVE`); leaving
    /// it, the agent starts it again, as in MMM. If the status cannot be delivered to a host that just lost
    /// roles, the executor fences it (MMM's `kill_host`).
    case hostStateChanged(host: String, HostTransition)
    /// Take these role IPs from the host. When the writer role is among them the agent denies writes
    /// (`read_only=ON`, kill client sessions) before dropping the VIP. Always returned before any
    /// action that gives a role away.
    case removeRoles(host: String, roles: [RoleIP])
    /// Give these role IPs to the host (never the writer role: see ``promote(host:role:)``).
    case addRoles(host: String, roles: [RoleIP])
    /// Drain `host` (wait, bounded, until it has applied all it received, and `previousWriter`'s
    /// `gtid_binlog_pos` when that host is reachable), then report ``ClusterStateMachine/promotionDrained(host:at:)``
    /// or ``ClusterStateMachine/drainFailed(host:reason:at:)``. The writer role is held by nobody meanwhile.
    case drainThenPromote(host: String, previousWriter: String?)
    /// Stop draining `host`: its promotion was called off (it left ONLINE, the operator moved the role
    /// elsewhere, or the monitor went PASSIVE). A later drain confirmation for it is ignored.
    case cancelDrain(host: String)
    /// `host` drained: make it the writer (stop replication from the old writer, `read_only=OFF`, add the
    /// VIP, gratuitous ARP, publish the new writer epoch).
    case promote(host: String, role: RoleIP)
    /// Repoint these replicas, by GTID, to the new writer (after ``promote(host:role:)``).
    case repointReplicas(newWriter: String, replicas: [String])
    /// The writer `host` fails the monitor's ping or mysql check: ask the agents of `via` (in this order: the
    /// writer's peer first) whether they can still reach its `mysqld`, then report every answer together through
    /// ``ClusterStateMachine/writerCrossChecked(host:reachableFrom:unreachableFrom:at:)``; an agent that does not
    /// answer in time is left out of both lists. Until then the writer stays ONLINE with its roles. Returned again
    /// after ``ClusterPolicy/crossCheckTimeout`` when no usable answer came, and to re-check a veto.
    case crossCheckWriter(host: String, via: [String])
    /// The monitor cannot reach the writer `host`, but the agents of `by` can: no failover. Log it as a warning
    /// (e.g. "monitor cannot reach the writer db1 but db2 can: no failover"): the monitor's own network is the
    /// likely fault. Returned when a veto begins and when the hosts vetoing change, not at every re-check.
    case crossCheckVetoed(host: String, by: [String])
    /// The monitor mode changed.
    case modeChanged(from: MonitorMode, to: MonitorMode)
    /// Push every host its full status from ``ClusterStateMachine/assignment``: MMM's
    /// `cleanup_and_send_status` at startup and when leaving PASSIVE, in MMM's host order (passive
    /// master, slaves, writer last).
    ///
    /// - Important: in two passes. First every host, in this order, drops each role IP it holds but is
    ///   not assigned (MMM's `CLEAR_BAD_ROLES`; for the writer role: deny writes first) and confirms;
    ///   only then does each host, in this order, get its assigned roles. MMM's single pass can briefly
    ///   put an exclusive role on two hosts when it moved while the monitor was down or PASSIVE.
    case sendStatusToAll(hosts: [String])
}

/// The answer to an `mmm_control` command: MMM's reply text plus what to do.
public struct ControlReply: Hashable, Sendable {
    /// The text `mmm_control` prints, as MMM 2.2 words it.
    public var text: String
    /// Actions to execute (empty for refusals and no-ops).
    public var actions: [ClusterAction]

    /// Creates a reply.
    public init(_ text: String, actions: [ClusterAction] = []) {
        self.text = text
        self.actions = actions
    }

    /// Whether MMM would count this as an error (`ERROR:` or `Error:`); `mmm_control` can exit non-zero.
    public var isError: Bool {
        self.text.hasPrefix("ERROR") || self.text.hasPrefix("Error")
    }
}

/// A promotion waiting for its drain confirmation.
public struct PendingPromotion: Hashable, Sendable {
    /// The candidate being drained.
    public var host: String
    /// The writer before (nil when the role was orphaned with no known previous holder).
    public var previousWriter: String?
    /// When the drain was requested.
    public var requestedAt: MonitorInstant
    /// Requested by `move_role --force`.
    public var forced: Bool
}
