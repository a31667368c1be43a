import Logging
import MMMTransport
import MMMCore
import MMMProtocol
import MMMSystem
import NIOCore
import NIOPosix
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("ProtocolClient")
struct ProtocolClientTests {
    @Test("the reply deadline fires when the server accepts and never answers", .timeLimit(.minutes(1)))
    func replyDeadlineFires() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        let client = makeMonitorClient(replyTimeout: .milliseconds(300), logger: LogCapture().makeLogger())
        let started = ContinuousClock.now
        let error = await #expect(throws: MMMError.self) {
            try await client.send(.ping, to: ProtocolPeer(name: "db1", host: "127.0.0.1", port: port))
        }
        #expect(error?.code == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a refused connection is connectionFailed", .timeLimit(.minutes(1)))
    func refusedConnection() async throws {
        // A socket bound but not listening holds the port, so nothing else can take it and connecting is refused;
        // a closed listener's port could be reused at once by a test running in parallel.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let client = makeMonitorClient(logger: LogCapture().makeLogger())
        let error = await #expect(throws: MMMError.self) {
            try await client.send(.ping, to: ProtocolPeer(name: "db1", host: "127.0.0.1", port: port))
        }
        #expect(error?.code == .connectionFailed)
    }

    @Test("a client with another secret gets connectionLost and the server logs badMAC", .timeLimit(.minutes(1)))
    func wrongSecretOnTheClient() async throws {
        let logs = LogCapture()
        let server = AgentServer(
            configuration: makeServerConfiguration(),
            handler: ClosureAgentHandler.pinging,
            logger: logs.makeLogger()
        )
        let stranger = AgentClient(
            client: ProtocolClient(
                configuration: ProtocolClientConfiguration(name: "monitor", key: ProtocolKey(secret: "wrong")),
                logger: logs.makeLogger()
            )
        )
        try await withRunningServer(server) { agent in
            let error = await #expect(throws: MMMError.self) { try await stranger.send(.ping, to: agent) }
            #expect(error?.code == .connectionLost)
        }
        #expect(logs.rejectionReasons == ["badMAC"])
    }

    @Test(
        "a second request to a peer already waited on is refused; other peers are not blocked",
        .timeLimit(.minutes(1))
    )
    func oneRequestInFlightPerPeer() async throws {
        let (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
        let handler = ClosureAgentHandler { _, _ in
            enteredContinuation.yield()
            try? await Task.sleep(for: .milliseconds(500))
            return .pong(AgentPong(uptimeMilliseconds: 1))
        }
        let server = AgentServer(
            configuration: makeServerConfiguration(),
            handler: handler,
            logger: LogCapture().makeLogger()
        )
        let client = makeMonitorClient(logger: LogCapture().makeLogger())
        try await withRunningServer(server) { agent in
            try await withThrowingTaskGroup(of: AgentResponse.self) { group in
                group.addTask { try await client.send(.ping, to: agent) }
                for await _ in entered { break }
                let error = await #expect(throws: MMMError.self) { try await client.send(.ping, to: agent) }
                #expect(error?.code == .invalidArgument)
                let answer1 = try await group.next()
                #expect(answer1 == .pong(AgentPong(uptimeMilliseconds: 1)))
            }
            // Once answered, the peer is free again.
            let answer2 = try await client.send(.ping, to: agent)
            #expect(answer2 == .pong(AgentPong(uptimeMilliseconds: 1)))
        }
    }

    @Test("an answer of the wrong kind is unexpectedResult", .timeLimit(.minutes(1)))
    func wrongKindOfAnswer() async throws {
        let handler = ClosureAgentHandler { _, _ in
            .agentStatus(AgentStatus(state: nil, roles: [], activeMaster: nil, epoch: 0, uptimeMilliseconds: 0))
        }
        let server = AgentServer(
            configuration: makeServerConfiguration(),
            handler: handler,
            logger: LogCapture().makeLogger()
        )
        let client = makeMonitorClient(logger: LogCapture().makeLogger())
        try await withRunningServer(server) { agent in
            let error = await #expect(throws: MMMError.self) { try await client.send(.ping, to: agent) }
            #expect(error?.code == .unexpectedResult)
        }
    }

    @Test("a reply stamped before the client started is refused as stale", .timeLimit(.minutes(1)))
    func replyFromBeforeTheClientStarted() async throws {
        // The server's clock lags by 10 s: within the window, but its replies predate the client.
        let lagging: @Sendable () -> ProtocolTimestamp = {
            ProtocolTimestamp(millisecondsSince1970: WallClock.now().millisecondsSince1970 - 10_000)
        }
        let server = AgentServer(
            configuration: makeServerConfiguration(),
            handler: ClosureAgentHandler.pinging,
            logger: LogCapture().makeLogger(),
            wallClock: lagging
        )
        let client = makeMonitorClient(logger: LogCapture().makeLogger())
        try await withRunningServer(server) { agent in
            let error = await #expect(throws: MMMError.self) { try await client.send(.ping, to: agent) }
            #expect(error?.code == .accessDenied)
            #expect(error?.message.contains("stale") == true)
        }
    }
}

/// Review item of issue 11: the agent's replay window is 1 s of wall-clock time, and a step of the writer's clock
/// made it refuse every monitor frame (and fence itself with no failover following). Frames are now stamped and
/// checked with ``MMMSystem/MMMClock``'s wall time, which a step does not move.
@Suite struct ClockStepTests {
    @Test("an agent whose host clock steps 10 s either way still accepts the monitor's frames (1 s window)", .timeLimit(.minutes(1)))
    func agentClockStep() async throws {
        let hand = HandStepClock()
        let agentClock = MMMClock(monotonic: { MMMClock.system.now.sinceOrigin }, realtime: hand.realtime)
        var configuration = makeServerConfiguration()
        configuration.replayWindow = .seconds(1)
        let server = AgentServer(
            configuration: configuration,
            handler: ClosureAgentHandler.pinging,
            logger: LogCapture().makeLogger(),
            wallClock: { ProtocolTimestamp(millisecondsSince1970: agentClock.wallMilliseconds) }
        )
        let client = makeMonitorClient(logger: LogCapture().makeLogger())
        try await withRunningServer(server) { agent in
            let first = try await client.send(.ping, to: agent)
            #expect(first == .pong(AgentPong(uptimeMilliseconds: 42)))
            for step in [Int64(10_000), -20_000, 10_000] {
                hand.step(milliseconds: step)
                let answer = try await client.send(.ping, to: agent)
                #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)), "after a step of \(step) ms")
            }
        }
    }

    @Test("the raw real-time clock would refuse them: the test can fail", .timeLimit(.minutes(1)))
    func rawClockRefuses() async throws {
        let hand = HandStepClock()
        var configuration = makeServerConfiguration()
        configuration.replayWindow = .seconds(1)
        let capture = LogCapture()
        let server = AgentServer(
            configuration: configuration,
            handler: ClosureAgentHandler.pinging,
            logger: capture.makeLogger(),
            wallClock: { ProtocolTimestamp(millisecondsSince1970: hand.realtime()) }
        )
        let client = makeMonitorClient(logger: LogCapture().makeLogger())
        try await withRunningServer(server) { agent in
            let first = try await client.send(.ping, to: agent)
            #expect(first == .pong(AgentPong(uptimeMilliseconds: 42)))
            hand.step(milliseconds: 10_000)
            // The agent drops the connection of a frame it refuses; its log says why.
            await #expect(throws: MMMError.self) { try await client.send(.ping, to: agent) }
            #expect(capture.rejectionReasons.contains("stale"))
        }
    }
}

/// The host's real-time clock, stepped by hand on top of the real one.
final class HandStepClock: Sendable {
    private let offset = Mutex(Int64(0))

    /// The real time plus every step so far.
    var realtime: @Sendable () -> Int64 { { MMMClock.realtimeMilliseconds() + self.offset.withLock { $0 } } }

    /// Steps the clock.
    func step(milliseconds: Int64) { self.offset.withLock { $0 += milliseconds } }
}
