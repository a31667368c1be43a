import Logging
import MMMCore
import MMMDaemon
import MMMProtocol
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A protocol server to talk to: its protocol name and its address.
public struct ProtocolPeer: Sendable, Hashable, CustomStringConvertible {
    /// The peer's protocol name, which requests are addressed to (an agent's host name, or the monitor's name).
    public var name: String
    /// Its address (`agent_ip`, `monitor_ip`).
    public var host: String
    /// Its port (`agent_port`, the monitor's control port).
    public var port: Int

    /// Creates a peer.
    public init(name: String, host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }

    /// `name (host:port)`.
    public var description: String { "\(self.name) (\(self.host):\(self.port))" }
}

/// How a ``ProtocolClient`` identifies itself and how long it waits.
public struct ProtocolClientConfiguration: Sendable {
    /// The client's sender name (`monitor`, an agent's host name, `control-HOST-PID`).
    public var name: String
    /// The shared key.
    public var key: ProtocolKey
    /// How long connecting may take.
    public var connectTimeout: Duration
    /// How long the answer may take once the request is sent (callers may pass a longer one per request, e.g. for a
    /// drain wait).
    public var replyTimeout: Duration
    /// The largest frame accepted, in bytes.
    public var maximumFrameSize: Int
    /// How far a reply's timestamp may be from this host's clock.
    public var replayWindow: Duration
    /// Replies stamped before this are refused as stale; `nil` means the client's creation time.
    ///
    /// A client's request counter starts again at 1 in every process, so without this bound a reply captured
    /// before this process started could be replayed to answer its first requests. The price: right after start, a
    /// server whose clock lags this host's has its replies refused (`accessDenied`, stale). A short-lived client
    /// (`mmm_control`) may pass an earlier bound, such as its start minus a few seconds.
    public var replyNotBefore: ProtocolTimestamp?
    /// Mutual TLS (`<socket> type ssl`), or `nil` for plain TCP. It must match the server's mode: a TLS client cannot
    /// talk to a plain server, nor the reverse. Frames are HMAC-checked either way.
    public var tls: ProtocolTLS?
    /// The monitor's private key (`monitor_signing_key`): every request is signed with it. Only the monitor's
    /// client to the agents has one.
    public var signingKey: MonitorSigningKey?

    /// Creates a client configuration.
    ///
    /// - Parameters:
    ///   - name: the sender name.
    ///   - key: the shared key.
    ///   - connectTimeout: 2 s by default.
    ///   - replyTimeout: 10 s by default.
    ///   - maximumFrameSize: 64 KiB by default.
    ///   - replayWindow: 30 s by default.
    ///   - replyNotBefore: the earliest reply stamp accepted; `nil` (the default) lets the client use its creation
    ///     time.
    ///   - tls: mutual TLS settings, `nil` (plain TCP) by default.
    ///   - signingKey: the monitor's private key to sign requests with; `nil` by default.
    public init(
        name: String,
        key: ProtocolKey,
        connectTimeout: Duration = .seconds(2),
        replyTimeout: Duration = .seconds(10),
        maximumFrameSize: Int = FrameCodec.defaultMaximumFrameSize,
        replayWindow: Duration = .seconds(30),
        replyNotBefore: ProtocolTimestamp? = nil,
        tls: ProtocolTLS? = nil,
        signingKey: MonitorSigningKey? = nil
    ) {
        self.signingKey = signingKey
        self.name = name
        self.key = key
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
        self.maximumFrameSize = maximumFrameSize
        self.replayWindow = replayWindow
        self.replyNotBefore = replyNotBefore
        self.tls = tls
    }
}

/// Sends one request frame to a protocol server and returns its validated reply.
///
/// **One connection per request.** Each ``exchange(_:with:replyTimeout:)`` connects (with the connect deadline),
/// sends the request, waits for the reply (with the reply deadline) and closes. Requests are rare (a few per
/// second per host at most), so a fresh connection costs little, and it leaves nothing to go stale: no half-dead
/// pooled connection after a network partition or an agent restart, no reconnect logic.
///
/// **One request in flight per peer.** The receiver's ``MMMProtocol/ReplayGuard`` needs each sender's stamps to
/// arrive in increasing order, which two requests on two connections to the same peer cannot promise
/// (docs/protocol.md §3). So this client refuses a second concurrent request to a peer it is already waiting on,
/// with `invalidArgument`; send to each peer from one task, one request at a time. Requests to different peers run
/// in parallel.
///
/// **One client per sender name per process.** Stamps come from this client's ``MMMProtocol/FrameSequencer``; two
/// clients with the same name would send colliding stamps. Share the instance.
///
/// The reply must pass the MAC check (decoder), answer this request (``MMMProtocol/ProtocolFrame/isReply(to:)``) and
/// pass this client's own ``MMMProtocol/ReplayGuard`` for replies, under the replier's name.
///
/// With ``ProtocolClientConfiguration/tls`` set, each connection first runs a mutual TLS handshake: the client
/// presents its certificate and refuses a server whose certificate the CA did not sign (see ``ProtocolTLS``).
///
/// Every failure is an ``MMMCore/MMMError``: `connectionFailed` (refused, unreachable, TLS failed, an answer that is
/// not a protocol frame at all, such as a TLS record when this client is plain), `timedOut` (connect or reply
/// deadline), `connectionLost` (closed without an answer, which is also what a server does when it rejects our
/// frame: wrong key, clocks apart), `accessDenied` / `invalidArgument` (the reply was rejected), `unexpectedResult`
/// (a reply to something else). Cancellation ends the exchange with `CancellationError`.
public final class ProtocolClient: Sendable {
    /// The client's configuration.
    public let configuration: ProtocolClientConfiguration
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let wallClock: @Sendable () -> ProtocolTimestamp
    private let codec: FrameCodec
    private let sequencer = Mutex(FrameSequencer())
    private let replyGuard: Mutex<ReplayGuard>
    private let inFlight = Mutex(Set<String>())

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - configuration: the sender name, key and deadlines.
    ///   - logger: where exchanges are traced.
    ///   - eventLoopGroup: the NIO threads; the shared singleton by default.
    ///   - wallClock: the clock for stamps and freshness checks.
    public init(
        configuration: ProtocolClientConfiguration,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        wallClock: @escaping @Sendable () -> ProtocolTimestamp = WallClock.now
    ) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.wallClock = wallClock
        self.codec = FrameCodec(
            key: configuration.key,
            maximumFrameSize: min(configuration.maximumFrameSize, FrameCodec.defaultMaximumFrameSize),
            signingKey: configuration.signingKey
        )
        self.replyGuard = Mutex(
            ReplayGuard(window: configuration.replayWindow, notBefore: configuration.replyNotBefore ?? wallClock())
        )
    }

    /// Whether `error`, thrown by ``exchange(_:with:replyTimeout:)``, came before the request was written: the connection
    /// was refused or unreachable, or the connect deadline passed. The peer then certainly never read the request;
    /// after any other failure it may have.
    public static func failedBeforeSending(_ error: any Error) -> Bool {
        guard let error = error as? MMMError else { return false }
        switch error.code {
        case .connectionFailed:
            return error.message.hasPrefix(Self.connectFailurePrefix)
        case .timedOut:
            if let cause = error.cause as? ChannelError, case .connectTimeout = cause { return true }
            return false
        default:
            return false
        }
    }

    /// Whether `error` is a refused connection (`ECONNREFUSED`): the peer's host is up and nothing listens on the
    /// port, i.e. its agent is not running. Unlike a timeout, this says the host is alive, and that no lease is kept
    /// there.
    public static func wasRefused(_ error: any Error) -> Bool {
        guard let error = error as? MMMError, error.code == .connectionFailed, error.message.hasPrefix(Self.connectFailurePrefix) else {
            return false
        }
        func refused(_ cause: (any Error)?) -> Bool {
            if let io = cause as? IOError { return io.errnoCode == ECONNREFUSED }
            if let multiple = cause as? NIOConnectionError {
                return !multiple.connectionErrors.isEmpty && multiple.connectionErrors.allSatisfy { refused($0.error) }
            }
            return false
        }
        return refused(error.cause)
    }

    /// How the connect-phase `connectionFailed` message begins (``failedBeforeSending(_:)`` relies on it).
    static let connectFailurePrefix = "cannot connect to "

    /// Sends `message` to `peer` and returns the reply frame.
    ///
    /// - Parameters:
    ///   - message: the request (an agent or control request).
    ///   - peer: where to send it.
    ///   - replyTimeout: how long to wait for the answer after sending; the configuration's by default.
    /// - Returns: the reply, authenticated, fresh and answering this request (its message kind is the caller's to
    ///   check).
    /// - Throws: ``MMMCore/MMMError`` (see the type's documentation) or `CancellationError`.
    public func exchange(
        _ message: ProtocolMessage,
        with peer: ProtocolPeer,
        replyTimeout: Duration? = nil
    ) async throws -> ProtocolFrame {
        let reserved = self.inFlight.withLock { $0.insert(peer.name).inserted }
        guard reserved else {
            throw MMMError(
                .invalidArgument,
                "a request to \(peer) is already in flight from \(self.configuration.name); send one request to a "
                    + "peer at a time (docs/protocol.md §3)"
            )
        }
        defer { _ = self.inFlight.withLock { $0.remove(peer.name) } }

        let channel = try await self.connect(to: peer)
        let timeout = replyTimeout ?? self.configuration.replyTimeout
        let reply = try await self.send(message, to: peer, over: channel, timeout: timeout)

        do throws(ProtocolRejection) {
            let now = self.wallClock()
            try self.replyGuard.withLock { replyGuard throws(ProtocolRejection) in
                try replyGuard.admit(reply.header, now: now)
            }
        } catch {
            throw MMMError(error.error.code, "answer from \(peer) refused: \(error.description)")
        }
        return reply
    }

    private func connect(to peer: ProtocolPeer) async throws -> NIOAsyncChannel<ProtocolFrame, ProtocolFrame> {
        let codec = self.codec
        let tls = self.configuration.tls
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ProtocolFrame, ProtocolFrame>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    // The handshake runs as soon as the channel is active; its failure surfaces on the
                    // first read or write of the exchange.
                    try channel.pipeline.syncOperations.addHandler(try tls.makeClientHandler())
                }
                try channel.pipeline.syncOperations.addHandlers([
                    ByteToMessageHandler(ProtocolFrameDecoder(codec: codec)),
                    MessageToByteHandler(ProtocolFrameEncoder(codec: codec)),
                ])
                return try NIOAsyncChannel<ProtocolFrame, ProtocolFrame>(wrappingChannelSynchronously: channel)
            }
        }
        do {
            let bootstrap = ClientBootstrap(group: self.eventLoopGroup)
                .connectTimeout(TimeAmount(self.configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // An IP address (what MMM's configs hold) is connected to directly: `connect(host:port:)` resolves it
            // with getaddrinfo on a thread and races address families, which cost a monitor of many dead agents
            // more than the connects themselves.
            if let address = try? SocketAddress(ipAddress: peer.host, port: peer.port) {
                return try await bootstrap.connect(to: address, channelInitializer: initializer)
            }
            return try await bootstrap.connect(host: peer.host, port: peer.port, channelInitializer: initializer)
        } catch ChannelError.connectTimeout(let amount) {
            throw MMMError(
                .timedOut,
                "connecting to \(peer) did not complete within \(self.configuration.connectTimeout)",
                cause: ChannelError.connectTimeout(amount)
            )
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw MMMError(.connectionFailed, "\(Self.connectFailurePrefix)\(peer): \(error)", cause: error)
        }
    }

    /// Writes the request and waits for a frame that answers it; the connection is closed afterwards.
    private func send(
        _ message: ProtocolMessage,
        to peer: ProtocolPeer,
        over channel: NIOAsyncChannel<ProtocolFrame, ProtocolFrame>,
        timeout: Duration
    ) async throws -> ProtocolFrame {
        let timedOut = Flag()
        do {
            return try await channel.executeThenClose { inbound, outbound in
                let stamp = self.sequencer.withLock { $0.next(now: self.wallClock()) }
                let request = ProtocolFrame(
                    header: FrameHeader(sender: self.configuration.name, recipient: peer.name, stamp: stamp),
                    message: message
                )
                do {
                    try await outbound.write(request)
                } catch {
                    // A write fails with "closed channel" when TLS has failed (a refused server certificate); the
                    // inbound stream ends with the reason, which is the error worth reporting. Closing first makes sure
                    // that stream ends.
                    channel.channel.close(promise: nil)
                    for try await _ in inbound {}
                    throw error
                }
                self.logger.trace(
                    "Request sent",
                    metadata: [LogKey.peer: "\(peer)", LogKey.request: "\(message.messageType)"]
                )
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    // The inbound iterator cannot leave this task, so the deadline closes the channel instead of
                    // racing the read; the read then ends and the flag says why.
                    group.addTask {
                        do { try await Task.sleep(for: timeout) } catch { return }
                        timedOut.set()
                        channel.channel.close(promise: nil)
                    }
                    defer { group.cancelAll() }
                    for try await reply in inbound {
                        guard reply.isReply(to: request) else {
                            throw MMMError(
                                .unexpectedResult,
                                "\(peer) sent \(reply.message.messageType) from \(reply.header.sender) to "
                                    + "\(reply.header.recipient) in reply to \(reply.header.inReplyTo), which does not "
                                    + "answer our request \(stamp.counter)"
                            )
                        }
                        return reply
                    }
                    throw MMMError(
                        .connectionLost,
                        "\(peer) closed the connection without answering; it may have refused our frame (check that "
                            + "both use the same secret, key \(self.configuration.key.fingerprint), and that the "
                            + "clocks agree)"
                    )
                }
            }
        } catch let error where timedOut.isSet {
            throw MMMError(.timedOut, "\(peer) did not answer within \(timeout)", cause: error)
        } catch let error as MMMError {
            throw error
        } catch let rejection as ProtocolRejection where rejection.reason == .badMagic {
            // Not a frame at all: most likely a TLS record from a server with `<socket> type ssl` while we are plain.
            throw MMMError(
                .connectionFailed,
                "\(peer) does not answer with protocol frames (\(rejection.description)); check that both sides use "
                    + "the same <socket> type (plain or ssl)"
            )
        } catch let rejection as ProtocolRejection {
            throw MMMError(rejection.error.code, "answer from \(peer) refused: \(rejection.description)")
        } catch is CancellationError {
            throw CancellationError()
        } catch let error where isTLSError(error) {
            throw MMMError(
                .connectionFailed,
                "TLS with \(peer) failed: \(error) (check that both sides use <socket> type ssl with certificates "
                    + "signed by the same ca_file)",
                cause: error
            )
        } catch {
            throw MMMError(.connectionLost, "exchange with \(peer) failed: \(error)", cause: error)
        }
    }
}
