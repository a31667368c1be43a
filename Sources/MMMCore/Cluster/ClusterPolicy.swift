/// Monitor modes (`mode` in `<monitor>`, `set_active`, `set_manual`, `set_passive`).
public enum MonitorMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// Full automation: failed hosts lose their roles, orphans are reassigned, `prefer` is obeyed.
    case active = "ACTIVE"
    /// States change and orphaned roles are assigned, but `prefer` is not applied; the admin moves roles.
    case manual = "MANUAL"
    /// Like manual until both masters are ONLINE or one has been for `waitForOtherMaster`; then active.
    case wait = "WAIT"
    /// No role changes and no messages to agents; only `set_ip` edits the in-memory assignment.
    case passive = "PASSIVE"
}

/// Timings and policy of the monitor's decisions (the `<monitor>` section plus swift-mmm's additions).
public struct ClusterPolicy: Hashable, Sendable, Codable {
    /// `auto_set_online`: time in AWAITING_RECOVERY before an automatic ONLINE. `nil` (MMM's 0) disables it.
    public var autoSetOnline: Duration?
    /// `flap_duration`: the sliding flap window, and the quiet time before auto-onlining a flapping host.
    public var flapDuration: Duration
    /// `flap_count`: more than this many drops from ONLINE inside the window means flapping. 0 disables.
    public var flapCount: Int
    /// `wait_for_other_master`: WAIT mode's patience for the second master. `nil` (MMM's 0) waits forever.
    public var waitForOtherMaster: Duration?
    /// MMM's hard-coded quick-recovery window: a host down for less than this (by agent uptime) goes ONLINE.
    public var quickRecoveryWindow: Duration
    /// The grace after the peer went ONLINE, during which a host's replication is not judged (its replication from
    /// a peer that just came back may need a moment). MMM hard-codes 60 s; swift-mmm's checks are debounced over
    /// their trap periods already, so 5 s is enough and a broken replica is not left ONLINE for a minute.
    public var peerOnlineGrace: Duration
    /// How long a candidate that failed to drain is skipped before it may be tried again.
    public var drainRetryDelay: Duration
    /// How long a promoted writer's agent may report a failed step without having taken the role (writable, writer
    /// IP on its interface) before the monitor takes the role back and tries the next eligible host
    /// (``ClusterStateMachine/writerTakeFailing(host:error:at:)``). swift-mmm's own.
    public var writerTakeTimeout: Duration
    /// How long the monitor waits for the answer to a writer cross-check (``ClusterAction/crossCheckWriter(host:via:)``)
    /// before asking again, and how long one answer counts: a veto is re-checked this long after it came, so a writer
    /// that really dies later is still caught. swift-mmm's own (MMM has no cross-check).
    public var crossCheckTimeout: Duration
    /// `careful_startup`: go PASSIVE at startup when the writer VIP is configured on more than one host.
    public var carefulStartup: Bool
    /// The configured `mode` the monitor starts in when no stored state says otherwise.
    public var initialMode: MonitorMode

    /// Creates a policy; every default is MMM 2.2's except the peer grace (5 s, MMM 60 s); drain retry and cross-check timeout are
    /// swift-mmm's own.
    public init(
        autoSetOnline: Duration? = nil,
        flapDuration: Duration = .seconds(3600),
        flapCount: Int = 3,
        waitForOtherMaster: Duration? = .seconds(120),
        quickRecoveryWindow: Duration = .seconds(60),
        peerOnlineGrace: Duration = .seconds(5),
        drainRetryDelay: Duration = .seconds(30),
        writerTakeTimeout: Duration = .seconds(20),
        crossCheckTimeout: Duration = .seconds(2),
        carefulStartup: Bool = true,
        initialMode: MonitorMode = .active
    ) {
        self.autoSetOnline = autoSetOnline
        self.flapDuration = flapDuration
        self.flapCount = flapCount
        self.waitForOtherMaster = waitForOtherMaster
        self.quickRecoveryWindow = quickRecoveryWindow
        self.peerOnlineGrace = peerOnlineGrace
        self.drainRetryDelay = drainRetryDelay
        self.writerTakeTimeout = writerTakeTimeout
        self.crossCheckTimeout = crossCheckTimeout
        self.carefulStartup = carefulStartup
        self.initialMode = initialMode
    }
}
