import Logging
import MMMTransport
import MMMCore
import MMMProtocol
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite("AgentServer")
struct AgentServerTests {
    @Test(
        "a ping is answered with the handler's pong, and the handler sees the sender's name",
        .timeLimit(.minutes(1))
    )
    func pingRoundTrip() async throws {
        let logs = LogCapture()
        let senders = Mutex([String]())
        let handler = ClosureAgentHandler { request, sender in
            senders.withLock { $0.append(sender) }
            return await ClosureAgentHandler.pinging.handle(request, from: sender)
        }
        let server = AgentServer(configuration: makeServerConfiguration(), handler: handler, logger: logs.makeLogger())
        let client = makeMonitorClient(logger: logs.makeLogger())
        try await withRunningServer(server) { agent in
            let answer1 = try await client.send(.ping, to: agent)
            #expect(answer1 == .pong(AgentPong(uptimeMilliseconds: 42)))
            let answer2 = try await client.send(.ping, to: agent)
            #expect(answer2 == .pong(AgentPong(uptimeMilliseconds: 42)))
        }
        #expect(senders.withLock { $0 } == ["monitor", "monitor"])
        #expect(logs.rejectionReasons.isEmpty)
    }

    /// A frame the server must refuse, as raw bytes.
    enum BadFrame: String, CaseIterable, Sendable {
        case wrongKey
        case replayed
        case wrongRecipient
        case oversized
        case garbage
        case answerInsteadOfRequest

        /// The reason the server must log.
        var reason: ProtocolRejection.Reason {
            switch self {
            case .wrongKey: return .badMAC
            case .replayed: return .replayed
            case .wrongRecipient: return .wrongRecipient
            case .oversized: return .oversized
            case .garbage: return .badMagic
            case .answerInsteadOfRequest: return .unexpectedMessage
            }
        }

        /// How many replies come before the server closes (the first copy of a replayed frame is answered).
        var answeredFrames: Int { self == .replayed ? 1 : 0 }

        func bytes() throws -> [UInt8] {
            let now = WallClock.now()
            switch self {
            case .wrongKey:
                return try encodedPing(key: ProtocolKey(secret: "some other secret"))
            case .replayed:
                let ping = try encodedPing()
                return ping + ping
            case .wrongRecipient:
                return try encodedPing(recipient: "db2")
            case .oversized:
                // 600 bytes of reason: more than the 512-byte limit these tests configure.
                let fence = ProtocolFrame.request(
                    .fence(FenceOrder(target: "db1", epoch: 1, reason: String(repeating: "x", count: 600))),
                    from: "monitor",
                    to: serverTestAgentName,
                    stamp: FrameStamp(timestamp: now, counter: 1)
                )
                var buffer = try FrameCodec(key: serverTestKey).encode(fence)
                return buffer.readBytes(length: buffer.readableBytes) ?? []
            case .garbage:
                return Array("PING|1|db1|\n".utf8)
            case .answerInsteadOfRequest:
                let pong = ProtocolFrame(
                    header: FrameHeader(
                        sender: "monitor",
                        recipient: serverTestAgentName,
                        stamp: FrameStamp(timestamp: now, counter: 1)
                    ),
                    message: .agentResponse(.pong(AgentPong(uptimeMilliseconds: 1)))
                )
                var buffer = try FrameCodec(key: serverTestKey).encode(pong)
                return buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        }
    }

    @Test(
        "a bad frame is logged with its reason, closes its connection, and the server keeps serving",
        .timeLimit(.minutes(1)),
        arguments: BadFrame.allCases
    )
    func badFrameIsRejected(_ bad: BadFrame) async throws {
        let logs = LogCapture()
        let server = AgentServer(
            configuration: makeServerConfiguration(maximumFrameSize: 512),
            handler: ClosureAgentHandler.pinging,
            logger: logs.makeLogger()
        )
        let client = makeMonitorClient(logger: logs.makeLogger())
        try await withRunningServer(server) { agent in
            let exchange = try await rawExchange(port: agent.port, bytes: try bad.bytes())
            #expect(exchange.closedByServer)
            #expect(exchange.frames.count == bad.answeredFrames)
            let answer3 = try await client.send(.ping, to: agent)
            #expect(answer3 == .pong(AgentPong(uptimeMilliseconds: 42)))
        }
        #expect(logs.rejectionReasons == [bad.reason.rawValue])
        let rejection = try #require(logs.entries.first { $0.metadata["mmm.rejection"] != nil })
        #expect(rejection.level == .warning)
        #expect(rejection.metadata["mmm.peer"]?.contains("127.0.0.1") == true)
        #expect(!logs.contains(serverTestSecret))
    }

    @Test("a handler that outlives the request deadline yields failed(timedOut)", .timeLimit(.minutes(1)))
    func handlerDeadline() async throws {
        let logs = LogCapture()
        let handler = ClosureAgentHandler { _, _ in
            try? await Task.sleep(for: .seconds(30))
            return .pong(AgentPong(uptimeMilliseconds: 0))
        }
        let server = AgentServer(
            configuration: makeServerConfiguration(requestDeadline: .milliseconds(200)),
            handler: handler,
            logger: logs.makeLogger()
        )
        let client = makeMonitorClient(logger: logs.makeLogger())
        let started = ContinuousClock.now
        let answer = try await withRunningServer(server) { agent in
            try await client.send(.getDrainStatus(DrainQuery(maximumWaitMilliseconds: 0)), to: agent)
        }
        guard case .failed(let failure) = answer else {
            Issue.record("expected failed(timedOut), got \(answer)")
            return
        }
        #expect(failure.code == "timedOut")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(logs.entries.contains { $0.message == "Request exceeded its deadline" && $0.level == .warning })
    }

    @Test(
        "a graceful shutdown lets the request in flight finish and be answered, then run() returns",
        .timeLimit(.minutes(1))
    )
    func gracefulShutdownFinishesInFlightRequest() async throws {
        let logs = LogCapture()
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let handler = ClosureAgentHandler { _, _ in
            startedContinuation.yield()
            // A graceful shutdown must let this finish: a cancelled sleep would show as uptime 0.
            try? await Task.sleep(for: .milliseconds(300))
            return .pong(AgentPong(uptimeMilliseconds: Task.isCancelled ? 0 : 7))
        }
        let server = AgentServer(configuration: makeServerConfiguration(), handler: handler, logger: logs.makeLogger())
        let client = makeMonitorClient(logger: logs.makeLogger())
        let answer = try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: AgentResponse?.self) { group in
                group.addTask {
                    try await server.run()
                    return nil
                }
                let port = try #require(try await server.localAddress.port)
                let agent = ProtocolPeer(name: serverTestAgentName, host: "127.0.0.1", port: port)
                group.addTask { try await client.send(.ping, to: agent) }
                for await _ in started { break }
                trigger.triggerGracefulShutdown()
                var answer: AgentResponse?
                // Both children must end by themselves: the client with its answer, the server by returning.
                for try await result in group {
                    if let result { answer = result }
                }
                return answer
            }
        }
        #expect(answer == .pong(AgentPong(uptimeMilliseconds: 7)))
        #expect(logs.entries.contains { $0.message == "Protocol server stopped" })
    }

    @Test("a connection that sends no complete frame is closed after the idle timeout", .timeLimit(.minutes(1)))
    func idleConnectionIsClosed() async throws {
        let server = AgentServer(
            configuration: makeServerConfiguration(idleTimeout: .milliseconds(200)),
            handler: ClosureAgentHandler.pinging,
            logger: LogCapture().makeLogger()
        )
        try await withRunningServer(server) { agent in
            // Half a ping header: the decoder waits for more; only the idle timer can end this.
            let partial = Array(try encodedPing().prefix(20))
            let exchange = try await rawExchange(port: agent.port, bytes: partial, limit: .seconds(5))
            #expect(exchange.closedByServer)
            #expect(exchange.frames.isEmpty)
        }
    }

    @Test("the bound port is readable and a second server cannot bind it", .timeLimit(.minutes(1)))
    func bindFailureIsReported() async throws {
        let first = AgentServer(
            configuration: makeServerConfiguration(),
            handler: ClosureAgentHandler.pinging,
            logger: LogCapture().makeLogger()
        )
        try await withRunningServer(first) { agent in
            #expect(agent.port > 0)
            var configuration = makeServerConfiguration()
            configuration.port = agent.port
            let second = AgentServer(
                configuration: configuration,
                handler: ClosureAgentHandler.pinging,
                logger: LogCapture().makeLogger()
            )
            let error = await #expect(throws: MMMError.self) { try await second.run() }
            #expect(error?.code == .connectionFailed)
            await #expect(throws: MMMError.self) { try await second.localAddress }
        }
    }
}
