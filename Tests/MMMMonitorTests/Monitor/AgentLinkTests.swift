import MMMCore
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
