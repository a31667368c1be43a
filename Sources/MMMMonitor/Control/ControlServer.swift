import Logging
import MMMControl
import MMMCore
import MMMProtocol
import MMMTransport
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What answers `mmm_control`'s requests: the monitor's decision loop (which owns the state machine and calls
/// ``ControlDispatcher``), or a stub in tests.
public protocol ControlHandling: Sendable {
    /// The answer to `request` from `sender` (the authenticated sender name, `control-HOST-PID`).
    ///
    /// Runs under the control server's request deadline; when it passes first, the task is cancelled and the client
    /// gets `ControlResponse(isError: true, text: "ERROR: …")` instead (see
    /// ``ControlRequestResponder/answer(afterDeadline:of:)``), so honour cancellation. Refusals are answers
    /// (`isError: true` with MMM's `ERROR: …` text), never traps.
    func handle(_ request: ControlRequest, from sender: String) async -> ControlResponse
}

/// Adapts a ``ControlHandling`` to the generic ``MMMTransport/ProtocolServer``: it accepts control requests only.
public struct ControlRequestResponder<Handler: ControlHandling>: ProtocolRequestResponder {
    /// The handler requests go to.
    public let handler: Handler

    /// Creates a responder for `handler`.
    public init(handler: Handler) {
        self.handler = handler
    }

    /// The control request in `frame`; anything else (an agent request, an answer) is `unexpectedMessage`, and the
    /// server closes the connection without calling the handler.
    public func request(in frame: ProtocolFrame) throws(ProtocolRejection) -> ControlRequest {
        guard case .controlRequest(let request) = frame.message else {
            throw ProtocolRejection(
                .unexpectedMessage,
                "frame from \(frame.header.sender) carries \(frame.message.messageType), not a control request"
            )
        }
        return request
    }

    /// The handler's answer.
    public func respond(to request: ControlRequest, from sender: String) async -> ProtocolMessage {
        .controlResponse(await self.handler.handle(request, from: sender))
    }

    /// An `ERROR:` reply saying that the monitor did not answer in time (`mmm_control` exits 1 on it).
    public func answer(afterDeadline deadline: Duration, of request: ControlRequest) -> ProtocolMessage {
        .controlResponse(
            ControlResponse(
                isError: true,
                text: "ERROR: The monitor did not answer '\(request.verb)' within \(deadline). "
                    + "The command may still take effect: check with 'mmm_control show'."
            )
        )
    }
}

/// `mmm_mond`'s listener for `mmm_control`: a ``MMMTransport/ProtocolServer`` that answers
/// ``MMMProtocol/ControlRequest``s with a ``ControlHandling``.
///
/// Configure it with ``MMMTransport/ControlClient/monitorName`` as ``MMMTransport/ProtocolServerConfiguration/name``
/// (the recipient `mmm_control` addresses), the `<monitor>` section's `ip` and `port` as the address, the key of
/// `agent_secret`, and `<socket> type ssl` as ``MMMTransport/ProtocolServerConfiguration/tls``. Frames from clients
/// without the key are refused before the handler sees anything, as are agent frames. See
/// ``MMMTransport/ProtocolServer`` for the checks, deadlines and shutdown behaviour.
public struct ControlServer<Handler: ControlHandling>: Service {
    /// The generic server underneath.
    public let server: ProtocolServer<ControlRequestResponder<Handler>>

    /// Creates a control server; it listens once ``run()`` is called.
    ///
    /// - Parameters:
    ///   - configuration: address, the monitor's protocol name, key, request deadline and TLS.
    ///   - handler: what answers the requests.
    ///   - logger: where connections and rejections are logged.
    ///   - eventLoopGroup: the NIO threads; the shared singleton by default.
    ///   - wallClock: the clock for stamps and freshness checks.
    public init(
        configuration: ProtocolServerConfiguration,
        handler: Handler,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        wallClock: @escaping @Sendable () -> ProtocolTimestamp = WallClock.now
    ) {
        self.server = ProtocolServer(
            configuration: configuration,
            responder: ControlRequestResponder(handler: handler),
            logger: logger,
            eventLoopGroup: eventLoopGroup,
            wallClock: wallClock
        )
    }

    /// The address the server listens on, once it does (see ``MMMTransport/ProtocolServer/localAddress``).
    public var localAddress: SocketAddress {
        get async throws { try await self.server.localAddress }
    }

    /// Listens and serves until graceful shutdown or cancellation (see ``MMMTransport/ProtocolServer/run()``).
    public func run() async throws {
        try await self.server.run()
    }
}

extension ControlOutcome {
    /// The wire answer for this outcome: its text and error flag (the actions stay with the monitor).
    public var response: ControlResponse {
        ControlResponse(isError: self.isError, text: self.text)
    }
}
