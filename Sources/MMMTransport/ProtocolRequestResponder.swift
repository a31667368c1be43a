import MMMProtocol

/// What a ``ProtocolServer`` serves: it picks the requests it understands out of authenticated frames and answers
/// them.
///
/// The server has already checked the frame's MAC, recipient and freshness. The agent's responder is
/// ``AgentRequestResponder``; the monitor's control server (issue 5) supplies one whose `Request` is
/// ``MMMProtocol/ControlRequest``.
public protocol ProtocolRequestResponder: Sendable {
    /// The requests this responder answers.
    associatedtype Request: Sendable

    /// The request in `frame`, or a ``MMMProtocol/ProtocolRejection`` with reason `unexpectedMessage` when the
    /// frame carries something else (an answer, or another server's request); the server then logs it and closes the
    /// connection.
    func request(in frame: ProtocolFrame) throws(ProtocolRejection) -> Request

    /// The answer to `request` from `sender` (the frame's authenticated sender name).
    ///
    /// Called once per request, under the server's request deadline: when the deadline passes first this task is
    /// cancelled and ``answer(afterDeadline:of:)`` is sent instead, so honour cancellation.
    func respond(to request: Request, from sender: String) async -> ProtocolMessage

    /// The answer sent when ``respond(to:from:)`` did not finish within `deadline`.
    func answer(afterDeadline deadline: Duration, of request: Request) -> ProtocolMessage
}
