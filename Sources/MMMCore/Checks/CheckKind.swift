/// The four checks MMM runs against every host, in MMM's display order.
public enum CheckKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// ICMP echo to the host's IP.
    case ping
    /// Connect and `SELECT NOW()`.
    case mysql
    /// Both replication threads running (`Connecting` passes, as in MMM).
    case repThreads = "rep_threads"
    /// `Seconds_Behind_Master` at most the check's `max_backlog`.
    case repBacklog = "rep_backlog"
}

/// One raw probe result, before debouncing (MMM's `OK`, `ERROR`, `UNKNOWN` lines).
public enum CheckOutcome: Hashable, Sendable {
    /// The check passed.
    case ok(message: String)
    /// The check failed; counts towards `trap_period`.
    case failed(message: String)
    /// The check could not tell (e.g. error 1040, or rep checks while mysqld is down): ignored, and it
    /// restarts the trap timer, as in MMM.
    case unknown(message: String)

    /// The result of `rep_backlog` for a `Seconds_Behind_Master` value, as MMM judges it.
    ///
    /// `nil` (SQL thread stopped) passes, as in MMM: `rep_threads` catches a stopped thread.
    public static func repBacklog(secondsBehindMaster: Int?, maxBacklog: Int) -> Self {
        guard let seconds = secondsBehindMaster, seconds > 0 else {
            return .ok(message: "OK: Backlog is null")
        }
        if seconds > maxBacklog {
            return .failed(message: "ERROR: Backlog is too big")
        }
        return .ok(message: "OK")
    }
}

/// Debouncing settings of one `<check NAME>` section.
public struct CheckPolicy: Hashable, Sendable, Codable {
    /// `trap_period`: a failure is reported once it has lasted this long.
    public var trapPeriod: Duration
    /// How long a reported failure must stay OK before recovery is reported. MMM has no such setting
    /// (zero: the first OK result is reported), which makes hosts flap; swift-mmm makes it configurable.
    public var recoveryPeriod: Duration
    /// `max_backlog`: the largest `Seconds_Behind_Master` that passes `rep_backlog` (ignored by other checks).
    public var maxBacklog: Int

    /// Creates a policy with MMM's defaults (10 s trap, no recovery debounce, 60 s backlog).
    public init(trapPeriod: Duration = .seconds(10), recoveryPeriod: Duration = .zero, maxBacklog: Int = 60) {
        self.trapPeriod = trapPeriod
        self.recoveryPeriod = recoveryPeriod
        self.maxBacklog = maxBacklog
    }

    /// The `rep_backlog` outcome for a `Seconds_Behind_Master` value under this policy's `max_backlog`.
    public func repBacklogOutcome(secondsBehindMaster: Int?) -> CheckOutcome {
        CheckOutcome.repBacklog(secondsBehindMaster: secondsBehindMaster, maxBacklog: self.maxBacklog)
    }
}
