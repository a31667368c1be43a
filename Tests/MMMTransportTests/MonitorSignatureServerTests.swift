import Logging
import MMMCore
import MMMProtocol
import MMMTransport
import Testing

/// An agent with `monitor_public_key` takes frames under the monitor's name only with the monitor's signature; its
/// peers (which hold the same `agent_secret`) still reach it under their own names.
@Suite struct MonitorSignatureServerTests {
    static let monitorKey = MonitorSigningKey()

    func server(capture: LogCapture) -> AgentServer<ClosureAgentHandler> {
        var configuration = makeServerConfiguration()
        configuration.monitorKey = Self.monitorKey.publicKey
        return AgentServer(configuration: configuration, handler: ClosureAgentHandler.pinging, logger: capture.makeLogger())
    }

    func client(name: String, signingKey: MonitorSigningKey?) -> AgentClient {
        AgentClient(
            client: ProtocolClient(
                configuration: ProtocolClientConfiguration(name: name, key: serverTestKey, signingKey: signingKey),
                logger: LogCapture().makeLogger()
            )
        )
    }

    @Test("the monitor's signed frames are answered", .timeLimit(.minutes(1)))
    func signedMonitor() async throws {
        let capture = LogCapture()
        try await withRunningServer(self.server(capture: capture)) { agent in
            let answer = try await self.client(name: "monitor", signingKey: Self.monitorKey).send(.ping, to: agent)
            #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
        }
        #expect(capture.rejectionReasons.isEmpty)
    }

    @Test("a host with only agent_secret, or another key, cannot speak as the monitor", .timeLimit(.minutes(1)))
    func impostorsAreRefused() async throws {
        let capture = LogCapture()
        try await withRunningServer(self.server(capture: capture)) { agent in
            await #expect(throws: MMMError.self) {
                try await self.client(name: "monitor", signingKey: nil).send(.ping, to: agent)
            }
            await #expect(throws: MMMError.self) {
                try await self.client(name: "monitor", signingKey: MonitorSigningKey()).send(.ping, to: agent)
            }
        }
        #expect(capture.rejectionReasons == ["badSignature", "badSignature"])
        #expect(capture.contains("monitor_public_key"))
    }

    @Test("a peer agent's unsigned frames under its own name are answered", .timeLimit(.minutes(1)))
    func peersStillTalk() async throws {
        let capture = LogCapture()
        try await withRunningServer(self.server(capture: capture)) { agent in
            let answer = try await self.client(name: "db2", signingKey: nil).send(.ping, to: agent)
            #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
        }
    }
}
