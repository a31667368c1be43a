/// What follows from a cluster event, in order.
///
/// Two kinds (the monitor's executor, `MonitorService`, does exactly this):
/// - **Carried out directly:** ``drainThenPromote(host:previousWriter:)`` (a promotion run: the fencing ladder, the
///   drain), ``cancelDrain(host:)``, ``promote(host:role:)`` (the new writer epoch) and
///   ``crossCheckWriter(host:via:)`` (the agents are asked).
/// - **Notifications, logged:** every other case. Their effect reaches the agents through the statuses: after each
///   batch the monitor recomputes every host's status from ``ClusterStateMachine/assignment`` with ``StatusPlan``
///   (which holds an exclusive role IP back from a host while another may still hold it) and its pushers deliver
///   them; each agent then converges to its status (roles, `read_only`, the writer it follows).
///
/// In PASSIVE mode the machine returns only ``hostStateChanged(host:_:)``, ``modeChanged(from:to:)`` and
/// ``crossCheckVetoed(host:by:)`` (to log): nothing may reach an agent.
public enum ClusterAction: Hashable, Sendable {
    /// A host changed state: logged (notice; critical when ``HostTransition/flapDetected``); the state is persisted
    /// and reaches the host in its next status. A host whose agent cannot be reached keeps only its claim on the
    /// writer IP (``StatusPlan/unreachable(_:)``): its other role IPs may be given to others (their duplicate-address
    /// probe guards them), while a writer is fenced by the promotion's ladder before anyone else gets the role.
    /// Unlike MMM, no `kill_host` follows an undelivered status.
    case hostStateChanged(host: String, HostTransition)
    /// These role IPs leave the host (a notification: the host's next status lacks them). When the writer role is
    /// among them the agent denies writes (`read_only=ON`, kill client sessions) before dropping the VIP. Always
    /// returned before any action that gives a role away.
    case removeRoles(host: String, roles: [RoleIP])
    /// These role IPs go to the host (a notification: its next status has them, once no other host may still hold
    /// them). Never the writer role: see ``promote(host:role:)``.
    case addRoles(host: String, roles: [RoleIP])
    /// Drain `host` (wait, bounded, until it has applied all it received, and `previousWriter`'s
    /// `gtid_binlog_pos` when that host is reachable), then report ``ClusterStateMachine/promotionDrained(host:at:)``
    /// or ``ClusterStateMachine/drainFailed(host:reason:at:)``. The writer role is held by nobody meanwhile.
    case drainThenPromote(host: String, previousWriter: String?)
    /// Stop draining `host`: its promotion was called off (it left ONLINE, the operator moved the role
    /// elsewhere, or the monitor went PASSIVE). A later drain confirmation for it is ignored.
    case cancelDrain(host: String)
    /// `host` drained: it is the writer under a new epoch, published in its next status; its agent stops
    /// replication from the old writer, turns `read_only` off, adds the VIP and announces it.
    case promote(host: String, role: RoleIP)
    /// These replicas follow the new writer (a notification, after ``promote(host:role:)``): their statuses name it
    /// as the master to follow once the monitor found the writer's GTID state contains theirs, and each agent then
    /// repoints by GTID.
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
    /// Every host is sent its full status from ``ClusterStateMachine/assignment`` (a notification: MMM's
    /// `cleanup_and_send_status`, at startup and when leaving PASSIVE). MMM's single pass could briefly put an
    /// exclusive role on two hosts when it moved while the monitor was down or PASSIVE; here ``StatusPlan`` starts
    /// from the IPs each host was found holding and gives none of them to another host until the holder has
    /// acknowledged a status without it (or was fenced).
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
