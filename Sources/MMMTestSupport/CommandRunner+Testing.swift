import MMMSystem
import NIOPosix

/// Runs `body` with a command runner on a started thread pool of `threads` threads, and shuts the pool down
/// afterwards (also when `body` throws).
public func withRunner<T: Sendable>(
    threads: Int = 4,
    _ body: (CommandRunner) async throws -> T
) async throws -> T {
    let pool = NIOThreadPool(numberOfThreads: threads)
    pool.start()
    do {
        let value = try await body(CommandRunner(pool: pool))
        try await pool.shutdownGracefully()
        return value
    } catch {
        try? await pool.shutdownGracefully()
        throw error
    }
}
