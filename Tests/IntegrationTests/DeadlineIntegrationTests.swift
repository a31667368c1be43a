import Foundation
import MMMCore
import MMMTestSupport
import MariaDBClient
import NIOConcurrencyHelpers
import Testing

extension IntegrationTests {
    @Suite("Deadlines: a slow or dead host never stalls the caller")
    struct DeadlineIntegrationTests {
        @Test("a connect to a black-holed address fails by its 1 s deadline", .timeLimit(.minutes(1)))
        func blackHoledConnect() async throws {
            try await Bench.withBench(hosts: 1) { bench in
                let void = try #require(bench.blackHoleIP, "the black-holed address needs the namespace bench")
                try await withExecutor { executor in
                    let configuration = MariaDBConfiguration(
                        name: "void", host: void, user: "nobody", password: "x", connectTimeout: .seconds(1)
                    )
                    let started = ContinuousClock.now
                    let error = await #expect(throws: MMMError.self) {
                        _ = try await MariaDBConnection.connect(configuration, on: executor)
                    }
                    let elapsed = ContinuousClock.now - started
                    #expect(elapsed < .milliseconds(1300), "took \(elapsed)")
                    #expect(elapsed >= .milliseconds(900), "it should have waited for the deadline, took \(elapsed)")
                    #expect(error?.code == .timedOut || error?.code == .connectionFailed)
                    #expect(error?.message.contains(void) == true)
                }
            }
        }

        @Test("a listener that never sends the handshake fails the connect by its deadline", .timeLimit(.minutes(1)))
        func silentListener() async throws {
            let listener = try SilentListener()
            defer { listener.close() }
            try await withExecutor { executor in
                let configuration = MariaDBConfiguration(
                    name: "silent", host: "127.0.0.1", port: listener.port, user: "nobody", password: "x",
                    connectTimeout: .milliseconds(500)
                )
                let started = ContinuousClock.now
                let error = await #expect(throws: MMMError.self) {
                    _ = try await MariaDBConnection.connect(configuration, on: executor)
                }
                let elapsed = ContinuousClock.now - started
                // Connector/C rounds its socket timeout up to 1 s; the executor still returns at 500 ms.
                #expect(elapsed < .milliseconds(800), "took \(elapsed)")
                #expect(error?.code == .timedOut)
            }
        }

        @Test("SELECT SLEEP(10) with a 1 s deadline fails by 1.3 s and is killed on the server", .timeLimit(.minutes(1)))
        func statementDeadlineKillsOnServer() async throws {
            try await Bench.withBench(hosts: 1) { bench in
                try await withExecutor { executor in
                    let host = try bench.host("db1")
                    let sleeper = try await MariaDBConnection.connect(bench.configuration(for: host), on: executor)
                    let observer = try await MariaDBConnection.connect(bench.configuration(for: host), on: executor)
                    let started = ContinuousClock.now
                    let error = await #expect(throws: MMMError.self) {
                        _ = try await sleeper.query("SELECT SLEEP(10)", deadline: .seconds(1))
                    }
                    let elapsed = ContinuousClock.now - started
                    #expect(elapsed < .milliseconds(1300), "took \(elapsed)")
                    #expect(error?.code == .timedOut)
                    #expect(error?.message.contains("KILL QUERY \(sleeper.threadID)") == true)
                    // The statement no longer runs on the server (SLEEP returns 1 when killed, then the thread idles).
                    let running = try await observer.query(
                        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(10)%'"
                    ).singleRow("count")
                    #expect(try running.int("n") == 0)
                    #expect(sleeper.isClosed, "a connection is closed after a deadline")
                    await #expect(throws: MMMError.self) { _ = try await sleeper.query("SELECT 1") }
                    await observer.close()
                }
            }
        }

        @Test("64 concurrent connects to a dead host do not delay a 10 ms ticker by more than 50 ms", .timeLimit(.minutes(1)))
        func concurrentDeadConnectsDoNotStall() async throws {
            try await Bench.withBench(hosts: 1) { bench in
                let void = try #require(bench.blackHoleIP, "the black-holed address needs the namespace bench")
                try await withExecutor(threads: MariaDBExecutor.recommendedThreads(forServers: 32)) { executor in
                    let configuration = MariaDBConfiguration(
                        name: "void", host: void, user: "nobody", password: "x", connectTimeout: .seconds(1)
                    )
                    let worstGap = NIOLockedValueBox(Duration.zero)
                    let failures = NIOLockedValueBox(0)
                    let stop = NIOLockedValueBox(false)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            var last = ContinuousClock.now
                            while !stop.withLockedValue({ $0 }) {
                                try await Task.sleep(for: .milliseconds(10))
                                let now = ContinuousClock.now
                                let lateBy = (now - last) - .milliseconds(10)
                                worstGap.withLockedValue { $0 = max($0, lateBy) }
                                last = now
                            }
                        }
                        try await withThrowingTaskGroup(of: Void.self) { connects in
                            for _ in 0..<64 {
                                connects.addTask {
                                    do {
                                        _ = try await MariaDBConnection.connect(configuration, on: executor)
                                    } catch {
                                        failures.withLockedValue { $0 += 1 }
                                    }
                                }
                            }
                            try await connects.waitForAll()
                        }
                        stop.withLockedValue { $0 = true }
                        try await group.waitForAll()
                    }
                    #expect(failures.withLockedValue { $0 } == 64)
                    let gap = worstGap.withLockedValue { $0 }
                    #expect(gap < .milliseconds(50), "the ticker was late by \(gap)")
                }
            }
        }
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections in the kernel but never sends a byte, like a hung server.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MMMError(.commandFailed, "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            Foundation.close(fd)
            throw MMMError(.commandFailed, "bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.descriptor = fd
    }

    func close() {
        Foundation.close(self.descriptor)
    }
}
