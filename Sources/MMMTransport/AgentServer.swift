import Logging
import MMMCore
import MMMProtocol
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What answers the agent's protocol requests: the agent itself (issue 4), or a fake in tests.
public protocol AgentRequestHandling: Sendable {
    /// The answer to `request` from `sender` (the authenticated sender name: `monitor`, or a peer agent's host).
    ///
    /// Runs under the server's request deadline; when it passes first, the task is cancelled and the requester gets
    /// ``MMMProtocol/AgentResponse/failed(_:)`` with code `timedOut`, so honour cancellation. Report failures as
    /// `.failed(AgentFailure(error))`, never by trapping.
    func handle(_ request: AgentRequest, from sender: String) async -> AgentResponse
}

/// Adapts an ``AgentRequestHandling`` to the generic ``ProtocolServer``: it accepts agent requests only.
public struct AgentRequestResponder<Handler: AgentRequestHandling>: ProtocolRequestResponder {
    /// The handler requests go to.
    public let handler: Handler

    /// Creates a responder for `handler`.
    public init(handler: Handler) {
        self.handler = handler
    }

    /// The agent request in `frame`; anything else (an answer, a control request) is `unexpectedMessage`.
    public func request(in frame: ProtocolFrame) throws(ProtocolRejection) -> AgentRequest {
        guard case .agentRequest(let request) = frame.message else {
            throw ProtocolRejection(
                .unexpectedMessage,
                "frame from \(frame.header.sender) carries \(frame.message.messageType), not an agent request"
            )
        }
        return request
    }

    /// The handler's answer.
    public func respond(to request: AgentRequest, from sender: String) async -> ProtocolMessage {
        .agentResponse(await self.handler.handle(request, from: sender))
    }

    /// `failed(timedOut)`.
    public func answer(afterDeadline deadline: Duration, of request: AgentRequest) -> ProtocolMessage {
        let kind = ProtocolMessage.agentRequest(request).messageType
        return .agentResponse(
            .failed(AgentFailure(MMMError(.timedOut, "the agent did not answer \(kind) within \(deadline)")))
        )
    }
}

/// `mmm_agentd`'s listener: a ``ProtocolServer`` that answers ``MMMProtocol/AgentRequest``s with an
/// ``AgentRequestHandling``.
///
/// Configure it with the agent's host name (`this`) as ``ProtocolServerConfiguration/name`` and `agent_ip` /
/// `agent_port` as the address. See ``ProtocolServer`` for the checks, deadlines and shutdown behaviour.
public struct AgentServer<Handler: AgentRequestHandling>: Service {
    /// The generic server underneath.
    public let server: ProtocolServer<AgentRequestResponder<Handler>>

    /// Creates an agent server; it listens once ``run()`` is called.
    ///
    /// - Parameters:
    ///   - configuration: address, the agent's host name, key and limits.
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
            responder: AgentRequestResponder(handler: handler),
            logger: logger,
            eventLoopGroup: eventLoopGroup,
            wallClock: wallClock
        )
    }

    /// The address the server listens on, once it does (see ``ProtocolServer/localAddress``).
    public var localAddress: SocketAddress {
        get async throws { try await self.server.localAddress }
    }

    /// Listens and serves until graceful shutdown or cancellation (see ``ProtocolServer/run()``).
    public func run() async throws {
        try await self.server.run()
    }
}
