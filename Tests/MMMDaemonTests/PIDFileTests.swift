import MMMCore
import MMMTestSupport
import MMMDaemon
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("PIDFile")
struct PIDFileTests {
    @Test("acquiring writes the pid and releasing removes the file", .timeLimit(.minutes(1)))
    func acquireWritesAndReleaseRemoves() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/mmm_agentd.pid"
            let pidFile = try PIDFile.acquire(path: path, program: "mmm_agentd")
            #expect(pidFile.isHeld)
            #expect(readFile(path) == "\(getpid())\n")
            pidFile.release()
            #expect(!pidFile.isHeld)
            #expect(!fileExists(path))
            pidFile.release()
        }
    }

    @Test("a second instance is refused with the holder's pid and the file in the message", .timeLimit(.minutes(1)))
    func secondInstanceRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/mmm_agentd.pid"
            // flock locks belong to the open file description, so a second open in this process conflicts like
            // another process would.
            let first = try PIDFile.acquire(path: path, program: "mmm_agentd", pid: 4242)
            let error = #expect(throws: MMMError.self) {
                try PIDFile.acquire(path: path, program: "mmm_agentd", pid: 5353)
            }
            #expect(error?.code == .commandFailed)
            #expect(error?.message.hasPrefix("mmm_agentd is already running as pid 4242 (lock on \(path))") == true)
            // The refused instance neither removed nor rewrote the file.
            #expect(readFile(path) == "4242\n")
            first.release()
        }
    }

    @Test(
        "a stale file from a crashed run is taken over, whatever pid it names",
        .timeLimit(.minutes(1)),
        arguments: ["999999999\n", "1\n", "garbage", ""]
    )
    func staleFileAccepted(_ contents: String) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/mmm_mond.pid"
            // A dead pid, a live but unrelated one (pid 1, as after pid reuse), or nonsense: without the lock held,
            // none of them blocks the start.
            writeFile(path, contents)
            let pidFile = try PIDFile.acquire(path: path, program: "mmm_mond", pid: 777)
            #expect(readFile(path) == "777\n")
            pidFile.release()
            #expect(!fileExists(path))
        }
    }

    @Test("after a release another instance can start", .timeLimit(.minutes(1)))
    func reacquireAfterRelease() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/mmm_agentd.pid"
            let first = try PIDFile.acquire(path: path, program: "mmm_agentd", pid: 10)
            first.release()
            let second = try PIDFile.acquire(path: path, program: "mmm_agentd", pid: 11)
            #expect(readFile(path) == "11\n")
            second.release()
        }
    }

    @Test(
        "a pid file dropped without release (as in a crash) leaves the file but not the lock",
        .timeLimit(.minutes(1))
    )
    func droppedWithoutReleaseKeepsNoLock() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/mmm_agentd.pid"
            do {
                _ = try PIDFile.acquire(path: path, program: "mmm_agentd", pid: 12)
            }
            #expect(readFile(path) == "12\n")
            let next = try PIDFile.acquire(path: path, program: "mmm_agentd", pid: 13)
            #expect(readFile(path) == "13\n")
            next.release()
        }
    }

    @Test("an unusable path fails with the path in the message", .timeLimit(.minutes(1)))
    func unusablePath() {
        let error = #expect(throws: MMMError.self) {
            try PIDFile.acquire(path: "/nonexistent-mmm-directory/mmm_agentd.pid", program: "mmm_agentd")
        }
        #expect(error?.message.contains("/nonexistent-mmm-directory/mmm_agentd.pid") == true)
    }
}
