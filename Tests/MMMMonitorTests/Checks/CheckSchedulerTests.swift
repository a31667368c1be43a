import Logging
import MMMConfig
import MMMCore
import MMMMonitor
import NIOConcurrencyHelpers
import Testing

/// Counts the log messages that contain `text`.
private struct CountingLogHandler: LogHandler {
    let text: String
    let count: NIOLockedValueBox<Int>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if "\(event.message)".contains(self.text) { self.count.withLockedValue { $0 += 1 } }
    }
}

/// A prober whose probes answer at once, or hang (until cancelled) while `hanging` is set.
final class FakeProber: CheckProbing {
    let host: MonitoredHost
    let hanging: NIOLockedValueBox<Bool>
    let running = NIOLockedValueBox(0)
    let maxConcurrentPerCheck = NIOLockedValueBox<[CheckKind: Int]>([:])
    private let current = NIOLockedValueBox<[CheckKind: Int]>([:])

    init(name: String, hanging: Bool = false) {
        self.host = MonitoredHost(name: name, ip: "10.0.0.1", monitorUser: "mon", monitorPassword: Secret("pw"))
        self.hanging = NIOLockedValueBox(hanging)
    }

    func probe(_ check: CheckKind) async -> CheckOutcome {
        self.current.withLockedValue { current in
            current[check, default: 0] += 1
            let now = current[check]!
            self.maxConcurrentPerCheck.withLockedValue { $0[check] = max($0[check] ?? 0, now) }
        }
        defer { self.current.withLockedValue { $0[check, default: 0] -= 1 } }
        if self.hanging.withLockedValue({ $0 }) {
            // Ignores cancellation for a while, like a blocking call that has its own (longer) deadline.
            try? await Task.sleep(for: .milliseconds(600))
            return .failed(message: "late")
        }
        return .ok(message: "OK")
    }

    let closed = NIOLockedValueBox(false)

    func close() async {
        self.closed.withLockedValue { $0 = true }
    }
}

@Suite struct CheckSchedulerTests {
    static func checks(period: Duration, timeout: Duration) -> ChecksConfiguration {
        var checks = ChecksConfiguration()
        for kind in CheckKind.allCases {
            checks[kind].checkPeriod = period
            checks[kind].timeout = timeout
        }
        return checks
    }

    /// Collects events for `duration`, then stops the scheduler.
    static func collect(_ scheduler: CheckScheduler, for duration: Duration) async throws -> [CheckEvent] {
        try await withThrowingTaskGroup(of: [CheckEvent]?.self) { group in
            group.addTask {
                try await scheduler.run()
                return nil
            }
            group.addTask {
                var events: [CheckEvent] = []
                for await event in scheduler.events { events.append(event) }
                return events
            }
            try await Task.sleep(for: duration)
            group.cancelAll()
            var collected: [CheckEvent] = []
            for try await result in group {
                if let result { collected = result }
            }
            return collected
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aHungHostNeverDelaysTheOthersAndItsTicksAreSkippedNotPiledUp() async throws {
        let healthy = FakeProber(name: "db1")
        let hung = FakeProber(name: "db2", hanging: true)
        let period = Duration.milliseconds(100)
        let scheduler = CheckScheduler(
            probers: [healthy, hung], checks: Self.checks(period: period, timeout: .milliseconds(150)),
            guardMargin: .milliseconds(50)
        )
        let events = try await Self.collect(scheduler, for: .seconds(2))

        for check in CheckKind.allCases {
            let times = events.filter { $0.host == "db1" && $0.check == check }.map(\.at)
            #expect(times.count >= 15, "db1 \(check) ran \(times.count) times in 2 s at a 100 ms period")
            let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
            #expect(gaps.allSatisfy { $0 < period * 2 }, "db1 \(check) gaps: \(gaps)")
        }
        // db2's probes outlive the guard (200 ms): each delivers the guard's timeout outcome, and ticks that find the
        // previous probe still running are skipped, never started twice.
        let db2 = events.filter { $0.host == "db2" }
        #expect(db2.contains { $0.check == .mysql && $0.outcome == .failed(message: "ERROR: Timeout") })
        #expect(db2.contains { $0.check == .ping && $0.outcome == .failed(message: "ERROR: Could not ping 10.0.0.1") })
        #expect(db2.contains { $0.check == .repThreads && { if case .unknown = $0.outcome { true } else { false } }($0) })
        #expect(db2.allSatisfy { $0.duration >= .milliseconds(190) && $0.duration < .milliseconds(500) })
        for check in CheckKind.allCases {
            let statistics = scheduler.statistics(host: "db2", check: check)
            #expect(statistics.skippedTicks > 0)
            #expect(statistics.guardExpired == statistics.completed)
            #expect(hung.maxConcurrentPerCheck.withLockedValue { $0[check] } == 1)
            // A tick finds db1's instant probe unfinished only when the machine starves the scheduler (CI on two busy
            // cores did once); the hung host must not cause skips there: far fewer than its own.
            let healthySkips = scheduler.statistics(host: "db1", check: check).skippedTicks
            #expect(healthySkips <= 2 && healthySkips * 4 < statistics.skippedTicks, "db1 \(check) skipped \(healthySkips)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theCadenceReportSeparatesAnsweringHostsFromHungOnesAndStartsANewWindow() async throws {
        let healthy = [FakeProber(name: "db1"), FakeProber(name: "db2")]
        let hung = FakeProber(name: "db3", hanging: true)
        let period = Duration.milliseconds(100)
        let scheduler = CheckScheduler(
            probers: healthy + [hung], checks: Self.checks(period: period, timeout: .milliseconds(150)),
            guardMargin: .milliseconds(50)
        )
        _ = try await Self.collect(scheduler, for: .milliseconds(1500))

        let reports = scheduler.cadenceReport()
        #expect(reports.map(\.check) == CheckKind.allCases)
        for report in reports {
            #expect(report.period == period)
            #expect(report.window >= .milliseconds(1500))
            #expect(report.passing.hosts == 2 && report.failing.hosts == 1, "\(report.check)")
            // About 14 intervals per healthy host in 1.5 s; each a period apart (a starved CI machine may stretch one).
            #expect(report.passing.intervals >= 20, "\(report.check): \(report.passing)")
            #expect(report.passing.median >= .milliseconds(90) && report.passing.median < .milliseconds(150))
            #expect(report.passing.maximum >= report.passing.p99 && report.passing.p99 >= report.passing.median)
            #expect(!report.passingFellBehind, "\(report.check): \(report.passing)")
            // The hung host's probes last until the guard (200 ms), so its probes start two or more periods apart.
            #expect(report.failing.intervals >= 3, "\(report.check): \(report.failing)")
            #expect(report.failing.median >= .milliseconds(190), "\(report.check): \(report.failing)")
            #expect(report.failing.skippedTicks > 0 && report.failing.guardExpired > 0)
            #expect(report.passing.guardExpired == 0)
            #expect(scheduler.statistics(host: "db3", check: report.check).longestInterval >= report.failing.maximum)
        }
        // A new window: nothing ran since.
        for report in scheduler.cadenceReport() {
            #expect(report.passing.intervals == 0 && report.failing.intervals == 0)
            #expect(report.failing.skippedTicks == 0 && report.window < .seconds(1))
            #expect(report.passing.hosts == 2, "the latest outcome is kept across windows")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aHostWhoseProbesLastAboutOnePeriodLogsItsSkippedTicksOnceNotOnEveryOtherTick() async throws {
        let skipLines = NIOLockedValueBox(0)
        let logger = Logger(label: "test") { _ in CountingLogHandler(text: "skipping ticks", count: skipLines) }
        // The guard ends each hung probe after 110 ms, just past the 100 ms period: every other tick is skipped.
        let scheduler = CheckScheduler(
            probers: [FakeProber(name: "db1", hanging: true)],
            checks: Self.checks(period: .milliseconds(100), timeout: .milliseconds(60)),
            guardMargin: .milliseconds(50), logger: logger
        )
        _ = try await Self.collect(scheduler, for: .milliseconds(1500))
        let skipped = scheduler.statistics(host: "db1", check: .mysql).skippedTicks
        #expect(skipped >= 4, "skipped \(skipped) ticks")
        #expect(skipLines.withLockedValue { $0 } == CheckKind.allCases.count, "one line per check, not one per skip")
    }

    @Test
    func aReportWhosePassingHostsLagTwoPeriodsSaysTheyFellBehind() {
        var report = CheckCadenceReport(
            check: .mysql, period: .seconds(1), window: .seconds(60), passing: .init(), failing: .init()
        )
        #expect(!report.passingFellBehind, "no intervals, nothing fell behind")
        report.passing.intervals = 100
        report.passing.p99 = .milliseconds(2000)
        #expect(!report.passingFellBehind)
        report.passing.p99 = .milliseconds(2001)
        #expect(report.passingFellBehind)
    }

    @Test(.timeLimit(.minutes(1)))
    func eventsEndAndConnectionsCloseWhenTheSchedulerStops() async throws {
        let prober = FakeProber(name: "db1")
        let scheduler = CheckScheduler(
            probers: [prober], checks: Self.checks(period: .milliseconds(50), timeout: .seconds(1))
        )
        let events = try await Self.collect(scheduler, for: .milliseconds(300))
        #expect(prober.closed.withLockedValue { $0 }, "a cancelled scheduler still closes its probers' connections")
        // Every check's first probe starts at once.
        #expect(Set(events.map(\.check)) == Set(CheckKind.allCases))
        #expect(events.allSatisfy { $0.outcome == .ok(message: "OK") })
    }
}
