import Logging
import MMMControl
import MMMCore
import MMMMonitor
import MMMProtocol
import MMMTransport
import NIOCore
import Synchronization
import Testing

/// The control server on real loopback sockets, driven through ``MMMTransport/ControlClient``.
@Suite struct ControlServerTests {
    static let secret = "control server test secret, long enough"
    static let key = ProtocolKey(secret: secret)

    /// A handler that records what it was asked and answers with `body`.
    final class RecordingHandler: ControlHandling {
        private let calls = Mutex([(ControlRequest, String)]())
        private let body: @Sendable (ControlRequest) async -> ControlResponse

        init(_ body: @escaping @Sendable (ControlRequest) async -> ControlResponse) {
            self.body = body
        }

        /// A handler that always answers `response`.
        convenience init(fixed response: ControlResponse) {
            self.init { _ in response }
        }

        var requests: [ControlRequest] { self.calls.withLock { $0.map(\.0) } }
        var senders: [String] { self.calls.withLock { $0.map(\.1) } }

        func handle(_ request: ControlRequest, from sender: String) async -> ControlResponse {
            self.calls.withLock { $0.append((request, sender)) }
            return await self.body(request)
        }
    }

    /// A handler that runs ``ControlDispatcher`` on the seed's running cluster, as the monitor does.
    final class DispatchingHandler: ControlHandling {
        private let machine = Mutex(ControlFixtures.running())

        func handle(_ request: ControlRequest, from sender: String) async -> ControlResponse {
            self.machine.withLock { machine in
                ControlDispatcher.handle(
                    verb: request.verb,
                    arguments: request.arguments,
                    machine: &machine,
                    reachableAgents: ControlFixtures.bothAgents,
                    now: .seconds(10),
                    time: ControlFixtures.time
                ).response
            }
        }
    }

    /// Records the rejection reasons the server logs.
    final class Rejections: Sendable {
        private let reasons = Mutex([String]())

        var all: [String] { self.reasons.withLock { $0 } }

        func makeLogger() -> Logger {
            Logger(label: "mmm.control.server.test") { _ in RejectionLogHandler(rejections: self) }
        }

        fileprivate func record(_ reason: String) {
            self.reasons.withLock { $0.append(reason) }
        }
    }

    private struct RejectionLogHandler: LogHandler {
        let rejections: Rejections
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            if let reason = event.metadata?["mmm.rejection"] {
                self.rejections.record("\(reason)")
            }
        }
    }

    static func configuration(requestDeadline: Duration = .seconds(10)) -> ProtocolServerConfiguration {
        ProtocolServerConfiguration(
            name: ControlClient.monitorName,
            host: "127.0.0.1",
            port: 0,
            key: key,
            requestDeadline: requestDeadline
        )
    }

    static func client(key: ProtocolKey = key, name: String = "control-test-1", replyTimeout: Duration = .seconds(5)) -> ControlClient {
        ControlClient(
            client: ProtocolClient(
                configuration: ProtocolClientConfiguration(name: name, key: key, replyTimeout: replyTimeout),
                logger: Logger(label: "mmm.control.client.test") { _ in SwiftLogNoOpLogHandler() }
            )
        )
    }

    /// Runs `server` while `body` runs, then cancels it.
    static func withRunningServer<H: ControlHandling, T: Sendable>(
        _ server: ControlServer<H>,
        _ body: (ProtocolPeer) async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = try #require(try await server.localAddress.port)
            return try await body(ControlClient.monitor(host: "127.0.0.1", port: port))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aGoodClientGetsTheHandlersAnswer() async throws {
        let answer = ControlResponse(isError: false, text: "OK: Pinged successfully!")
        let handler = RecordingHandler(fixed: answer)
        let rejections = Rejections()
        let server = ControlServer(configuration: Self.configuration(), handler: handler, logger: rejections.makeLogger())
        let client = Self.client(name: "control-db-admin-4242")
        let response = try await Self.withRunningServer(server) { monitor in
            try await client.send(ControlRequest(verb: "ping"), to: monitor)
        }
        #expect(response == answer)
        #expect(handler.requests == [ControlRequest(verb: "ping")])
        #expect(handler.senders == ["control-db-admin-4242"])
        #expect(rejections.all.isEmpty)
    }

    @Test(.timeLimit(.minutes(1)))
    func anErrorAnswerArrivesAsAnError() async throws {
        let answer = ControlResponse(isError: true, text: "ERROR: Unknown host name 'db3'!")
        let handler = RecordingHandler(fixed: answer)
        let server = ControlServer(configuration: Self.configuration(), handler: handler, logger: Rejections().makeLogger())
        let response = try await Self.withRunningServer(server) { monitor in
            try await Self.client().send(ControlRequest(verb: "set_online", arguments: ["db3"]), to: monitor)
        }
        #expect(response == answer)
        #expect(handler.requests == [ControlRequest(verb: "set_online", arguments: ["db3"])])
    }

    @Test(.timeLimit(.minutes(1)))
    func aClientWithAWrongKeyGetsNothingAndTheHandlerIsNeverCalled() async throws {
        let handler = RecordingHandler(fixed: ControlResponse(isError: false, text: "must not be sent"))
        let rejections = Rejections()
        let server = ControlServer(configuration: Self.configuration(), handler: handler, logger: rejections.makeLogger())
        let intruder = Self.client(key: ProtocolKey(secret: "not the monitor's secret at all"))
        let error = try await Self.withRunningServer(server) { monitor in
            await #expect(throws: MMMError.self) {
                try await intruder.send(ControlRequest(verb: "set_offline", arguments: ["db1"]), to: monitor)
            }
        }
        let failure = try #require(error)
        #expect(failure.code == .connectionLost)
        #expect(failure.message.contains("127.0.0.1:"))
        #expect(failure.message.contains("agent_secret"))
        #expect(handler.requests.isEmpty)
        #expect(rejections.all == [ProtocolRejection.Reason.badMAC.rawValue])
    }

    @Test(.timeLimit(.minutes(1)))
    func anAgentRequestIsRefusedWithoutCallingTheHandler() async throws {
        let handler = RecordingHandler(fixed: ControlResponse(isError: false, text: "must not be sent"))
        let rejections = Rejections()
        let server = ControlServer(configuration: Self.configuration(), handler: handler, logger: rejections.makeLogger())
        // The right key and recipient, but an agent's request: the control server must not take it.
        let agentClient = AgentClient(
            client: ProtocolClient(
                configuration: ProtocolClientConfiguration(name: "db1", key: Self.key, replyTimeout: .seconds(5)),
                logger: Logger(label: "mmm.agent.client.test") { _ in SwiftLogNoOpLogHandler() }
            )
        )
        let error = try await Self.withRunningServer(server) { monitor in
            await #expect(throws: MMMError.self) {
                try await agentClient.send(.ping, to: monitor)
            }
        }
        #expect(error?.code == .connectionLost)
        #expect(handler.requests.isEmpty)
        #expect(rejections.all == [ProtocolRejection.Reason.unexpectedMessage.rawValue])
    }

    @Test(.timeLimit(.minutes(1)))
    func aRequestPastTheDeadlineIsAnsweredWithAnError() async throws {
        let handler = RecordingHandler { _ in
            try? await Task.sleep(for: .seconds(30))
            return ControlResponse(isError: false, text: "too late")
        }
        let server = ControlServer(
            configuration: Self.configuration(requestDeadline: .milliseconds(200)),
            handler: handler,
            logger: Rejections().makeLogger()
        )
        let started = ContinuousClock.now
        let response = try await Self.withRunningServer(server) { monitor in
            try await Self.client().send(ControlRequest(verb: "move_role", arguments: ["writer", "db2"]), to: monitor)
        }
        #expect(response.isError)
        #expect(response.text.hasPrefix("ERROR: The monitor did not answer 'move_role' within"))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test(.timeLimit(.minutes(1)))
    func anInvocationGoesThroughClientServerAndDispatcher() async throws {
        let server = ControlServer(
            configuration: Self.configuration(),
            handler: DispatchingHandler(),
            logger: Rejections().makeLogger()
        )
        let client = Self.client()
        let (show, json, refused) = try await Self.withRunningServer(server) { monitor in
            guard case .monitor(let showInvocation) = ControlInvocation.parse(["@c1", "show"]),
                case .monitor(let jsonInvocation) = ControlInvocation.parse(["--json", "mode"]),
                case .monitor(let refusedInvocation) = ControlInvocation.parse(["set_online", "db3"])
            else {
                throw MMMError(.invalidArgument, "the test's command lines must parse")
            }
            return (
                try await client.send(showInvocation.request, to: monitor),
                try await client.send(jsonInvocation.request, to: monitor),
                try await client.send(refusedInvocation.request, to: monitor)
            )
        }
        #expect(
            show
                == ControlResponse(
                    isError: false,
                    text: """
                          db1(192.168.1.101) master/ONLINE. Roles: writer(192.168.1.210)
                          db2(192.168.1.102) master/ONLINE. Roles: reader(192.168.1.220)

                        """
                )
        )
        #expect(json == ControlResponse(isError: false, text: #"{"mode":"ACTIVE","ok":true,"text":"ACTIVE"}"#))
        #expect(refused == ControlResponse(isError: true, text: "ERROR: Unknown host name 'db3'!"))
        #expect(ControlExitStatus(response: show) == .success)
        #expect(ControlExitStatus(response: refused) == .commandFailed)
    }

    @Test func anOutcomeBecomesItsWireResponse() {
        #expect(ControlOutcome(ok: "OK: done").response == ControlResponse(isError: false, text: "OK: done"))
        #expect(ControlOutcome(error: "ERROR: no").response == ControlResponse(isError: true, text: "ERROR: no"))
    }
}
