import MMMCore
import MMMTransport
import NIOCore
import Testing

@Suite("ProtocolClient failures")
struct ProtocolClientFailureTests {
    @Test("only a request that never got a connection counts as never sent (it renewed no lease)")
    func neverSentClassification() {
        #expect(ProtocolClient.failedBeforeSending(MMMError(.connectionFailed, "cannot connect to db1 (198.18.0.101:9989): refused")))
        #expect(ProtocolClient.failedBeforeSending(MMMError(.timedOut, "connecting to db1 did not complete", cause: ChannelError.connectTimeout(.seconds(1)))))
        // The frame may have been read: the lease may have been renewed.
        #expect(!ProtocolClient.failedBeforeSending(MMMError(.timedOut, "db1 did not answer within 2 s")))
        #expect(!ProtocolClient.failedBeforeSending(MMMError(.connectionLost, "exchange with db1 failed")))
        #expect(!ProtocolClient.failedBeforeSending(CancellationError()))
    }
}
