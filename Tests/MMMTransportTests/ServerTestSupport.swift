import Logging
import MMMTransport
import MMMCore
import MMMProtocol
import NIOCore
import NIOPosix
import Synchronization

/// The secret the test servers and clients share (never expected in a log).
let serverTestSecret = "correct horse battery staple for the server tests"

/// The key derived from ``serverTestSecret``.
let serverTestKey = ProtocolKey(secret: serverTestSecret)

/// The agent's protocol name in these tests.
let serverTestAgentName = "db1"

/// One captured log entry.
struct CapturedLogEntry: Sendable {
    var level: Logger.Level
    var message: String
    var metadata: [String: String]
}

/// Collects every entry logged through ``makeLogger()``.
final class LogCapture: Sendable {
    private let store = Mutex([CapturedLogEntry]())

    /// The entries so far.
    var entries: [CapturedLogEntry] { self.store.withLock { $0 } }

    /// A logger at `trace` whose entries land here.
    func makeLogger() -> Logger {
        var logger = Logger(label: "mmm.agent.server.test") { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ entry: CapturedLogEntry) {
        self.store.withLock { $0.append(entry) }
    }

    /// The rejection reasons logged so far, in order.
    var rejectionReasons: [String] {
        self.entries.compactMap { $0.metadata["mmm.rejection"] }
    }

    /// Whether `text` appears in any message or metadata value.
    func contains(_ text: String) -> Bool {
        self.entries.contains { entry in
            entry.message.contains(text) || entry.metadata.values.contains { $0.contains(text) }
        }
    }
}

/// A log handler that records into a ``LogCapture``.
private struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        self.capture.append(
            CapturedLogEntry(
                level: event.level,
                message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" }
            )
        )
    }
}

/// An agent request handler driven by a closure; records the senders it saw.
struct ClosureAgentHandler: AgentRequestHandling {
    let body: @Sendable (AgentRequest, String) async -> AgentResponse

    func handle(_ request: AgentRequest, from sender: String) async -> AgentResponse {
        await self.body(request, sender)
    }

    /// Answers a ping with `pong(42)` and everything else with `failed(invalidArgument)`.
    static let pinging = ClosureAgentHandler { request, _ in
        switch request {
        case .ping:
            return .pong(AgentPong(uptimeMilliseconds: 42))
        default:
            return .failed(AgentFailure(code: "invalidArgument", message: "not in this test"))
        }
    }
}

/// A server configuration for `db1` on 127.0.0.1 and a free port.
func makeServerConfiguration(
    requestDeadline: Duration = .seconds(10),
    idleTimeout: Duration = .seconds(60),
    maximumFrameSize: Int = FrameCodec.defaultMaximumFrameSize
) -> ProtocolServerConfiguration {
    ProtocolServerConfiguration(
        name: serverTestAgentName,
        host: "127.0.0.1",
        port: 0,
        key: serverTestKey,
        maximumFrameSize: maximumFrameSize,
        requestDeadline: requestDeadline,
        idleTimeout: idleTimeout
    )
}

/// A client named `monitor` with the test key.
func makeMonitorClient(replyTimeout: Duration = .seconds(5), logger: Logger) -> AgentClient {
    AgentClient(
        client: ProtocolClient(
            configuration: ProtocolClientConfiguration(name: "monitor", key: serverTestKey, replyTimeout: replyTimeout),
            logger: logger
        )
    )
}

/// Runs `server` while `body` runs, then cancels it.
func withRunningServer<H: AgentRequestHandling, T: Sendable>(
    _ server: AgentServer<H>,
    _ body: (ProtocolPeer) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { group.cancelAll() }
        let address = try await server.localAddress
        // Force-unwrap: an IPv4 address bound by the server has a port.
        return try await body(ProtocolPeer(name: serverTestAgentName, host: "127.0.0.1", port: address.port!))
    }
}

/// What a raw connection received before it closed.
struct RawExchange {
    /// The frames the server sent (decoded with the test key).
    var frames: [ProtocolFrame]
    /// Whether the server closed the connection (rather than our 5 s limit ending the read).
    var closedByServer: Bool
}

/// Connects to `port` without the protocol handlers, writes `bytes`, and reads until the server closes the
/// connection or `limit` passes.
func rawExchange(port: Int, bytes: [UInt8], limit: Duration = .seconds(5)) async throws -> RawExchange {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    let limitReached = TestFlag()
    var received = ByteBuffer()
    try await channel.executeThenClose { inbound, outbound in
        if !bytes.isEmpty {
            try await outbound.write(ByteBuffer(bytes: bytes))
        }
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await Task.sleep(for: limit) } catch { return }
                limitReached.set()
                channel.channel.close(promise: nil)
            }
            defer { group.cancelAll() }
            do {
                for try await var chunk in inbound {
                    received.writeBuffer(&chunk)
                }
            } catch {
                // A reset from the server counts as closing, like an orderly end of stream.
            }
        }
    }
    let codec = FrameCodec(key: serverTestKey)
    var frames: [ProtocolFrame] = []
    while let frame = try codec.decode(&received) {
        frames.append(frame)
    }
    return RawExchange(frames: frames, closedByServer: !limitReached.isSet)
}

/// A ping frame from `monitor` to `recipient`, encoded with `key`.
func encodedPing(
    key: ProtocolKey = serverTestKey,
    recipient: String = serverTestAgentName,
    counter: UInt64 = 1
) throws -> [UInt8] {
    let frame = ProtocolFrame.request(
        .ping,
        from: "monitor",
        to: recipient,
        stamp: FrameStamp(timestamp: WallClock.now(), counter: counter)
    )
    var buffer = try FrameCodec(key: key).encode(frame)
    return buffer.readBytes(length: buffer.readableBytes) ?? []
}

/// A Boolean shared between tasks.
final class TestFlag: Sendable {
    private let value = Mutex(false)

    /// Sets the flag.
    func set() { self.value.withLock { $0 = true } }

    /// Whether it was set.
    var isSet: Bool { self.value.withLock { $0 } }
}
