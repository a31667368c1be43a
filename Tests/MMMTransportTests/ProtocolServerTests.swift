import Logging
import MMMTransport
import MMMCore
import MMMProtocol
import NIOCore
import Testing

/// A control responder like the monitor's (issue 5): echoes the verb and arguments.
private struct EchoControlResponder: ProtocolRequestResponder {
    func request(in frame: ProtocolFrame) throws(ProtocolRejection) -> ControlRequest {
        guard case .controlRequest(let request) = frame.message else {
            throw ProtocolRejection(.unexpectedMessage, "not a control request: \(frame.message.messageType)")
        }
        return request
    }

    func respond(to request: ControlRequest, from sender: String) async -> ProtocolMessage {
        .controlResponse(ControlResponse(isError: false, text: "\(sender): \(request.verb) \(request.arguments)"))
    }

    func answer(afterDeadline deadline: Duration, of request: ControlRequest) -> ProtocolMessage {
        .controlResponse(ControlResponse(isError: true, text: "timed out"))
    }
}

@Suite("ProtocolServer")
struct ProtocolServerTests {
    @Test(
        "the generic server serves control requests with another responder, and refuses agent requests",
        .timeLimit(.minutes(1))
    )
    func servesControlRequests() async throws {
        let logs = LogCapture()
        var configuration = makeServerConfiguration()
        configuration.name = "monitor"
        let server = ProtocolServer(
            configuration: configuration,
            responder: EchoControlResponder(),
            logger: logs.makeLogger()
        )
        let client = ProtocolClient(
            configuration: ProtocolClientConfiguration(name: "control-test-1", key: serverTestKey),
            logger: logs.makeLogger()
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = try #require(try await server.localAddress.port)
            let monitor = ProtocolPeer(name: "monitor", host: "127.0.0.1", port: port)
            let reply = try await client.exchange(
                .controlRequest(ControlRequest(verb: "show", arguments: ["--verbose"])),
                with: monitor
            )
            #expect(
                reply.message
                    == .controlResponse(ControlResponse(isError: false, text: "control-test-1: show [\"--verbose\"]"))
            )
            #expect(reply.header.sender == "monitor")
            let error = await #expect(throws: MMMError.self) {
                try await client.exchange(.agentRequest(.ping), with: monitor)
            }
            #expect(error?.code == .connectionLost)
        }
        #expect(logs.rejectionReasons == ["unexpectedMessage"])
        #expect(logs.entries.contains { $0.metadata["mmm.key.fingerprint"] == serverTestKey.fingerprint })
    }
}
