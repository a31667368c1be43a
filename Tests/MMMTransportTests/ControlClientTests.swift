#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import MMMCore
import MMMProtocol
import MMMTransport
import NIOCore
import NIOPosix
import Testing

@Suite("ControlClient")
struct ControlClientTests {
    /// A stand-in for the monitor's control responder (which lives in MMMMonitor): answers every control request
    /// with `answer`, or with an agent's pong when `answer` is `nil` (a server of the wrong kind).
    struct StubControlResponder: ProtocolRequestResponder {
        let answer: ControlResponse?

        func request(in frame: ProtocolFrame) throws(ProtocolRejection) -> ControlRequest {
            guard case .controlRequest(let request) = frame.message else {
                throw ProtocolRejection(.unexpectedMessage, "not a control request")
            }
            return request
        }

        func respond(to request: ControlRequest, from sender: String) async -> ProtocolMessage {
            guard let answer = self.answer else { return .agentResponse(.pong(AgentPong(uptimeMilliseconds: 1))) }
            return .controlResponse(ControlResponse(isError: answer.isError, text: "\(answer.text) [\(request.verb)]"))
        }

        func answer(afterDeadline deadline: Duration, of request: ControlRequest) -> ProtocolMessage {
            .controlResponse(ControlResponse(isError: true, text: "ERROR: deadline"))
        }
    }

    static func client(replyTimeout: Duration = .seconds(5)) -> ControlClient {
        ControlClient(
            client: ProtocolClient(
                configuration: ProtocolClientConfiguration(
                    name: ControlClient.senderName(hostName: "admin-box", processID: 77),
                    key: serverTestKey,
                    replyTimeout: replyTimeout
                ),
                logger: LogCapture().makeLogger()
            )
        )
    }

    /// Runs a control stub server answering `answer` while `body` runs.
    static func withStubMonitor<T: Sendable>(
        answering answer: ControlResponse?,
        _ body: (ProtocolPeer) async throws -> T
    ) async throws -> T {
        let server = ProtocolServer(
            configuration: ProtocolServerConfiguration(
                name: ControlClient.monitorName,
                host: "127.0.0.1",
                port: 0,
                key: serverTestKey
            ),
            responder: StubControlResponder(answer: answer),
            logger: LogCapture().makeLogger()
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = try #require(try await server.localAddress.port)
            return try await body(ControlClient.monitor(host: "127.0.0.1", port: port))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func sendsTheRequestAndReturnsTheMonitorsAnswer() async throws {
        let client = Self.client()
        let (shown, pinged) = try await Self.withStubMonitor(answering: ControlResponse(isError: false, text: "OK")) {
            monitor in
            (
                try await client.send(ControlRequest(verb: "show", arguments: ["--json"]), to: monitor),
                try await client.send(ControlRequest(verb: "ping"), to: monitor)
            )
        }
        #expect(shown == ControlResponse(isError: false, text: "OK [show]"))
        #expect(pinged == ControlResponse(isError: false, text: "OK [ping]"))
    }

    @Test(.timeLimit(.minutes(1)))
    func anErrorAnswerIsReturnedNotThrown() async throws {
        let response = try await Self.withStubMonitor(answering: ControlResponse(isError: true, text: "ERROR: no")) {
            monitor in
            try await Self.client().send(ControlRequest(verb: "set_online", arguments: ["db9"]), to: monitor)
        }
        #expect(response == ControlResponse(isError: true, text: "ERROR: no [set_online]"))
    }

    @Test(.timeLimit(.minutes(1)))
    func anAnswerOfTheWrongKindIsUnexpected() async throws {
        let error = try await Self.withStubMonitor(answering: nil) { monitor in
            await #expect(throws: MMMError.self) {
                try await Self.client().send(ControlRequest(verb: "ping"), to: monitor)
            }
        }
        #expect(error?.code == .unexpectedResult)
        #expect(error?.message.contains("agentResponse") == true || error?.message.contains("not a control response") == true)
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnreachableMonitorIsAnErrorNamingItsAddressAndWhatToCheck() async throws {
        // A port bound but not listening: connects are refused, and no parallel test can take the port meanwhile.
        let reserved = try #require(ReservedPort())
        defer { reserved.release() }
        let port = reserved.port
        let error = await #expect(throws: MMMError.self) {
            try await Self.client().send(ControlRequest(verb: "show"), to: ControlClient.monitor(host: "127.0.0.1", port: port))
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("the monitor at 127.0.0.1:\(port)") == true)
        #expect(error?.message.contains("mmm_mond is running") == true)
    }

    @Test(.timeLimit(.minutes(1)))
    func aSilentMonitorTimesOutWithAdviceAboutClocksAndTheDaemon() async throws {
        // Accepts connections and never answers.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        let error = await #expect(throws: MMMError.self) {
            try await Self.client(replyTimeout: .milliseconds(200))
                .send(ControlRequest(verb: "show"), to: ControlClient.monitor(host: "127.0.0.1", port: port))
        }
        try await silent.close()
        #expect(error?.code == .timedOut)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
        #expect(error?.message.contains("clocks") == true)
    }

    @Test(
        arguments: [
            ("db-admin", Int32(4242), "control-db-admin-4242"),
            ("", Int32(7), "control-7"),
            ("host with spaces/and:colons", Int32(1), "control-host-with-spaces-and-colons-1"),
            (String(repeating: "h", count: 100), Int32(2_147_483_647), "control-" + String(repeating: "h", count: 45) + "-2147483647"),
        ]
    )
    func senderNamesFitTheProtocolsNameRule(hostName: String, processID: Int32, expected: String) {
        let name = ControlClient.senderName(hostName: hostName, processID: processID)
        #expect(name == expected)
        #expect(name.count <= 64)
    }
}

/// A TCP port on 127.0.0.1 held by a socket that is bound but never listens.
private struct ReservedPort {
    let descriptor: Int32
    let port: Int

    init?() {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func release() {
        close(self.descriptor)
    }
}
