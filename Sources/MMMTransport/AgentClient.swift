import MMMCore
import MMMProtocol

/// Sends ``MMMProtocol/AgentRequest``s to agents: the monitor's renewals and status orders, and the agents' peer
/// lease checks.
///
/// A thin layer over ``ProtocolClient`` (one connection per request, one request in flight per agent, one client
/// per sender name per process: see there) that also checks the answer's kind with
/// ``MMMProtocol/AgentResponse/isAnswer(to:)``.
public struct AgentClient: Sendable {
    /// The protocol client underneath (shared with any other user of the same sender name).
    public let client: ProtocolClient

    /// Creates an agent client over `client`.
    public init(client: ProtocolClient) {
        self.client = client
    }

    /// Sends `request` to `agent` and returns its answer.
    ///
    /// An agent that could not carry out the request answers ``MMMProtocol/AgentResponse/failed(_:)``, which is
    /// returned, not thrown: the caller decides what a refusal means.
    ///
    /// - Parameters:
    ///   - request: what to ask.
    ///   - agent: the agent's host name and `agent_ip`:`agent_port`.
    ///   - replyTimeout: how long to wait for the answer; the client's default when `nil`.
    /// - Throws: ``MMMCore/MMMError`` as ``ProtocolClient/exchange(_:with:replyTimeout:)`` does, and
    ///   `unexpectedResult` for an answer that is not one to `request`.
    public func send(
        _ request: AgentRequest,
        to agent: ProtocolPeer,
        replyTimeout: Duration? = nil
    ) async throws -> AgentResponse {
        let reply = try await self.client.exchange(.agentRequest(request), with: agent, replyTimeout: replyTimeout)
        guard case .agentResponse(let response) = reply.message, response.isAnswer(to: request) else {
            throw MMMError(
                .unexpectedResult,
                "\(agent) answered \(ProtocolMessage.agentRequest(request).messageType) with "
                    + "\(reply.message.messageType)"
            )
        }
        return response
    }
}
