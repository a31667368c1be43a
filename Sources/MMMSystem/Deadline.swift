import MMMCore

/// Runs `operation`, but gives up when `duration` has passed on `clock` (house style §10 rule 7).
///
/// The operation and a sleep race in a task group; the first to finish wins and the other is cancelled. The
/// operation must honour cancellation: the call returns only once it has ended, like everything structured.
///
/// - Parameters:
///   - duration: how long the operation may take.
///   - clock: the clock to measure with; tests may pass their own.
///   - description: what is being waited for, for the error message (`"ping to db2"`).
///   - operation: the work.
/// - Throws: ``MMMCore/MMMError`` `timedOut` ("`description` did not finish within `duration`") when the deadline
///   passes first, otherwise what the operation throws.
public func withDeadline<T: Sendable, C: Clock<Duration>>(
    _ duration: Duration,
    clock: C = ContinuousClock(),
    _ description: String,
    operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let deadline = clock.now.advanced(by: duration)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await clock.sleep(until: deadline, tolerance: nil)
            return nil
        }
        defer { group.cancelAll() }
        // Force-unwrap: two children, so there is a first result.
        guard let value = try await group.next()! else {
            throw MMMError(.timedOut, "\(description) did not finish within \(duration)")
        }
        return value
    }
}
