import MMMCore
import NIOConcurrencyHelpers
import NIOPosix

/// Runs Connector/C's blocking calls on a dedicated thread pool, never on Swift's cooperative pool, and enforces a
/// deadline on every call.
///
/// A blocking C call cannot be interrupted, so a call that outlives its deadline keeps its pool thread until the
/// socket timeout ends it; the caller gets ``MMMError/Code/timedOut`` at the deadline all the same. Size the pool for
/// the worst case, every managed server hanging at once (about two threads per server plus a few spare): measured,
/// 64 hung connects took 4 s with 16 threads and 1 s with 64.
public final class MariaDBExecutor: Sendable {
    private let pool: NIOThreadPool

    /// The number of threads in the pool.
    public let numberOfThreads: Int

    /// Creates and starts an executor with `numberOfThreads` threads.
    public init(numberOfThreads: Int) {
        precondition(numberOfThreads > 0, "a MariaDBExecutor needs at least one thread, got \(numberOfThreads)")
        self.numberOfThreads = numberOfThreads
        self.pool = NIOThreadPool(numberOfThreads: numberOfThreads)
        self.pool.start()
        MariaDBLibrary.initializeOnce()
    }

    /// A pool size for `servers` managed servers: two threads each plus eight spare.
    public static func recommendedThreads(forServers servers: Int) -> Int {
        max(8, 2 * servers + 8)
    }

    /// A pool size for a monitor whose checks keep `connections` connections open, when connects to servers that
    /// do not answer are tried without a thread first (``MMMMonitor/HostProber``): one thread per connection plus
    /// eight spare, at most `limit`. Threads are then held only by calls to servers that accepted the connection, so
    /// the limit caps memory (each thread costs its stack) at the price of queueing once more than `limit` calls hang
    /// at once (servers frozen after accepting); a queued call still ends by its deadline.
    public static func boundedThreads(forConnections connections: Int, limit: Int = 128) -> Int {
        min(max(8, connections + 8), max(8, limit))
    }

    /// Stops the pool after the calls already submitted have finished.
    public func shutdownGracefully() async throws {
        try await self.pool.shutdownGracefully()
    }

    /// Runs `work` on a pool thread and returns its result, or throws ``DeadlineExceeded`` once `deadline` has passed.
    ///
    /// When the deadline wins, `work` still runs to its end on its thread; its result is dropped, and `abandoned`
    /// tells it (checked by ``MariaDBConnection``) to close the handle instead of returning it to use.
    func run<T: Sendable>(
        deadline: ContinuousClock.Instant,
        _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await self.runCancellable(work)
            }
            group.addTask {
                // Why a sleeping child rather than a timer: it ends with the group, so nothing outlives the call.
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            // Force-unwrap: the group has two children, so next() returns at least once.
            let first = try await group.next()!
            group.cancelAll()
            guard let value = first else { throw DeadlineExceeded() }
            return value
        }
    }

    /// Submits `work` to the pool; the awaiting task resumes when `work` returns or as soon as it is cancelled.
    private func runCancellable<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let once = ResumeOnce<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                once.install(continuation)
                self.pool.submit { state in
                    // A call whose deadline or cancellation came while it waited for a thread is not run: its caller
                    // has its answer, and a late connect would only hold the thread (and open a connection) for
                    // nothing.
                    guard !once.isResolved else { return }
                    guard case .active = state else {
                        once.resume(
                            with: .failure(
                                MMMError(.connectionClosed, "the MariaDB thread pool is shut down; the call was not run")
                            )
                        )
                        return
                    }
                    once.resume(with: Result { try work() })
                }
            }
        } onCancel: {
            once.resume(with: .failure(CancellationError()))
        }
    }
}

/// A continuation that is resumed at most once, by whichever of the pool thread or the cancellation comes first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private enum State {
        case waiting
        case installed(CheckedContinuation<T, any Error>)
        case earlyResult(Result<T, any Error>)
        case done
    }

    private let state = NIOLockedValueBox(State.waiting)

    /// Whether the awaiting task already has its result (cancellation came first).
    var isResolved: Bool {
        self.state.withLockedValue { state in
            switch state {
            case .waiting, .installed: return false
            case .earlyResult, .done: return true
            }
        }
    }

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = self.state.withLockedValue { state in
            switch state {
            case .waiting:
                state = .installed(continuation)
                return nil
            case .earlyResult(let result):
                state = .done
                return result
            case .installed, .done:
                preconditionFailure("ResumeOnce.install called twice")
            }
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<T, any Error>) {
        let continuation: CheckedContinuation<T, any Error>? = self.state.withLockedValue { state in
            switch state {
            case .waiting:
                state = .earlyResult(result)
                return nil
            case .installed(let continuation):
                state = .done
                return continuation
            case .earlyResult, .done:
                return nil
            }
        }
        // Resumed outside the lock: never call out while holding it.
        continuation?.resume(with: result)
    }
}

/// Thrown by ``MariaDBExecutor/run(deadline:_:)`` when the deadline passed first; callers turn it into an
/// ``MMMError`` that names the server and the call.
struct DeadlineExceeded: Error {}
