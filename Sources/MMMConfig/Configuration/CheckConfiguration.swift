import MMMCore
/// A `<check NAME>` section, after the `<check default>` template has filled its unset values.
public struct CheckConfiguration: Sendable, Hashable {
    /// `check_period`, default 5 s: pause after each round over all hosts.
    public var checkPeriod: Duration = .seconds(5)
    /// `trap_period`, default 10 s: a failure is reported only once it has lasted this long. Fractions allowed.
    public var trapPeriod: Duration = .seconds(10)
    /// `recovery_period` (swift-mmm), default 2 s: a recovery is reported only once it has lasted this
    /// long (MMM reports recoveries at once and flaps because of it). 0 gives MMM's behaviour.
    public var recoveryPeriod: Duration = .seconds(2)
    /// `timeout`, default 2 s: the deadline of one check.
    public var timeout: Duration = .seconds(2)
    /// `restart_after`, default 10000: accepted for compatibility; unused (dead in MMM too).
    public var restartAfter: Int = 10000
    /// `max_backlog`, default 60: the `rep_backlog` threshold in seconds of replication lag.
    public var maxBacklog: Duration = .seconds(60)

    /// Creates a check with MMM's defaults.
    public init() {}
}

/// The four checks; every one always exists (MMM creates missing ones from `<check default>`).
public struct ChecksConfiguration: Sendable, Hashable {
    /// `<check ping>`.
    public var ping = CheckConfiguration()
    /// `<check mysql>`.
    public var mysql = CheckConfiguration()
    /// `<check rep_threads>`.
    public var repThreads = CheckConfiguration()
    /// `<check rep_backlog>`.
    public var repBacklog = CheckConfiguration()

    /// Creates four checks with MMM's defaults.
    public init() {}

    /// The configuration of one check.
    public subscript(_ name: CheckKind) -> CheckConfiguration {
        get {
            switch name {
            case .ping: return self.ping
            case .mysql: return self.mysql
            case .repThreads: return self.repThreads
            case .repBacklog: return self.repBacklog
            }
        }
        set {
            switch name {
            case .ping: self.ping = newValue
            case .mysql: self.mysql = newValue
            case .repThreads: self.repThreads = newValue
            case .repBacklog: self.repBacklog = newValue
            }
        }
    }
}
