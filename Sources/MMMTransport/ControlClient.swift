import MMMCore
import MMMProtocol

/// Sends `mmm_control`'s ``MMMProtocol/ControlRequest``s to the monitor (`mmm_mond`) and returns its answers.
///
/// A thin layer over ``ProtocolClient`` (one connection per request; see there) that checks the answer's kind and
/// turns every transport failure into an ``MMMCore/MMMError`` whose message names the monitor's address and says
/// what to check. Each `mmm_control` process uses its own sender name (``senderName(hostName:processID:)``), so two
/// invocations never share a stamp sequence (docs/protocol.md §3).
public struct ControlClient: Sendable {
    /// The protocol name of the monitor's control server: the recipient of every control request. The monitor's
    /// control server must use it as its ``ProtocolServerConfiguration/name``.
    public static let monitorName = "monitor"

    /// The protocol client underneath.
    public let client: ProtocolClient

    /// Creates a control client over `client`.
    public init(client: ProtocolClient) {
        self.client = client
    }

    /// The monitor at `host`:`port` (the `<monitor>` section's `ip` and `port`), under ``monitorName``.
    public static func monitor(host: String, port: Int) -> ProtocolPeer {
        ProtocolPeer(name: Self.monitorName, host: host, port: port)
    }

    /// `control-HOST-PID`, made to fit the protocol's name rule (1–64 of `A–Z a–z 0–9 _ . -`): other characters
    /// become `-` and a long host name is shortened so that the process id always fits.
    ///
    /// - Parameters:
    ///   - hostName: this machine's host name (`gethostname`); empty gives `control-PID`.
    ///   - processID: this process's id.
    public static func senderName(hostName: String, processID: Int32) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
        let cleaned = String(hostName.map { allowed.contains($0) ? $0 : "-" })
        let suffix = "-\(processID)"
        let room = 64 - "control-".count - suffix.count
        let host = String(cleaned.prefix(room))
        return host.isEmpty ? "control\(suffix)" : "control-\(host)\(suffix)"
    }

    /// Sends `request` to `monitor` and returns its answer.
    ///
    /// A refusal (`isError`) is an answer and is returned, not thrown.
    ///
    /// - Parameters:
    ///   - request: the verb and its arguments.
    ///   - monitor: the monitor's address (see ``monitor(host:port:)``).
    ///   - replyTimeout: how long to wait for the answer; the client's default when `nil`.
    /// - Throws: ``MMMCore/MMMError`` with the code of ``ProtocolClient/exchange(_:with:replyTimeout:)``
    ///   (`connectionFailed`, `timedOut`, `connectionLost`, `accessDenied`…) and a message that names the monitor's
    ///   address and what to check (is `mmm_mond` running there, the same `agent_secret`, clocks in sync, the same
    ///   `<socket> type`); `unexpectedResult` for an answer that is not a control response. `CancellationError` when
    ///   cancelled.
    public func send(
        _ request: ControlRequest,
        to monitor: ProtocolPeer,
        replyTimeout: Duration? = nil
    ) async throws -> ControlResponse {
        let reply: ProtocolFrame
        do {
            reply = try await self.client.exchange(.controlRequest(request), with: monitor, replyTimeout: replyTimeout)
        } catch let error as MMMError {
            throw MMMError(error.code, Self.explain(error, monitor: monitor, key: self.client.configuration.key), cause: error)
        }
        guard case .controlResponse(let response) = reply.message else {
            throw MMMError(
                .unexpectedResult,
                "the monitor at \(monitor.host):\(monitor.port) answered \(request.verb) with "
                    + "\(reply.message.messageType), not a control response; is that port mmm_mond's <monitor> port "
                    + "and not an agent's?"
            )
        }
        return response
    }

    /// The message of a failed exchange: where, what happened, and what to check for that kind of failure.
    private static func explain(_ error: MMMError, monitor: ProtocolPeer, key: ProtocolKey) -> String {
        let address = "\(monitor.host):\(monitor.port)"
        let advice: String
        switch error.code {
        case .connectionFailed:
            advice = "check that mmm_mond is running and listens on \(address) (<monitor> ip and port in "
                + "mmm_mon.conf), and that both use the same <socket> type"
        case .timedOut:
            advice = "check that mmm_mond is running and not stuck, that nothing filters \(address), and that the "
                + "clocks of both hosts are in sync; a longer --timeout may help for slow commands"
        case .connectionLost:
            // The protocol client's message already asks about the secret and the clocks.
            advice = "mmm_mond reads agent_secret from its mmm_common.conf, and its log names the reason"
        case .accessDenied:
            advice = "check that mmm_mond runs with the same agent_secret (key \(key.fingerprint) here) and that the "
                + "clocks of both hosts are in sync (NTP)"
        default:
            advice = "check that mmm_mond is running at \(address) with the same agent_secret and that the clocks "
                + "are in sync"
        }
        return "cannot reach the monitor at \(address): \(error.message); \(advice)"
    }
}
