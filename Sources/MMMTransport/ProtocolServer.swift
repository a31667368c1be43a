import Logging
import MMMCore
import MMMDaemon
import MMMProtocol
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A TCP server for authenticated protocol frames: the agent's listener, and the monitor's control listener.
///
/// Each connection carries frames decoded and MAC-checked by ``MMMProtocol/ProtocolFrameDecoder``. For each frame
/// the server checks, in order:
///
/// 1. the recipient is ``ProtocolServerConfiguration/name`` (``MMMProtocol/ProtocolFrame/requireRecipient(_:)``);
/// 2. the stamp is fresh and newer than the last from its sender (one ``MMMProtocol/ReplayGuard`` for the whole
///    server, whose `notBefore` is the server's creation time, so frames sent to a previous process are refused);
/// 3. the responder understands it (``ProtocolRequestResponder/request(in:)``).
///
/// It then answers with the responder's message under the request deadline and replies with
/// ``MMMProtocol/ProtocolFrame/reply(with:stamp:)``, stamped by the server's own ``MMMProtocol/FrameSequencer``.
/// A frame that fails decoding or any check is logged at `warning` with its reason (never the key or secret) and
/// its connection is closed: a byte stream cannot be trusted after a bad frame. Other connections are unaffected.
///
/// With ``ProtocolServerConfiguration/tls`` set, a TLS handler comes first in every connection's pipeline: the client
/// must present a certificate signed by the configured CA, or the handshake fails, is logged at `warning`, and the
/// connection is closed (see ``ProtocolTLS``). The frame checks above apply in both modes.
///
/// Requests on one connection are answered one at a time, in order. Connections idle for
/// ``ProtocolServerConfiguration/idleTimeout`` are closed.
///
/// **Limits on unauthenticated peers.** Anyone who can reach the port can open connections, so before a frame is
/// read: a connection from an address not on ``ProtocolServerConfiguration/allowedPeers`` (when set), or beyond
/// ``ProtocolServerConfiguration/maximumConnections`` open ones, is closed as soon as it is accepted (logged at
/// `warning` with its peer, at most once every 10 s per reason); and a connection that has not delivered a
/// complete, authenticated frame within ``ProtocolServerConfiguration/firstFrameTimeout`` is closed. So silent
/// connections can neither exhaust the process's file descriptors (which a writer needs to fence itself) nor hold
/// the connection slots for long.
///
/// Graceful shutdown (SIGTERM through the daemon's `ServiceGroup`) closes the listener, lets every request in
/// flight finish and be answered, closes each connection once it has nothing in flight, and then ``run()``
/// returns. Cancellation closes everything at once.
public final class ProtocolServer<Responder: ProtocolRequestResponder>: Service {
    /// The server's configuration.
    public let configuration: ProtocolServerConfiguration
    private let responder: Responder
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let wallClock: @Sendable () -> ProtocolTimestamp
    private let codec: FrameCodec
    private let replayGuard: Mutex<ReplayGuard>
    private let sequencer: Mutex<FrameSequencer>
    private let address = BoundAddress()
    private let admission: ConnectionAdmission

    /// Creates a server; it listens once ``run()`` is called.
    ///
    /// - Parameters:
    ///   - configuration: address, name, key and limits.
    ///   - responder: what answers the requests.
    ///   - logger: where connections, rejections and failures are logged.
    ///   - eventLoopGroup: the NIO threads; the shared singleton by default.
    ///   - wallClock: the clock for stamps and freshness checks; tests may pass their own.
    public init(
        configuration: ProtocolServerConfiguration,
        responder: Responder,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        wallClock: @escaping @Sendable () -> ProtocolTimestamp = WallClock.now
    ) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.wallClock = wallClock
        self.codec = FrameCodec(
            key: configuration.key,
            maximumFrameSize: min(configuration.maximumFrameSize, FrameCodec.defaultMaximumFrameSize),
            monitorKey: configuration.monitorKey
        )
        self.replayGuard = Mutex(ReplayGuard(window: configuration.replayWindow, notBefore: wallClock()))
        self.sequencer = Mutex(FrameSequencer())
        self.admission = ConnectionAdmission(configuration: configuration, logger: logger)
    }

    /// The address the server listens on, once it does (with the real port when the configuration asked for 0).
    ///
    /// Waits until ``run()`` has bound the socket.
    ///
    /// - Throws: the bind failure, or ``MMMCore/MMMError`` `connectionClosed` if the server stopped first.
    public var localAddress: SocketAddress {
        get async throws { try await self.address.value() }
    }

    /// Listens and serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidConfiguration` if the configuration's limits are unusable
    ///   (``ProtocolServerConfiguration/validate()``), `connectionFailed` if the address cannot be bound (in use,
    ///   not local).
    public func run() async throws {
        do throws(MMMError) {
            try self.configuration.validate()
        } catch {
            self.address.resolve(.failure(error))
            throw error
        }
        let listener: NIOAsyncChannel<NIOAsyncChannel<ProtocolFrame, ProtocolFrame>, Never>
        let admission = self.admission
        do {
            listener = try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    // First in the listener's pipeline: a refused connection is closed before anything is set up
                    // for it.
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ConnectionAdmissionHandler(admission: admission))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: self.configuration.host, port: self.configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.configure(channel)
                        return try NIOAsyncChannel<ProtocolFrame, ProtocolFrame>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            let failure = MMMError(
                .connectionFailed,
                "cannot listen on \(self.configuration.host):\(self.configuration.port): \(error)",
                cause: error
            )
            self.address.resolve(.failure(failure))
            throw failure
        }
        defer {
            self.address.resolve(.failure(MMMError(.connectionClosed, "the protocol server has stopped")))
        }
        // Force-unwrap: a bound socket always has a local address.
        let local = listener.channel.localAddress!
        self.address.resolve(.success(local))
        self.logger.notice(
            "Listening for protocol connections",
            metadata: [
                LogKey.address: "\(local)",
                LogKey.host: "\(self.configuration.name)",
                LogKey.keyFingerprint: "\(self.configuration.key.fingerprint)",
                LogKey.tls: "\(self.configuration.tls == nil ? "off" : "mutual")",
                LogKey.connectionLimit: "\(self.configuration.maximumConnections)",
            ]
        )

        let stopping = Flag()
        try await withThrowingDiscardingTaskGroup { group in
            try await withTaskCancellationOrGracefulShutdownHandler {
                do {
                    try await listener.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                } catch where stopping.isSet {
                    // Closing the listener to stop may end the accept loop with an error; that is the stop.
                }
            } onCancelOrGracefulShutdown: {
                stopping.set()
                listener.channel.close(promise: nil)
            }
        }
        self.logger.notice("Protocol server stopped", metadata: [LogKey.address: "\(local)"])
    }

    private func configure(_ channel: any Channel) throws {
        if let tls = self.configuration.tls {
            // First, so that every byte the frame codec sees has come through the verified TLS session.
            try channel.pipeline.syncOperations.addHandler(tls.makeServerHandler())
        }
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(ProtocolFrameDecoder(codec: self.codec)),
            MessageToByteHandler(ProtocolFrameEncoder(codec: self.codec)),
            IdleTimeoutHandler(
                timeout: TimeAmount(self.configuration.idleTimeout),
                firstFrameTimeout: TimeAmount(self.configuration.firstFrameTimeout),
                logger: self.logger
            ),
        ])
    }

    /// Serves one connection until it closes, fails a check, goes idle, or the server stops.
    private func serve(_ connection: NIOAsyncChannel<ProtocolFrame, ProtocolFrame>) async {
        let peer = connection.channel.remoteAddress?.description ?? "unknown"
        let state = ConnectionState(channel: connection.channel)
        self.logger.debug("Connection opened", metadata: [LogKey.peer: "\(peer)"])
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withTaskCancellationOrGracefulShutdownHandler {
                    for try await frame in inbound {
                        guard state.beginRequest() else { break }
                        let keepOpen = try await self.answer(frame, peer: peer, outbound: outbound)
                        guard state.endRequest(), keepOpen else { break }
                    }
                } onCancelOrGracefulShutdown: {
                    state.stop()
                }
            }
            self.logger.debug("Connection closed", metadata: [LogKey.peer: "\(peer)"])
        } catch let rejection as ProtocolRejection {
            self.logRejection(rejection, peer: peer, sender: nil)
        } catch let error where self.configuration.tls != nil && isTLSError(error) {
            // A refused client certificate, a plain client, or a broken TLS record: worth a warning, like a bad frame.
            self.logger.warning(
                "TLS failed; closing the connection",
                metadata: [LogKey.peer: "\(peer)", LogKey.error: "\(error)"]
            )
        } catch {
            // One connection's failure must not tear down the server (house style §3.2).
            self.logger.debug("Connection failed", metadata: [LogKey.peer: "\(peer)", LogKey.error: "\(error)"])
        }
    }

    /// Checks and answers one frame; returns whether the connection stays open.
    private func answer(
        _ frame: ProtocolFrame,
        peer: String,
        outbound: NIOAsyncChannelOutboundWriter<ProtocolFrame>
    ) async throws -> Bool {
        let request: Responder.Request
        do throws(ProtocolRejection) {
            try frame.requireRecipient(self.configuration.name)
            if self.configuration.monitorKey != nil, frame.header.sender == self.configuration.monitorName,
                !frame.isSignedByMonitor
            {
                throw ProtocolRejection(
                    .badSignature,
                    "a frame from \(frame.header.sender) without the monitor's signature: monitor_public_key is set "
                        + "here, so only the monitor's signed frames are accepted under that name (set "
                        + "monitor_signing_key in the monitor's mmm_mon.conf, or this host holds another common config)"
                )
            }
            let now = self.wallClock()
            try self.replayGuard.withLock { replayGuard throws(ProtocolRejection) in
                try replayGuard.admit(frame.header, now: now)
            }
            request = try self.responder.request(in: frame)
        } catch {
            self.logRejection(error, peer: peer, sender: frame.header.sender)
            return false
        }
        let sender = frame.header.sender
        let metadata: Logger.Metadata = [
            LogKey.peer: "\(peer)", LogKey.sender: "\(sender)", LogKey.request: "\(frame.message.messageType)",
        ]
        self.logger.trace("Request received", metadata: metadata)

        let deadline = self.configuration.requestDeadline
        let responder = self.responder
        try await withThrowingTaskGroup(of: ProtocolMessage?.self) { group in
            group.addTask { await responder.respond(to: request, from: sender) }
            group.addTask {
                // try?: a cancelled sleep (server cancelled) also ends the wait; the answer is then the deadline one.
                try? await Task.sleep(for: deadline)
                return nil
            }
            // Force-unwrap: two children, so there is a first result.
            let first = try await group.next()!
            group.cancelAll()
            let message: ProtocolMessage
            if let first {
                message = first
            } else {
                self.logger.warning(
                    "Request exceeded its deadline",
                    metadata: metadata.merging([LogKey.duration: "\(deadline)"]) { $1 }
                )
                message = responder.answer(afterDeadline: deadline, of: request)
            }
            // The reply is written before the group ends: a responder slow to honour cancellation must not delay
            // the deadline answer (leaving the group waits for it).
            let stamp = self.sequencer.withLock { $0.next(now: self.wallClock()) }
            try await outbound.write(frame.reply(with: message, stamp: stamp))
        }
        self.logger.trace("Reply sent", metadata: metadata)
        return true
    }

    private func logRejection(_ rejection: ProtocolRejection, peer: String, sender: String?) {
        var metadata: Logger.Metadata = [
            LogKey.peer: "\(peer)",
            LogKey.rejection: "\(rejection.reason.rawValue)",
            LogKey.error: "\(rejection.description)",
        ]
        if let sender { metadata[LogKey.sender] = "\(sender)" }
        self.logger.warning("Protocol frame rejected; closing the connection", metadata: metadata)
    }
}

/// Whether a connection has a request in flight, so that a graceful shutdown closes it only between requests.
private final class ConnectionState: Sendable {
    private struct State {
        var inFlight = false
        var stopping = false
    }

    private let channel: any Channel
    private let state = Mutex(State())

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Marks a request in flight; false if the server is stopping (the frame is then dropped unanswered).
    func beginRequest() -> Bool {
        self.state.withLock { state in
            guard !state.stopping else { return false }
            state.inFlight = true
            return true
        }
    }

    /// Marks the request answered; false if the server is stopping and the connection should close now.
    func endRequest() -> Bool {
        self.state.withLock { state in
            state.inFlight = false
            return !state.stopping
        }
    }

    /// Stops the connection: at once if idle, else after the request in flight has been answered.
    func stop() {
        let idle = self.state.withLock { state in
            state.stopping = true
            return !state.inFlight
        }
        if idle {
            self.channel.close(promise: nil)
        }
    }
}

/// The server's listening address, delivered to whoever waits for it once the socket is bound.
private final class BoundAddress: Sendable {
    private enum State {
        case waiting([CheckedContinuation<SocketAddress, any Error>])
        case resolved(Result<SocketAddress, any Error>)
    }

    private let state = Mutex(State.waiting([]))

    func value() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            let resolved: Result<SocketAddress, any Error>? = self.state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .resolved(let result):
                    return result
                }
            }
            if let resolved { continuation.resume(with: resolved) }
        }
    }

    /// Delivers `result` to every waiter; only the first call counts.
    func resolve(_ result: Result<SocketAddress, any Error>) {
        let waiters: [CheckedContinuation<SocketAddress, any Error>] = self.state.withLock { state in
            switch state {
            case .waiting(let waiters):
                state = .resolved(result)
                return waiters
            case .resolved:
                return []
            }
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
