import MMMCore

/// The `<monitor>` section.
public struct MonitorConfiguration: Sendable, Hashable {
    /// `ip`: where the monitor listens for `mmm_control` (required).
    public var ip: IPAddress
    /// `port`, default 9988.
    public var port: Int = 9988
    /// `pid_path` (monitor).
    public var pidPath: String?
    /// `bin_path` (monitor): base for a relative `kill_host_bin`.
    public var binPath: String?
    /// `status_path` (monitor): the persisted state file.
    public var statusPath: String?
    /// `monitor_signing_key` (swift-mmm, monitor): the file with the monitor's Ed25519 private key; required when
    /// `monitor_public_key` is set.
    public var signingKeyPath: String?
    /// `ping_interval`, default 1 s: time between rounds of the network self-check.
    public var pingInterval: Duration = .seconds(1)
    /// `ping_ips` (monitor): if any answers, the monitor has a network.
    public var pingIPs: [IPAddress] = []
    /// `flap_duration`, default 3600 s: the flap window.
    public var flapDuration: Duration = .seconds(3600)
    /// `flap_count`, default 3; 0 disables flap detection.
    public var flapCount: Int = 3
    /// `auto_set_online`, default 10 s (MMM: 0, disabled): time in AWAITING_RECOVERY before going ONLINE by
    /// itself. swift-mmm checks a returning host for errant GTIDs before it may go ONLINE, so a clean host
    /// can come back on its own; an explicit `auto_set_online 0` still disables it.
    public var autoSetOnline: Duration = .seconds(10)
    /// `kill_host_bin`, default `kill_host` (relative to `bin_path/monitor/`); see ``resolvedKillHostBin``.
    public var killHostBin: String = "kill_host"
    /// `careful_startup`, default true (MMM's code; its docs say 0).
    public var carefulStartup: Bool = true
    /// `mode`, default `active`.
    public var mode: MonitorMode = .active
    /// `wait_for_other_master`, default 120 s; 0 waits forever.
    public var waitForOtherMaster: Duration = .seconds(120)
    /// `failover_policy` (swift-mmm), default `default`; equal to ``MMMConfiguration/failoverPolicy`` (the
    /// top-level directive, which the agents read too, or this section's, which must then agree).
    public var failoverPolicy: FailoverPolicy = .default
    /// `drain_timeout` (swift-mmm), default 10 s: how long a candidate may take to apply its relay log.
    public var drainTimeout: Duration = .seconds(10)
    /// `drain_timeout_action` (swift-mmm), default `stop`.
    public var drainTimeoutAction: DrainTimeoutAction = .stop
    /// `cadence_report_interval` (swift-mmm), default 60 s: how often `mmm_mond` logs how regularly each check ran.
    public var cadenceReportInterval: Duration = .seconds(60)

    /// Creates a monitor section with defaults.
    public init(ip: IPAddress) {
        self.ip = ip
    }

    /// `kill_host_bin` as MMM runs it: a relative name is resolved to `bin_path/monitor/NAME`.
    public var resolvedKillHostBin: String {
        if self.killHostBin.hasPrefix("/") { return self.killHostBin }
        let base = self.binPath ?? ""
        return (base.hasSuffix("/") ? base : base + "/") + "monitor/" + self.killHostBin
    }
}
