import Logging
import MMMCore
import MMMTestSupport
import MMMDaemon
import MMMSystem
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// A service that runs until a graceful shutdown, then records that it stopped cleanly.
private struct RecordingService: Service {
    let events: EventLog

    func run() async throws {
        self.events.append("started")
        // Returns when a graceful shutdown arrives; throws if cancelled instead.
        try await gracefulShutdown()
        self.events.append("stopped gracefully")
    }
}

/// A list of events shared between tasks.
private final class EventLog: Sendable {
    private let items = Mutex<[String]>([])

    func append(_ item: String) { self.items.withLock { $0.append(item) } }

    var all: [String] { self.items.withLock { $0 } }
}

private let quietLogger = Logger(label: "mmm.daemon.test") { _ in SwiftLogNoOpLogHandler() }

@Suite("Daemon")
struct DaemonTests {
    @Test("a graceful shutdown (what SIGTERM triggers) stops the services cleanly", .timeLimit(.minutes(1)))
    func gracefulShutdownStopsServices() async throws {
        let events = EventLog()
        let group = Daemon.makeServiceGroup(
            services: [RecordingService(events: events)],
            configuration: DaemonConfiguration(program: "test", handlesSignals: false),
            logger: quietLogger
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                while events.all.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                trigger.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(events.all == ["started", "stopped gracefully"])
    }

    @Test("run() holds the pid file while running and removes it after a graceful shutdown", .timeLimit(.minutes(1)))
    func runHoldsAndRemovesThePIDFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/mmm_agentd.pid"
            let events = EventLog()
            let configuration = DaemonConfiguration(program: "mmm_agentd", pidFilePath: path, handlesSignals: false)
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        try await Daemon.run(
                            services: [RecordingService(events: events)],
                            configuration: configuration,
                            logger: quietLogger
                        )
                    }
                    while events.all.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                    #expect(fileExists(path))
                    // A second daemon with the same pid file refuses to start and runs nothing.
                    let second = EventLog()
                    let error = await #expect(throws: MMMError.self) {
                        try await Daemon.run(
                            services: [RecordingService(events: second)],
                            configuration: configuration,
                            logger: quietLogger
                        )
                    }
                    #expect(error?.message.contains("mmm_agentd is already running as pid") == true)
                    #expect(second.all.isEmpty)
                    trigger.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
            #expect(events.all == ["started", "stopped gracefully"])
            #expect(!fileExists(path))
        }
    }
}

@Suite("withDeadline")
struct DeadlineTests {
    @Test("the operation's value is returned when it finishes in time", .timeLimit(.minutes(1)))
    func finishesInTime() async throws {
        let value = try await withDeadline(.seconds(10), "quick work") { 42 }
        #expect(value == 42)
    }

    @Test("timedOut names what was waited for once the deadline passes", .timeLimit(.minutes(1)))
    func timesOut() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: MMMError.self) {
            try await withDeadline(.milliseconds(100), "ping to db2") {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        #expect(error?.code == .timedOut)
        #expect(error?.message == "ping to db2 did not finish within 0.1 seconds")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("the operation's error passes through", .timeLimit(.minutes(1)))
    func errorPassesThrough() async throws {
        let error = await #expect(throws: MMMError.self) {
            try await withDeadline(.seconds(10), "failing work") { () async throws -> Int in
                throw MMMError(.queryFailed, "boom")
            }
        }
        #expect(error?.code == .queryFailed)
    }
}
