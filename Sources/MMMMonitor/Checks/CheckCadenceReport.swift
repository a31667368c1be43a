import MMMCore

/// How regularly one check ran over a window (``CheckScheduler/cadenceReport()``), for the hosts whose latest
/// outcome passed and, apart, for the others: so that a DBA (and the scale benchmark) can see that hosts that hang
/// do not delay the checks of those that answer.
public struct CheckCadenceReport: Sendable, Hashable {
    /// The intervals of one group of hosts.
    public struct Group: Sendable, Hashable {
        /// Hosts in the group.
        public var hosts = 0
        /// Intervals measured: the time between two consecutive probe starts of the same host and check.
        public var intervals = 0
        /// The median interval (zero without intervals).
        public var median: Duration = .zero
        /// The 99th percentile (nearest rank).
        public var p99: Duration = .zero
        /// The longest interval.
        public var maximum: Duration = .zero
        /// Ticks skipped because the host's previous probe was still running.
        public var skippedTicks = 0
        /// Probes ended by the scheduler's guard deadline.
        public var guardExpired = 0

        /// An empty group.
        public init() {}

        /// The group of `intervals` (microseconds) with its counters.
        init(hosts: Int, intervals: [UInt32], skippedTicks: Int, guardExpired: Int) {
            self.hosts = hosts
            self.intervals = intervals.count
            self.skippedTicks = skippedTicks
            self.guardExpired = guardExpired
            guard !intervals.isEmpty else { return }
            let sorted = intervals.sorted()
            self.median = .microseconds(sorted[(sorted.count - 1) / 2])
            let rank = Int((0.99 * Double(sorted.count)).rounded(.up)) - 1
            self.p99 = .microseconds(sorted[min(max(rank, 0), sorted.count - 1)])
            self.maximum = .microseconds(sorted[sorted.count - 1])
        }
    }

    /// The check.
    public var check: CheckKind
    /// Its `check_period`.
    public var period: Duration
    /// How long the window was.
    public var window: Duration
    /// Hosts whose latest probe of the check passed.
    public var passing: Group
    /// Hosts whose latest probe failed or could not tell, or that have no outcome yet.
    public var failing: Group

    /// Creates a report.
    public init(check: CheckKind, period: Duration, window: Duration, passing: Group, failing: Group) {
        self.check = check
        self.period = period
        self.window = window
        self.passing = passing
        self.failing = failing
    }

    /// Whether passing hosts' checks fell behind: a 99th-percentile interval over twice the period means the monitor
    /// itself is too slow (overloaded machine, too many hosts), not the hosts.
    public var passingFellBehind: Bool {
        self.passing.intervals > 0 && self.passing.p99 > self.period * 2
    }
}

/// What ``CheckScheduler`` keeps of one (host, check) pair: counters since start and the current report window.
struct CheckCadenceWindow: Sendable {
    /// Since the scheduler started.
    var statistics = CheckCadenceStatistics()
    /// When the last probe started.
    var lastStart: MonitorInstant?
    /// Intervals between probe starts in this window, in microseconds (4 bytes each: 1,000 hosts, 4 checks and a
    /// minute at one probe per second is under 1 MB).
    var intervals: [UInt32] = []
    /// Skipped ticks in this window.
    var skippedTicks = 0
    /// Guard expiries in this window.
    var guardExpired = 0
    /// Whether the latest outcome passed (`nil`: none yet).
    var lastPassed: Bool?

    /// Records a probe start at `now`.
    mutating func started(at now: MonitorInstant) {
        self.statistics.started += 1
        if let last = self.lastStart {
            let interval = now - last
            let microseconds = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
            self.intervals.append(UInt32(clamping: microseconds))
            if interval > self.statistics.longestInterval { self.statistics.longestInterval = interval }
        }
        self.lastStart = now
    }
}
