import Logging
import MMMConfig
import MMMCore
import MMMProtocol
import MMMTransport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The limits a protocol server puts on peers before they have authenticated (issue 11's review): the connection
/// limit, the first-frame deadline and the allow-list, checked with real loopback connections.
@Suite("ProtocolServer connection limits")
struct ConnectionLimitTests {
    /// The answer ``ClosureAgentHandler/pinging`` gives a ping, as a frame's message.
    static let pong = ProtocolMessage.agentResponse(.pong(AgentPong(uptimeMilliseconds: 42)))

    @Test(
        "connections beyond the limit are closed at accept and logged once; open ones are still served",
        .timeLimit(.minutes(1))
    )
    func connectionLimit() async throws {
        let logs = LogCapture()
        var configuration = makeServerConfiguration()
        configuration.maximumConnections = 4
        // Long enough that the silent connections are surely still open when the extra ones arrive.
        configuration.firstFrameTimeout = .seconds(5)
        let server = AgentServer(
            configuration: configuration,
            handler: ClosureAgentHandler.pinging,
            logger: logs.makeLogger()
        )
        let client = makeMonitorClient(logger: logs.makeLogger())
        try await withRunningServer(server) { agent in
            // The limit of 4 is reached: one connection has been served and stays open, three say nothing.
            let served = try await HeldConnection.open(port: agent.port)
            try await served.send(encodedPing(from: "peer-served", counter: 1))
            #expect(try await served.nextFrame()?.message == Self.pong)
            var silent: [HeldConnection] = []
            for _ in 0..<3 {
                silent.append(try await HeldConnection.open(port: agent.port))
            }

            // Four more, each with a valid ping: each is closed unanswered (without the limit each would get a pong;
            // the first-frame deadline cannot explain it, as a ping arrives at once).
            let extras = try await withThrowingTaskGroup(of: Probe.self) { group in
                for index in 0..<4 {
                    let bytes = try encodedPing(from: "peer-extra-\(index)", counter: 1)
                    group.addTask { try await probe(port: agent.port, sending: bytes) }
                }
                return try await group.reduce(into: [Probe]()) { $0.append($1) }
            }
            for extra in extras {
                #expect(extra.closedByServer)
                #expect(extra.frames.isEmpty)
            }
            let refusals = logs.entries.filter { $0.message == "Connection limit reached; closing new connections" }
            #expect(refusals.count == 1, "one log line for the burst of four refusals")
            #expect(refusals.first?.level == .warning)
            #expect(refusals.first?.metadata["mmm.peer"]?.contains("127.0.0.1") == true)
            #expect(refusals.first?.metadata["mmm.connection.limit"] == "4")

            // The connection already served is unaffected by the refusals.
            try await served.send(encodedPing(from: "peer-served", counter: 2))
            #expect(try await served.nextFrame()?.message == Self.pong)

            // The silent connections are closed by the first-frame deadline, which frees their slots: a
            // well-behaved client (refused while they are open) gets its answer.
            let answer = try await sendRetrying(.ping, with: client, to: agent, for: .seconds(20))
            #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
            for connection in silent {
                #expect(await connection.closedByServer(within: .seconds(10)))
            }
            #expect(served.isOpen)
            await served.close()
        }
        #expect(logs.rejectionReasons.isEmpty)
    }

    @Test(
        "a silent connection is closed at the first-frame deadline; after a first frame the idle timeout applies",
        .timeLimit(.minutes(1))
    )
    func firstFrameDeadline() async throws {
        let logs = LogCapture()
        var configuration = makeServerConfiguration(idleTimeout: .seconds(60))
        configuration.firstFrameTimeout = .seconds(1)
        let server = AgentServer(
            configuration: configuration,
            handler: ClosureAgentHandler.pinging,
            logger: logs.makeLogger()
        )
        try await withRunningServer(server) { agent in
            // Silent: only the first-frame deadline can close it before our 10 s (the idle timeout is 60 s).
            let silent = try await rawExchange(port: agent.port, bytes: [], limit: .seconds(10))
            #expect(silent.closedByServer)
            #expect(silent.frames.isEmpty)
            #expect(logs.entries.contains { $0.message == "Closing connection that sent no frame in time" })

            // A connection that has sent a frame outlives the first-frame deadline.
            let served = try await HeldConnection.open(port: agent.port)
            try await served.send(encodedPing(from: "peer-served", counter: 1))
            #expect(try await served.nextFrame()?.message == Self.pong)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(served.isOpen)
            try await served.send(encodedPing(from: "peer-served", counter: 2))
            #expect(try await served.nextFrame()?.message == Self.pong)
            await served.close()
        }
    }

    @Test(
        "with an allow-list, a connection from another address is closed at accept, unanswered; a listed one is served",
        .timeLimit(.minutes(1))
    )
    func allowList() async throws {
        // 192.0.2.1 (TEST-NET-1) is nobody; the test client connects from 127.0.0.1.
        let elsewhere = try #require(IPAddress("192.0.2.1"))
        let loopback = try #require(IPAddress("127.0.0.1"))

        let logs = LogCapture()
        var refusing = makeServerConfiguration()
        refusing.allowedPeers = [elsewhere]
        let server = AgentServer(
            configuration: refusing,
            handler: ClosureAgentHandler.pinging,
            logger: logs.makeLogger()
        )
        try await withRunningServer(server) { agent in
            let exchange = try await probe(port: agent.port, sending: try encodedPing())
            #expect(exchange.closedByServer)
            #expect(exchange.frames.isEmpty)
        }
        let refusal = try #require(
            logs.entries.first { $0.message == "Connection from an address not allowed; closing it" }
        )
        #expect(refusal.level == .warning)
        #expect(refusal.metadata["mmm.peer"]?.contains("127.0.0.1") == true)
        // Refused before any byte was read: no frame was decoded, so none was rejected.
        #expect(logs.rejectionReasons.isEmpty)

        var allowing = makeServerConfiguration()
        allowing.allowedPeers = [elsewhere, loopback]
        let listed = AgentServer(
            configuration: allowing,
            handler: ClosureAgentHandler.pinging,
            logger: logs.makeLogger()
        )
        let client = makeMonitorClient(logger: logs.makeLogger())
        try await withRunningServer(listed) { agent in
            let answer = try await client.send(.ping, to: agent)
            #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
        }
    }

    @Test("unusable limits stop run() with invalidConfiguration naming the value", .timeLimit(.minutes(1)))
    func invalidLimits() async throws {
        var noConnections = makeServerConfiguration()
        noConnections.maximumConnections = 0
        var noFirstFrame = makeServerConfiguration()
        noFirstFrame.firstFrameTimeout = .zero
        var nobodyAllowed = makeServerConfiguration()
        nobodyAllowed.allowedPeers = []
        let cases = [
            (noConnections, "maximumConnections 0"),
            (noFirstFrame, "firstFrameTimeout"),
            (nobodyAllowed, "allowedPeers is empty"),
        ]
        for (configuration, named) in cases {
            let server = AgentServer(
                configuration: configuration,
                handler: ClosureAgentHandler.pinging,
                logger: LogCapture().makeLogger()
            )
            let error = await #expect(throws: MMMError.self) { try await server.run() }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains(named) == true)
            await #expect(throws: MMMError.self) { try await server.localAddress }
        }
    }
}

/// A ping frame from `sender` to the test agent, encoded with the test key.
private func encodedPing(from sender: String, counter: UInt64) throws -> [UInt8] {
    let frame = ProtocolFrame.request(
        .ping,
        from: sender,
        to: serverTestAgentName,
        stamp: FrameStamp(timestamp: WallClock.now(), counter: counter)
    )
    var buffer = try FrameCodec(key: serverTestKey).encode(frame)
    return buffer.readBytes(length: buffer.readableBytes) ?? []
}

/// What a ``probe(port:sending:)`` saw.
private struct Probe: Sendable {
    /// Whether the server closed the connection within 10 s.
    var closedByServer: Bool
    /// The frames it sent before (decoded with the test key).
    var frames: [ProtocolFrame]
}

/// Connects to `port`, sends `bytes` and waits up to 10 s for the server to close the connection.
///
/// Unlike ``rawExchange(port:bytes:limit:)`` it tolerates a failed write: a server that closes a connection as soon
/// as it accepts it may do so before the bytes are written.
private func probe(port: Int, sending bytes: [UInt8]) async throws -> Probe {
    let connection = try await HeldConnection.open(port: port)
    try? await connection.send(bytes)
    let closed = await connection.closedByServer(within: .seconds(10))
    await connection.close()
    return Probe(closedByServer: closed, frames: try connection.receivedFrames())
}

/// Sends `request` until it is answered, for at most `limit` (a refused connection fails the attempt).
private func sendRetrying(
    _ request: AgentRequest,
    with client: AgentClient,
    to agent: ProtocolPeer,
    for limit: Duration
) async throws -> AgentResponse {
    let deadline = ContinuousClock.now + limit
    while true {
        do {
            return try await client.send(request, to: agent)
        } catch is MMMError where ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// A raw TCP connection to a test server, kept open across steps, that collects whatever the server sends.
private final class HeldConnection: Sendable {
    private let channel: any Channel
    private let received: ReceivedBytes

    private init(channel: any Channel, received: ReceivedBytes) {
        self.channel = channel
        self.received = received
    }

    /// Connects to `port` on 127.0.0.1.
    static func open(port: Int) async throws -> HeldConnection {
        let received = ReceivedBytes()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return HeldConnection(channel: channel, received: received)
    }

    /// Whether the connection is still open.
    var isOpen: Bool { self.channel.isActive }

    /// Writes `bytes`.
    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// The next frame from the server, or `nil` if none arrives within `limit`.
    func nextFrame(within limit: Duration = .seconds(10)) async throws -> ProtocolFrame? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let frame = try self.received.nextFrame() { return frame }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Every frame received and not yet returned by ``nextFrame(within:)``.
    func receivedFrames() throws -> [ProtocolFrame] {
        var frames: [ProtocolFrame] = []
        while let frame = try self.received.nextFrame() {
            frames.append(frame)
        }
        return frames
    }

    /// Whether the server closes the connection within `limit`.
    func closedByServer(within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if !self.channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !self.channel.isActive
    }

    /// Closes the connection from this side.
    func close() async {
        try? await self.channel.close()
    }
}

/// The bytes a ``HeldConnection`` received, decoded into frames on demand.
private final class ReceivedBytes: Sendable {
    private let buffer = Mutex(ByteBuffer())
    private let codec = FrameCodec(key: serverTestKey)

    /// Adds bytes read from the connection.
    func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        self.buffer.withLock { buffer in _ = buffer.writeBuffer(&bytes) }
    }

    /// The next whole frame received, or `nil` if there is none yet.
    func nextFrame() throws -> ProtocolFrame? {
        try self.buffer.withLock { buffer in try self.codec.decode(&buffer) }
    }
}

/// Appends every read to a ``ReceivedBytes``.
private final class CollectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let received: ReceivedBytes

    init(received: ReceivedBytes) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.received.append(Self.unwrapInboundIn(data))
    }
}
