import Foundation
import MMMCore
import MMMSystem

/// What happened during the last change of writer: kept in the status file and shown by `mmm_control failover_report`.
///
/// Steps carry milliseconds since the report began (when the writer role was taken from its holder, or found orphaned).
/// The in-flight window lists what the candidate applied from its relay log during the drain: transactions the old
/// writer committed that may never have been acknowledged to their clients (the seed's un-ACKed window), now on the new
/// writer.
public struct FailoverReport: Codable, Sendable, Hashable {
    /// One step.
    public struct Step: Codable, Sendable, Hashable {
        /// Milliseconds since the report began.
        public var atMilliseconds: Int64
        /// What happened, in words.
        public var text: String
    }

    /// Wall-clock time the report began (ISO 8601, UTC).
    public var startedAt: String
    /// Why the writer changed: the old writer's state change, or the operator's command.
    public var cause: String
    /// The writer before, if there was one.
    public var previousWriter: String?
    /// The host being promoted.
    public var candidate: String
    /// The steps, in order.
    public var steps: [Step]
    /// Transactions applied by the candidate during the drain (received before, applied after the old writer was lost).
    public var inFlight: String?
    /// Things skipped and why.
    public var skipped: [String]
    /// `completed`, `failed: <reason>`, or `running`.
    public var outcome: String

    /// Starts a report.
    public init(startedAt: Date, cause: String, previousWriter: String?, candidate: String) {
        self.startedAt = ISO8601DateFormatter().string(from: startedAt)
        self.cause = cause
        self.previousWriter = previousWriter
        self.candidate = candidate
        self.steps = []
        self.inFlight = nil
        self.skipped = []
        self.outcome = "running"
    }

    /// The text `mmm_control failover_report` prints.
    public var text: String {
        var lines = [
            "Failover report (\(self.outcome))",
            "  started:   \(self.startedAt)",
            "  cause:     \(self.cause)",
            "  previous:  \(self.previousWriter ?? "none")",
            "  candidate: \(self.candidate)",
            "  steps:",
        ]
        for step in self.steps {
            lines.append("    +\(step.atMilliseconds) ms  \(step.text)")
        }
        lines.append("  in flight: \(self.inFlight ?? "nothing applied during the drain")")
        if self.skipped.isEmpty {
            lines.append("  skipped:   nothing")
        } else {
            lines.append("  skipped:")
            for item in self.skipped { lines.append("    \(item)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Builds the report of the promotion in progress; owned by the decision loop.
struct FailoverRecorder {
    private(set) var report: FailoverReport
    private let began: MonitorInstant
    private let clock: MMMClock

    /// Starts recording, on `clock`.
    init(cause: String, previousWriter: String?, candidate: String, clock: MMMClock) {
        self.clock = clock
        self.began = clock.now
        self.report = FailoverReport(
            startedAt: clock.date(self.began), cause: cause, previousWriter: previousWriter, candidate: candidate
        )
    }

    /// Adds a step now.
    mutating func step(_ text: String) {
        let elapsed = self.clock.now - self.began
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        self.report.steps.append(FailoverReport.Step(atMilliseconds: milliseconds, text: text))
    }

    /// Records something not done, and why.
    mutating func skipped(_ text: String) {
        self.report.skipped.append(text)
    }

    /// Records the drain window.
    mutating func inFlight(_ text: String) {
        self.report.inFlight = text
    }

    /// Ends the report.
    mutating func finish(_ outcome: String) {
        self.step(outcome == "completed" ? "completed" : outcome)
        self.report.outcome = outcome
    }
}
