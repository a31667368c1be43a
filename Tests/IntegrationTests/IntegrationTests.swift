import Foundation
import MMMCore
import MMMTestSupport
import MariaDBClient
import Testing

/// True when the real-server suite should run (the README's test command sets `MMM_TEST_MARIADB=1`; `.ci/run` fails
/// if this suite did not run).
let realServersEnabled = ProcessInfo.processInfo.environment["MMM_TEST_MARIADB"] == "1"

/// Every test that uses the bench lives under this suite: `.serialized` is inherited by the nested suites, and only
/// one bench can run on a machine at a time.
@Suite("Real MariaDB servers on the bench", .serialized, .enabled(if: realServersEnabled, "set MMM_TEST_MARIADB=1"))
struct IntegrationTests {}

/// Polls `condition` every 50 ms until it returns a value or `timeout` passes; the last error is rethrown.
func eventually<T: Sendable>(
    timeout: Duration = .seconds(10),
    _ what: String,
    _ condition: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if let value = try await condition() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw MMMError(.timedOut, "\(what) did not happen within \(timeout)", cause: lastError)
}

/// Runs `body` with an executor sized for the tests and shuts it down afterwards.
func withExecutor<T: Sendable>(threads: Int = 32, _ body: (MariaDBExecutor) async throws -> T) async throws -> T {
    let executor = MariaDBExecutor(numberOfThreads: threads)
    do {
        let value = try await body(executor)
        try await executor.shutdownGracefully()
        return value
    } catch {
        try? await executor.shutdownGracefully()
        throw error
    }
}
