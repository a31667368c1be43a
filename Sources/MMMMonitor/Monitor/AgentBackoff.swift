import MMMCore

/// When to try an agent again that could not be connected to: after each failure the wait doubles, from `base` up to
/// ``maximum``; a success starts over. A plain value, time passed in.
struct AgentBackoff: Sendable, Hashable {
    /// The longest wait between two attempts: short, because a status that waits for an agent to answer (a host
    /// coming back, an agent started after the monitor) only moves on when a push gets through.
    static let maximum: Duration = .seconds(2)

    /// The wait after the first failure.
    let base: Duration
    private var failures = 0
    private var next: MonitorInstant?

    /// Creates a backoff whose first wait is `base`.
    init(base: Duration) {
        self.base = base
    }

    /// The wait after the failures so far (zero before any).
    var wait: Duration {
        guard self.failures > 0 else { return .zero }
        var wait = self.base
        for _ in 1..<self.failures where wait < Self.maximum { wait *= 2 }
        return min(wait, Self.maximum)
    }

    /// Whether an attempt may start at `now`.
    func mayTry(at now: MonitorInstant) -> Bool {
        guard let next = self.next else { return true }
        return now >= next
    }

    /// An attempt started at `now` could not connect.
    mutating func failed(at now: MonitorInstant) {
        self.failures += 1
        self.next = now + self.wait
    }

    /// An attempt reached the agent.
    mutating func succeeded() {
        self.failures = 0
        self.next = nil
    }
}
