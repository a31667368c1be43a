import Logging
import MMMCore
import MMMSystem
import Synchronization

/// Sends the gratuitous ARP announcements of acquired IPs in the background, in a task group that ``run()`` owns.
///
/// An acquire must not wait for them: arping's usual wait for replies is most of a VIP move (DESIGN.md §7). Each
/// announcement is one short `arping` run; a release stops the announcements of its IP and waits for the one in
/// flight, because an announcement that left after the address was deleted would point neighbours back at this
/// host.
final class AnnouncementScheduler: Sendable {
    /// One IP's announcements; `id` tells a newer schedule of the same IP from an older one.
    private struct Job: Sendable {
        let ip: String
        let id: UInt64
    }

    private struct State {
        var nextID: UInt64 = 0
        /// The live job of each IP; a job whose id is no longer here stops before its next announcement.
        var live: [String: UInt64] = [:]
        /// How many announcement commands of each IP are running now.
        var running: [String: Int] = [:]
        /// Releases waiting for an IP's running announcements to end.
        var idleWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        var phase: Phase = .notStarted
    }

    private enum Phase {
        case notStarted, running, finished
    }

    private let state = Mutex(State())
    private let jobs: AsyncStream<Job>
    private let jobsContinuation: AsyncStream<Job>.Continuation
    private let count: Int
    private let interval: Duration
    private let commandDeadline: Duration
    private let send: @Sendable (String, Duration) async throws -> Void
    private let logger: Logger
    private let clock: MMMClock

    /// Creates a scheduler that announces each IP `count` times, `interval` apart, by calling `send` with the IP and
    /// a deadline (at most `commandDeadline`).
    init(
        count: Int,
        interval: Duration,
        commandDeadline: Duration,
        logger: Logger,
        clock: MMMClock = .system,
        send: @escaping @Sendable (String, Duration) async throws -> Void
    ) {
        self.clock = clock
        self.commandDeadline = commandDeadline
        (self.jobs, self.jobsContinuation) = AsyncStream.makeStream(of: Job.self)
        self.count = count
        self.interval = interval
        self.logger = logger
        self.send = send
    }

    /// Runs the announcements until the calling task is cancelled; call it once.
    func run() async {
        let mayStart = self.state.withLock { state in
            guard state.phase == .notStarted else { return false }
            state.phase = .running
            return true
        }
        guard mayStart else {
            self.logger.error("endpoint announcer run() called more than once; the extra call returns at once")
            return
        }
        defer {
            self.state.withLock { $0.phase = .finished }
            self.jobsContinuation.finish()
        }
        await withDiscardingTaskGroup { group in
            // Ends when this task is cancelled; the group's children are cancelled with it.
            for await job in self.jobs {
                group.addTask { await self.perform(job) }
            }
        }
    }

    /// Whether ``run()`` is active, so ``schedule(_:)`` sends in the background.
    var isRunning: Bool {
        self.state.withLock { $0.phase == .running }
    }

    /// Starts announcing `ip` in the background, replacing an earlier schedule of the same IP.
    ///
    /// - Returns: `false` (and schedules nothing) when ``run()`` is not running; the caller then announces inline.
    func schedule(_ ip: String) -> Bool {
        guard self.count > 0 else { return true }
        return self.state.withLock { state in
            guard state.phase == .running else { return false }
            state.nextID += 1
            state.live[ip] = state.nextID
            self.jobsContinuation.yield(Job(ip: ip, id: state.nextID))
            return true
        }
    }

    /// Announces `ip` in the caller's task (used when ``run()`` is not running), skipping what would not finish
    /// before `end`: the address is already added, so a late announcement is dropped rather than failing the call.
    func announceInline(_ ip: String, until end: MonitorInstant) async {
        for index in 0..<self.count {
            if index > 0 {
                guard self.clock.now + self.interval < end else {
                    self.logger.debug(
                        "gratuitous ARP skipped: deadline",
                        metadata: [LogKey.endpointIP: "\(ip)", LogKey.endpointSkipped: "\(self.count - index)"]
                    )
                    return
                }
                do { try await Task.sleep(for: self.interval) } catch { return }
            }
            let left = end - self.clock.now
            guard left > .zero else { return }
            await self.sendLogging(ip, deadline: min(left, self.commandDeadline))
        }
    }

    /// Stops the announcements of `ip` and returns once none of its announcement commands is running.
    func stop(_ ip: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mustWait = self.state.withLock { state in
                state.live[ip] = nil
                guard state.running[ip, default: 0] > 0 else { return false }
                state.idleWaiters[ip, default: []].append(continuation)
                return true
            }
            if !mustWait { continuation.resume() }
        }
    }

    private func perform(_ job: Job) async {
        defer {
            self.state.withLock { state in
                if state.live[job.ip] == job.id { state.live[job.ip] = nil }
            }
        }
        for index in 0..<self.count {
            if index > 0 {
                do { try await Task.sleep(for: self.interval) } catch { return }
            }
            let go = self.state.withLock { state in
                guard state.live[job.ip] == job.id else { return false }
                state.running[job.ip, default: 0] += 1
                return true
            }
            guard go else { return }
            await self.sendLogging(job.ip, deadline: self.commandDeadline)
            let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                let left = state.running[job.ip, default: 1] - 1
                guard left == 0 else {
                    state.running[job.ip] = left
                    return []
                }
                state.running[job.ip] = nil
                return state.idleWaiters.removeValue(forKey: job.ip) ?? []
            }
            waiters.forEach { $0.resume() }
        }
    }

    private func sendLogging(_ ip: String, deadline: Duration) async {
        do {
            try await self.send(ip, deadline)
        } catch {
            // Neighbours then keep the old MAC until their entry expires: worth an operator's attention.
            self.logger.warning(
                "gratuitous ARP failed",
                metadata: [LogKey.endpointIP: "\(ip)", "error": "\(error)"]
            )
        }
    }
}
