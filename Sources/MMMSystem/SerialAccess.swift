import Synchronization

/// Runs async bodies one at a time, in arrival order: the monitor's requests to one agent, an agent's writer-IP
/// changes.
public final class SerialAccess: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Creates an idle gate.
    public init() {}

    /// Runs `body` after every body that arrived earlier has finished.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mayRun = self.state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if mayRun { continuation.resume() }
        }
        defer { self.release() }
        try Task.checkCancellation()
        return try await body()
    }

    private func release() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
