import Logging
import MMMCore
import MMMProtocol
import MMMSystem
import MMMTransport
import NIOCore
import Testing

@testable import MMMMonitor

#if canImport(Glibc)
import Glibc
#endif

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

    static func client() -> ProtocolClient {
        ProtocolClient(
            configuration: ProtocolClientConfiguration(name: "monitor", key: ProtocolKey(secret: "renewal-test-secret"), connectTimeout: .milliseconds(300)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// A link to an agent of host db1 on a loopback port.
    static func link(port: Int) -> AgentLink {
        AgentLink(
            peer: ProtocolPeer(name: "db1", host: "127.0.0.1", port: port), client: AgentClient(client: Self.client()), writerRole: "writer",
            clock: .system
        )
    }

    static let writerStatus = SetStatus(state: .online, roles: [RoleIP(role: "writer", ip: "198.18.0.200")], activeMaster: "db1", epoch: 1)

    /// A frozen host: a listening socket that nobody accepts from. The kernel completes the connection into the
    /// backlog; no answer ever comes. Returns the descriptor and its port.
    static func frozenListener() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw MMMError(.commandFailed, "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw MMMError(.commandFailed, "bind/listen: errno \(errno)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Issue 17: the link tells a host whose kernel takes the connection but whose agent never answers (frozen) from
    /// one that refuses or cannot be reached, so that the monitor can stop starting renewals there.
    @Test("a request the host accepted but never answered marks the agent silent; it may have renewed, so it counts")
    func unansweredRequestMarksTheAgentSilent() async throws {
        let (descriptor, port) = try Self.frozenListener()
        defer { close(descriptor) }
        let link = Self.link(port: port)
        let before = link.lastRenewalStarted
        #expect(!link.agentSilent)
        try await Task.sleep(for: .milliseconds(20))
        await #expect(throws: MMMError.self) { try await link.send(.setStatus(Self.writerStatus), replyTimeout: .milliseconds(300)) }
        #expect(link.agentSilent)
        #expect(!link.agentRefusing)
        #expect(link.lastRenewalStarted > before, "the frame reached the host's kernel: it may still be read and renew the lease")
    }

    /// Issue 17: while a promotion fences the host, nothing but fence orders is sent: a renewal would move the
    /// promotion's lease wait, and any other request would hold the link's queue ahead of the next fence order.
    @Test("while renewals are held, only fence orders are sent; nothing else moves the last renewal")
    func heldRenewalsAreNotSent() async throws {
        let (descriptor, port) = try Self.frozenListener()
        defer { close(descriptor) }
        let link = Self.link(port: port)
        let before = link.lastRenewalStarted
        try await Task.sleep(for: .milliseconds(20))
        link.holdRenewals()
        #expect(link.renewalsHeld)
        let withoutRole = SetStatus(state: .hardOffline, roles: [], activeMaster: nil, epoch: 1)
        for request in [AgentRequest.setStatus(Self.writerStatus), .setStatus(withoutRole), .getGTIDPositions, .getSystemInfo, .ping] {
            let error = await #expect(throws: MMMError.self) { try await link.send(request, replyTimeout: .milliseconds(300)) }
            #expect(error?.code == .interrupted, "\(request) is refused before sending")
        }
        #expect(link.lastRenewalStarted == before)
        #expect(!link.agentSilent, "nothing was sent")
        let fence = AgentRequest.fence(FenceOrder(target: "db1", epoch: 2, reason: "test"))
        let error = await #expect(throws: MMMError.self) { try await link.send(fence, replyTimeout: .milliseconds(300)) }
        #expect(error?.code != .interrupted, "the fence order was sent (and timed out)")
        #expect(link.agentSilent)
        link.releaseRenewals()
        #expect(!link.renewalsHeld)
        let released = await #expect(throws: MMMError.self) { try await link.send(.ping, replyTimeout: .milliseconds(300)) }
        #expect(released?.code != .interrupted)
        #expect(link.lastRenewalStarted > before)
    }
}
