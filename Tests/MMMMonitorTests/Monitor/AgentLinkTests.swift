import Logging
import MMMCore
import MMMProtocol
import MMMSystem
import MMMTransport
import NIOCore
import Testing

@testable import MMMMonitor

@Suite("AgentLink renewals")
struct AgentLinkRenewalTests {
    @Test("a status with the writer role that never got a connection does not move the last renewal")
    func refusedConnectionRenewsNothing() async throws {
        let client = ProtocolClient(
            configuration: ProtocolClientConfiguration(name: "monitor", key: ProtocolKey(secret: "renewal-test-secret"), connectTimeout: .milliseconds(300)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        // Port 1 on loopback: nothing listens, the connection is refused.
        let link = AgentLink(peer: ProtocolPeer(name: "db1", host: "127.0.0.1", port: 1), client: AgentClient(client: client), writerRole: "writer", clock: .system)
        let before = link.lastRenewalStarted
        let delivered = link.lastRenewalDelivered
        try await Task.sleep(for: .milliseconds(20))
        let status = SetStatus(state: .online, roles: [RoleIP(role: "writer", ip: "198.18.0.200")], activeMaster: "db1", epoch: 1)
        await #expect(throws: MMMError.self) { try await link.send(.setStatus(status), replyTimeout: .seconds(1)) }
        #expect(link.lastRenewalStarted == before)
        #expect(link.lastRenewalDelivered == delivered)
    }
}
