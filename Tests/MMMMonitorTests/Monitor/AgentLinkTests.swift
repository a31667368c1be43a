import Logging
import MMMCore
import MMMProtocol
import MMMTransport
import NIOCore
import Testing

@testable import MMMMonitor

@Suite("AgentLink")
struct AgentLinkTests {
    @Test("only a request that never got a connection counts as never sent (it renewed no lease)")
    func neverSentClassification() {
        #expect(AgentLink.neverSent(MMMError(.connectionFailed, "cannot connect to db1 (198.18.0.101:9989): refused")))
        #expect(AgentLink.neverSent(MMMError(.timedOut, "connecting to db1 did not complete", cause: ChannelError.connectTimeout(.seconds(1)))))
        // The frame may have been read: the lease may have been renewed.
        #expect(!AgentLink.neverSent(MMMError(.timedOut, "db1 did not answer within 2 s")))
        #expect(!AgentLink.neverSent(MMMError(.connectionLost, "exchange with db1 failed")))
        #expect(!AgentLink.neverSent(CancellationError()))
    }
}

@Suite("AgentLink renewals")
struct AgentLinkRenewalTests {
    @Test("a status with the writer role that never got a connection does not move the last renewal")
    func refusedConnectionRenewsNothing() async throws {
        let client = ProtocolClient(
            configuration: ProtocolClientConfiguration(name: "monitor", key: ProtocolKey(secret: "renewal-test-secret"), connectTimeout: .milliseconds(300)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        // Port 1 on loopback: nothing listens, the connection is refused.
        let link = AgentLink(peer: ProtocolPeer(name: "db1", host: "127.0.0.1", port: 1), client: AgentClient(client: client), writerRole: "writer")
        let before = link.lastRenewalStarted
        let delivered = link.lastRenewalDelivered
        try await Task.sleep(for: .milliseconds(20))
        let status = SetStatus(state: .online, roles: [RoleIP(role: "writer", ip: "198.18.0.200")], activeMaster: "db1", epoch: 1)
        await #expect(throws: MMMError.self) { try await link.send(.setStatus(status), replyTimeout: .seconds(1)) }
        #expect(link.lastRenewalStarted == before)
        #expect(link.lastRenewalDelivered == delivered)
    }
}
