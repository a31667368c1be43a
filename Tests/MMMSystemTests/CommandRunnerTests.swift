import MMMCore
import MMMSystem
import NIOPosix
import Testing

@Suite(.timeLimit(.minutes(1)))
struct CommandRunnerTests {
    /// Runs `body` with a runner on a fresh pool.
    func withRunner(_ body: (CommandRunner) async throws -> Void) async throws {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        do {
            try await body(CommandRunner(pool: pool))
            try await pool.shutdownGracefully()
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    @Test func argumentsReachTheProgramVerbatimWithoutAShell() async throws {
        try await withRunner { runner in
            let result = try await runner.run("/bin/echo", ["a b", "; touch /tmp/mmm-injected", "$(id)", "`id`"], deadline: .seconds(5))
            #expect(result.status == 0)
            #expect(result.output == "a b ; touch /tmp/mmm-injected $(id) `id`\n")
        }
    }

    @Test func statusAndInterleavedOutput() async throws {
        try await withRunner { runner in
            let result = try await runner.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], deadline: .seconds(5))
            #expect(result.status == 3)
            #expect(result.output == "out\nerr\n")
        }
    }

    @Test func aProgramPastItsDeadlineIsKilled() async throws {
        try await withRunner { runner in
            let started = ContinuousClock.now
            let error = await #expect(throws: MMMError.self) {
                _ = try await runner.run("/bin/sleep", ["30"], deadline: .milliseconds(300))
            }
            #expect(error?.code == .timedOut)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test func relativeOrMissingProgramsAreClearErrors() async throws {
        try await withRunner { runner in
            let relative = await #expect(throws: MMMError.self) { _ = try await runner.run("ip", [], deadline: .seconds(1)) }
            #expect(relative?.code == .invalidArgument)
            let missing = await #expect(throws: MMMError.self) {
                _ = try await runner.run("/nonexistent/program", [], deadline: .seconds(1))
            }
            #expect(missing?.code == .commandFailed)
            #expect(missing?.message.contains("/nonexistent/program") == true)
        }
    }

    /// Regression: the output file was opened without close-on-exec, so every program inherited it (and any other
    /// runner's open output file), which made a freshly written script fail with ETXTBSY in the agent's tests.
    @Test func theChildInheritsNoOutputFileButItsOwnStandardOutput() async throws {
        try await withRunner { runner in
            let result = try await runner.run("/bin/ls", ["-l", "/proc/self/fd"], deadline: .seconds(5))
            let outputFiles = result.output.split(separator: "\n").filter { $0.contains("mmm-command-") }
            #expect(outputFiles.count == 2, "only fd 1 and 2 may point at the output file: \(outputFiles)")
        }
    }
}
