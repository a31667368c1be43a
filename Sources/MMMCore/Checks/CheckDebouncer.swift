/// Debounces one check of one host: turns raw probe outcomes into reported status changes.
///
/// Follows MMM's checker (`Checker.pm::main`): only changes are reported; a failure is reported once it
/// has lasted `trap_period`; an `UNKNOWN` result is ignored and restarts the pending timer. Unlike MMM,
/// recovery from a reported failure is debounced too, by ``CheckPolicy/recoveryPeriod``.
///
/// The very first result is reported at once, failure or not, and `UNKNOWN` counts as failed there:
/// this is MMM's synchronous startup pass, which runs without trap period.
public struct CheckDebouncer: Hashable, Sendable {
    /// The status last reported: `nil` before the first result.
    public private(set) var reported: Bool?
    /// The candidate status that has not lasted long enough yet, and since when it holds.
    public var pending: (isOK: Bool, since: MonitorInstant)? {
        self.pendingValue.map { ($0.isOK, $0.since) }
    }

    private struct Pending: Hashable, Sendable {
        var isOK: Bool
        var since: MonitorInstant
    }

    private var pendingValue: Pending?
    private let policy: CheckPolicy

    /// Creates a debouncer that has seen nothing yet.
    public init(policy: CheckPolicy) {
        self.policy = policy
    }

    /// A status change to hand to the state machine.
    public struct Report: Hashable, Sendable {
        /// The new debounced status.
        public var isOK: Bool
        /// The probe's message (shown by `checks`).
        public var message: String
        /// When the change was reported (MMM's `last_change`).
        public var at: MonitorInstant
    }

    /// A probe finished with `outcome` at `now`. Returns a report when the debounced status changes.
    public mutating func probeCompleted(_ outcome: CheckOutcome, at now: MonitorInstant) -> Report? {
        let isOK: Bool
        let message: String
        switch outcome {
        case .ok(let text):
            isOK = true
            message = text
        case .failed(let text):
            isOK = false
            message = text
        case .unknown(let text):
            guard self.reported != nil else {
                // MMM's startup pass counts UNKNOWN as failed.
                self.reported = false
                return Report(isOK: false, message: text, at: now)
            }
            self.pendingValue = nil
            return nil
        }
        guard let reported = self.reported else {
            self.reported = isOK
            return Report(isOK: isOK, message: message, at: now)
        }
        guard reported != isOK else {
            self.pendingValue = nil
            return nil
        }
        let since: MonitorInstant
        if let pending = self.pendingValue, pending.isOK == isOK {
            since = pending.since
        } else {
            since = now
            self.pendingValue = Pending(isOK: isOK, since: now)
        }
        let needed = isOK ? self.policy.recoveryPeriod : self.policy.trapPeriod
        guard since.duration(to: now) >= needed else {
            return nil
        }
        self.reported = isOK
        self.pendingValue = nil
        return Report(isOK: isOK, message: message, at: now)
    }
}
