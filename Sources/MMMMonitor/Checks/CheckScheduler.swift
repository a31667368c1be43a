import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import MMMSystem
import MariaDBClient
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Something that runs checks against one host: ``HostProber``, or a fake in tests.
public protocol CheckProbing: Sendable {
    /// The host probed (its name keys the events).
    var host: MonitoredHost { get }
    /// Runs `check` once; never throws (every failure is an outcome). Must honour task cancellation.
    func probe(_ check: CheckKind) async -> CheckOutcome
    /// Releases kept connections.
    func close() async
}

extension HostProber: CheckProbing {}

/// One raw probe result, as the decision loop receives it (before debouncing).
public struct CheckEvent: Sendable, Hashable {
    /// The host's name.
    public var host: String
    /// The check that ran.
    public var check: CheckKind
    /// What it found.
    public var outcome: CheckOutcome
    /// When the outcome was known.
    public var at: MonitorInstant
    /// How long the probe took (up to its guard deadline when the guard ended it).
    public var duration: Duration

    /// Creates an event.
    public init(host: String, check: CheckKind, outcome: CheckOutcome, at: MonitorInstant, duration: Duration) {
        self.host = host
        self.check = check
        self.outcome = outcome
        self.at = at
        self.duration = duration
    }
}

/// Counters of one host's check in a ``CheckScheduler``.
public struct CheckCadenceStatistics: Sendable, Hashable {
    /// Probes started.
    public var started = 0
    /// Probes that delivered an outcome.
    public var completed = 0
    /// Ticks at which the previous probe was still running, so no probe started (no pile-up on a hung host).
    public var skippedTicks = 0
    /// Probes ended by the scheduler's guard deadline rather than by the probe's own deadline.
    public var guardExpired = 0
    /// The longest time between two consecutive probe starts.
    public var longestInterval: Duration = .zero

    /// All zero.
    public init() {}
}

/// Runs every check of every host on its own cadence (`check_period`, sub-second allowed), all hosts and checks
/// concurrently, and delivers each outcome as a ``CheckEvent`` on ``events``.
///
/// Unlike MMM, which runs each check over the hosts one after the other and then sleeps, every (host, check) pair
/// has its own timer: a tick every `check_period` starts a probe unless the previous probe of that pair is still
/// running, in which case the tick is skipped and counted (``statistics(host:check:)``). So a hung host costs its own
/// checks their ticks and nothing else. Each probe is bounded by its check's `timeout` inside ``HostProber`` and,
/// as a second line, by `timeout + guardMargin` here: when the guard fires the scheduler delivers the timeout outcome
/// (`ERROR: Timeout` for mysql, `ERROR: Could not ping` for ping, `UNKNOWN` for the replication checks) at once, and
/// the probe's next tick waits until the stuck probe has really ended.
///
/// Run it in a `ServiceGroup` (it stops on graceful shutdown) or call ``run()`` in a task and cancel it. ``events``
/// ends when ``run()`` returns. The stream keeps the newest 4096 events if nobody reads it.
public final class CheckScheduler: Service, Sendable {
    /// The probe results, in the order they became known. One reader (an `AsyncStream`).
    public let events: AsyncStream<CheckEvent>

    private let continuation: AsyncStream<CheckEvent>.Continuation
    private let probers: [any CheckProbing]
    private let checks: ChecksConfiguration
    private let guardMargin: Duration
    private let logger: Logger
    private let clock: MMMClock
    /// One lock per (host, check) pair, so that 4,000 pairs do not contend for one; the dictionaries never change.
    private let windows: [String: [CheckKind: NIOLockedValueBox<CheckCadenceWindow>]]
    private let windowStart: NIOLockedValueBox<MonitorInstant>

    /// Creates a scheduler for `probers` (one per host).
    ///
    /// - Parameters:
    ///   - probers: one per host; host names must be unique.
    ///   - checks: each check's `check_period` (the cadence) and `timeout` (the probe's deadline).
    ///   - guardMargin: added to `timeout` for the scheduler's own deadline around each probe.
    ///   - logger: skipped ticks and guard expiries are logged at `notice`.
    ///   - clock: times the cadence and stamps the events.
    public init(
        probers: [any CheckProbing],
        checks: ChecksConfiguration,
        guardMargin: Duration = .milliseconds(500),
        logger: Logger = Logger(label: "mmm.monitor.checks"),
        clock: MMMClock = .system
    ) {
        self.clock = clock
        (self.events, self.continuation) = AsyncStream.makeStream(of: CheckEvent.self, bufferingPolicy: .bufferingNewest(4096))
        self.probers = probers
        self.checks = checks
        self.guardMargin = guardMargin
        self.logger = logger
        var windows: [String: [CheckKind: NIOLockedValueBox<CheckCadenceWindow>]] = [:]
        for prober in probers {
            windows[prober.host.name] = Dictionary(
                uniqueKeysWithValues: CheckKind.allCases.map { ($0, NIOLockedValueBox(CheckCadenceWindow())) }
            )
        }
        self.windows = windows
        self.windowStart = NIOLockedValueBox(clock.now)
    }

    /// Creates a scheduler with one ``HostProber`` per `<host>` of `configuration`.
    public convenience init(
        configuration: MMMConfiguration,
        executor: MariaDBExecutor,
        pinger: ICMPPinger,
        logger: Logger = Logger(label: "mmm.monitor.checks"),
        clock: MMMClock = .system
    ) {
        let probers = configuration.hosts.map { host in
            HostProber(host: MonitoredHost(host), checks: configuration.checks, executor: executor, pinger: pinger, clock: clock)
        }
        self.init(probers: probers, checks: configuration.checks, logger: logger, clock: clock)
    }

    /// The counters of `check` on `host` so far.
    public func statistics(host: String, check: CheckKind) -> CheckCadenceStatistics {
        self.windows[host]?[check]?.withLockedValue { $0.statistics } ?? CheckCadenceStatistics()
    }

    /// How regularly each check ran since the previous call (or since the scheduler was created), one report per
    /// check kind in MMM's order; starts a new window.
    ///
    /// Hosts are grouped by their latest outcome of that check, so that the intervals of hosts that answer show
    /// whether hosts that hang delay them (they must not).
    public func cadenceReport() -> [CheckCadenceReport] {
        let now = self.clock.now
        let window = self.windowStart.withLockedValue { start in
            defer { start = now }
            return now - start
        }
        return CheckKind.allCases.map { check in
            var passing: (hosts: Int, intervals: [UInt32], skipped: Int, expired: Int) = (0, [], 0, 0)
            var failing = passing
            for hostWindows in self.windows.values {
                guard let box = hostWindows[check] else { continue }
                let (intervals, skipped, expired, passed) = box.withLockedValue { pair in
                    defer {
                        pair.intervals.removeAll(keepingCapacity: true)
                        pair.skippedTicks = 0
                        pair.guardExpired = 0
                    }
                    return (pair.intervals, pair.skippedTicks, pair.guardExpired, pair.lastPassed ?? false)
                }
                if passed {
                    passing.hosts += 1
                    passing.intervals += intervals
                    passing.skipped += skipped
                    passing.expired += expired
                } else {
                    failing.hosts += 1
                    failing.intervals += intervals
                    failing.skipped += skipped
                    failing.expired += expired
                }
            }
            return CheckCadenceReport(
                check: check,
                period: self.checks[check].checkPeriod,
                window: window,
                passing: .init(
                    hosts: passing.hosts, intervals: passing.intervals, skippedTicks: passing.skipped,
                    guardExpired: passing.expired
                ),
                failing: .init(
                    hosts: failing.hosts, intervals: failing.intervals, skippedTicks: failing.skipped,
                    guardExpired: failing.expired
                )
            )
        }
    }

    /// Runs the checks until the task is cancelled or a graceful shutdown is triggered; then closes the probers'
    /// connections and finishes ``events``. The first probe of every check starts at once.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for prober in self.probers {
                    for check in CheckKind.allCases {
                        group.addTask { await self.cadence(prober, check) }
                    }
                }
            }
        }
        // In a task of its own: when run() ends because its task was cancelled, closing in this task would be
        // cancelled too and leave the connections' sockets open.
        let probers = self.probers
        await Task {
            for prober in probers { await prober.close() }
        }.value
        self.continuation.finish()
    }

    /// The timer of one (host, check) pair.
    private func cadence(_ prober: any CheckProbing, _ check: CheckKind) async {
        let period = self.checks[check].checkPeriod
        let host = prober.host.name
        let running = NIOLockedValueBox(false)
        await withDiscardingTaskGroup { probes in
            var next = self.clock.now
            // Logged when the pair starts skipping ticks, and again only after it kept its period for
            // `startsToLogAgain` probes in a row: a dead host whose probes last one period skips every other tick,
            // and 850 of them made 850 log lines a second. The cadence report counts every skipped tick.
            let startsToLogAgain = 10
            var skipLogged = false
            var startsSinceSkip = 0
            while !Task.isCancelled {
                do {
                    try await self.clock.sleep(until: next)
                } catch {
                    break
                }
                let start = running.withLockedValue { isRunning -> Bool in
                    if isRunning { return false }
                    isRunning = true
                    return true
                }
                if start {
                    let now = self.clock.now
                    self.update(host, check) { $0.started(at: now) }
                    probes.addTask {
                        await self.probeOnce(prober, check)
                        running.withLockedValue { $0 = false }
                    }
                    startsSinceSkip += 1
                    if startsSinceSkip >= startsToLogAgain { skipLogged = false }
                } else {
                    self.update(host, check) { window in
                        window.statistics.skippedTicks += 1
                        window.skippedTicks += 1
                    }
                    startsSinceSkip = 0
                    if !skipLogged {
                        skipLogged = true
                        self.logger.notice(
                            "check still running at its next tick; skipping ticks until it ends",
                            metadata: [LogKey.host: "\(host)", LogKey.check: "\(check.rawValue)"]
                        )
                    }
                }
                next += period
                // After a stall (a suspended process, an overloaded machine) resume the cadence from now instead of
                // firing every missed tick at once.
                let now = self.clock.now
                if next < now { next = now }
            }
        }
    }

    /// One probe raced against the guard deadline; delivers the first outcome and returns when the probe has ended.
    private func probeOnce(_ prober: any CheckProbing, _ check: CheckKind) async {
        let started = self.clock.now
        let limit = self.checks[check].timeout + self.guardMargin
        let host = prober.host
        await withTaskGroup(of: (CheckOutcome, Bool)?.self) { group in
            group.addTask { (await prober.probe(check), false) }
            group.addTask {
                do {
                    try await Task.sleep(for: limit)
                } catch {
                    return nil
                }
                return (Self.guardOutcome(check, host: host, limit: limit), true)
            }
            guard let first = await group.next() ?? nil else {
                // Cancelled before either finished: the scheduler is stopping.
                group.cancelAll()
                return
            }
            group.cancelAll()
            let (outcome, byGuard) = first
            guard !Task.isCancelled else { return }
            let now = self.clock.now
            self.update(host.name, check) { window in
                window.statistics.completed += 1
                if byGuard {
                    window.statistics.guardExpired += 1
                    window.guardExpired += 1
                }
                if case .ok = outcome { window.lastPassed = true } else { window.lastPassed = false }
            }
            if byGuard {
                self.logger.notice(
                    "probe exceeded its guard deadline",
                    metadata: [LogKey.host: "\(host.name)", LogKey.check: "\(check.rawValue)", LogKey.duration: "\(limit)"]
                )
            }
            self.continuation.yield(
                CheckEvent(host: host.name, check: check, outcome: outcome, at: now, duration: now - started)
            )
        }
    }

    /// The outcome delivered when a probe outlives `timeout + guardMargin`: what the probe itself reports for a
    /// timeout (``CheckMessages``), so the texts have one owner.
    static func guardOutcome(_ check: CheckKind, host: MonitoredHost, limit: Duration) -> CheckOutcome {
        let error = HostProber.timeout(limit, host)
        switch check {
        case .ping:
            return CheckMessages.ping(ip: host.ip, error: error)
        case .mysql:
            return CheckMessages.mysql(ip: host.ip, port: host.mysqlPort, user: host.monitorUser, phase: .query, error: error)
        case .repThreads, .repBacklog:
            return CheckMessages.replicationUnreadable(
                ip: host.ip, port: host.mysqlPort, user: host.monitorUser, phase: .query, error: error
            )
        }
    }

    private func update(_ host: String, _ check: CheckKind, _ update: (inout CheckCadenceWindow) -> Void) {
        self.windows[host]?[check]?.withLockedValue { update(&$0) }
    }
}
