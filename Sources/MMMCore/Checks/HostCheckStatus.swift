/// The debounced status of the four checks of one host: what MMM's `ChecksStatus` holds.
///
/// A check is `nil` until its first result arrives; the host state machine does not judge a host
/// before ping and mysql are known (MMM runs a synchronous pass of every check before it starts).
public struct HostCheckStatus: Hashable, Sendable {
    /// Debounced `ping`.
    public var ping: Bool?
    /// Debounced `mysql`.
    public var mysql: Bool?
    /// Debounced `rep_threads`.
    public var repThreads: Bool?
    /// Debounced `rep_backlog`.
    public var repBacklog: Bool?
    /// Message of the last reported change per check (for `checks`).
    public var messages: [CheckKind: String]
    /// Time of the last reported change per check.
    public var lastChanges: [CheckKind: MonitorInstant]

    /// Creates a status; every check unknown unless given.
    public init(ping: Bool? = nil, mysql: Bool? = nil, repThreads: Bool? = nil, repBacklog: Bool? = nil) {
        self.ping = ping
        self.mysql = mysql
        self.repThreads = repThreads
        self.repBacklog = repBacklog
        self.messages = [:]
        self.lastChanges = [:]
    }

    /// All four checks OK.
    public static var allOK: Self { Self(ping: true, mysql: true, repThreads: true, repBacklog: true) }

    /// The debounced value of `check`.
    public subscript(check: CheckKind) -> Bool? {
        get {
            switch check {
            case .ping: return self.ping
            case .mysql: return self.mysql
            case .repThreads: return self.repThreads
            case .repBacklog: return self.repBacklog
            }
        }
        set {
            switch check {
            case .ping: self.ping = newValue
            case .mysql: self.mysql = newValue
            case .repThreads: self.repThreads = newValue
            case .repBacklog: self.repBacklog = newValue
            }
        }
    }

    /// Records a debounced report of `check`.
    public mutating func record(_ report: CheckDebouncer.Report, for check: CheckKind) {
        self[check] = report.isOK
        self.messages[check] = report.message
        self.lastChanges[check] = report.at
    }

    /// MMM's `last_change(host)`: the latest change over the four checks.
    public var lastChange: MonitorInstant? { self.lastChanges.values.max() }

    /// Whether ping and mysql are known.
    public var isKnown: Bool { self.ping != nil && self.mysql != nil }

    /// `ping && mysql`, unknown counting as failed.
    public var isReachable: Bool { self.ping == true && self.mysql == true }

    /// `rep_threads && rep_backlog`, unknown counting as OK (MMM's checks go UNKNOWN, keeping the last value,
    /// when mysqld is down; a value never reported cannot accuse the host).
    public var isReplicationHealthy: Bool { self.repThreads != false && self.repBacklog != false }
}

/// The four debouncers of one host.
public struct HostCheckDebouncers: Hashable, Sendable {
    private var debouncers: [CheckKind: CheckDebouncer]

    /// Creates debouncers with one policy per check (missing checks use MMM's defaults).
    public init(policies: [CheckKind: CheckPolicy]) {
        var debouncers: [CheckKind: CheckDebouncer] = [:]
        for check in CheckKind.allCases {
            debouncers[check] = CheckDebouncer(policy: policies[check] ?? CheckPolicy())
        }
        self.debouncers = debouncers
    }

    /// A probe of `check` finished with `outcome` at `now`; returns the report when the status changes.
    public mutating func probeCompleted(
        _ check: CheckKind,
        _ outcome: CheckOutcome,
        at now: MonitorInstant
    ) -> CheckDebouncer.Report? {
        self.debouncers[check]?.probeCompleted(outcome, at: now)
    }
}
