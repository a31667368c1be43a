import MMMCore
/// A `<check NAME>` section, after the `<check default>` template has filled its unset values.
///
/// The defaults are swift-mmm's, per check, chosen so that a crashed writer is noticed in about a second
/// (MMM 2.2's 5 s / 10 s / 2 s for every check took 10–15 s); see ``init(defaultsFor:)`` and
/// docs/configuration.md. Every directive written in the files overrides them.
public struct CheckConfiguration: Sendable, Hashable {
    /// `check_period`: pause between two probes of this check on one host (ping 250 ms, mysql 250 ms,
    /// rep_threads 500 ms, rep_backlog 1 s; MMM: 5 s).
    public var checkPeriod: Duration
    /// `trap_period`: a failure is reported only once it has lasted this long (ping 1 s, mysql 750 ms,
    /// rep_threads 1.5 s, rep_backlog 3 s; MMM: 10 s). Fractions allowed.
    public var trapPeriod: Duration
    /// `recovery_period` (swift-mmm), default 1 s: a recovery is reported only once it has lasted this
    /// long (MMM reports recoveries at once and flaps because of it). 0 gives MMM's behaviour.
    public var recoveryPeriod: Duration
    /// `timeout`: the deadline of one probe (ping and mysql 500 ms, rep_threads and rep_backlog 1 s; MMM: 2 s).
    public var timeout: Duration
    /// `restart_after`, default 10000: accepted for compatibility; unused (dead in MMM too).
    public var restartAfter: Int = 10000
    /// `max_backlog`, default 60: the `rep_backlog` threshold in seconds of replication lag.
    public var maxBacklog: Duration = .seconds(60)

    /// Creates a check with swift-mmm's defaults for `kind`.
    ///
    /// | check | check_period | trap_period | timeout |
    /// | --- | --- | --- | --- |
    /// | ping | 250 ms | 1 s | 500 ms |
    /// | mysql | 250 ms | 750 ms | 500 ms |
    /// | rep_threads | 500 ms | 1.5 s | 1 s |
    /// | rep_backlog | 1 s | 3 s | 1 s |
    ///
    /// `recovery_period` is 1 s, `max_backlog` 60 and `restart_after` 10000 for all four.
    public init(defaultsFor kind: CheckKind) {
        self.recoveryPeriod = .seconds(1)
        switch kind {
        case .ping:
            self.checkPeriod = .milliseconds(250)
            self.trapPeriod = .seconds(1)
            self.timeout = .milliseconds(500)
        case .mysql:
            self.checkPeriod = .milliseconds(250)
            self.trapPeriod = .milliseconds(750)
            self.timeout = .milliseconds(500)
        case .repThreads:
            self.checkPeriod = .milliseconds(500)
            self.trapPeriod = .milliseconds(1500)
            self.timeout = .seconds(1)
        case .repBacklog:
            self.checkPeriod = .seconds(1)
            self.trapPeriod = .seconds(3)
            self.timeout = .seconds(1)
        }
    }
}

/// The four checks; every one always exists (MMM creates missing ones from `<check default>`).
public struct ChecksConfiguration: Sendable, Hashable {
    /// `<check ping>`.
    public var ping = CheckConfiguration(defaultsFor: .ping)
    /// `<check mysql>`.
    public var mysql = CheckConfiguration(defaultsFor: .mysql)
    /// `<check rep_threads>`.
    public var repThreads = CheckConfiguration(defaultsFor: .repThreads)
    /// `<check rep_backlog>`.
    public var repBacklog = CheckConfiguration(defaultsFor: .repBacklog)

    /// Creates four checks with swift-mmm's defaults (``CheckConfiguration/init(defaultsFor:)``).
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
