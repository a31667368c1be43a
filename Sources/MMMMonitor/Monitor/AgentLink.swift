import Logging
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMSystem
import MMMTransport
import Synchronization

/// The monitor's line to one agent: every request to that agent goes through it, one at a time.
///
/// The agent's replay guard needs the monitor's frames to it in stamp order, so ``ProtocolClient`` refuses a second
/// request to a peer already waited on; the link queues requests instead (status pushes, fence orders, drain and GTID
/// queries from different tasks), each still bounded by its own reply deadline once it is sent.
public final class AgentLink: Sendable {
    /// The agent.
    public let peer: ProtocolPeer
    private let client: AgentClient
    private let writerRole: String
    private let queue = SerialAccess()
    private let lastRenewal: Mutex<MonitorInstant>
    private let lastDelivered: Mutex<MonitorInstant>
    private let refused = Mutex(false)
    private let holding = Mutex(false)
    private let unanswered = Mutex(false)
    private let clock: MMMClock

    /// Creates a link over `client` (whose key is this agent's); `writerRole` is the active master role's name;
    /// `clock` times the renewals.
    public init(peer: ProtocolPeer, client: AgentClient, writerRole: String, clock: MMMClock) {
        self.peer = peer
        self.client = client
        self.writerRole = writerRole
        self.clock = clock
        self.lastRenewal = Mutex(clock.now)
        self.lastDelivered = Mutex(clock.now)
    }

    /// When the last renewing request that may have reached the agent was started, counting only requests that have
    /// ended (answered, or failed after the connection was made). Unlike ``lastRenewalStarted`` it ignores attempts
    /// still connecting: it tells how long the agent has certainly gone without a renewal, not when its lease can
    /// safely be assumed over (a promotion still uses ``lastRenewalStarted``).
    public var lastRenewalDelivered: MonitorInstant { self.lastDelivered.withLock { $0 } }

    /// The last request to this agent was refused at connect (`ECONNREFUSED`): the host is up but its agent is not
    /// running, so no lease is kept there and the time since the last renewal proves nothing (bench finding 4).
    /// Cleared by the next answer.
    public var agentRefusing: Bool { self.refused.withLock { $0 } }

    /// The last request reached the agent's host (the connection was made, so the host's kernel answers) but got no
    /// answer in time, and nothing was answered since: the agent is frozen or hung with its host, or the network lost
    /// the reply. Cleared by the next answer.
    public var agentSilent: Bool { self.unanswered.withLock { $0 } }

    /// When the last request that could renew this agent's writer lease was started (the link's creation before any).
    ///
    /// Every monitor message renews the lease once received, but a status without the writer role and a fence order
    /// take the right to write away as they renew it, so they do not count.
    public var lastRenewalStarted: MonitorInstant { self.lastRenewal.withLock { $0 } }

    /// Whether `request`, once received, could let the agent go on writing.
    func renewsWriterLease(_ request: AgentRequest) -> Bool {
        switch request {
        case .setStatus(let status):
            return status.roles.contains { $0.role == self.writerRole }
        case .fence:
            return false
        case .ping, .getAgentStatus, .getSystemInfo, .clearBadRoles, .getDrainStatus, .getGTIDPositions, .canReach:
            return true
        }
    }

    /// While a promotion fences this host, only fence orders are sent to it. A request that could renew its writer
    /// lease would move ``lastRenewalStarted``, and with it the instant the promotion may go on without the host's
    /// answer; any other request (a status without the writer role) would hold the link's queue for its whole reply
    /// timeout ahead of the next fence order. A frozen host accepts connections into its kernel's backlog and answers
    /// nothing, so both kept the promotion waiting until the host woke (issue 17). Requests already sent still count.
    /// Released by ``releaseRenewals()``.
    public func holdRenewals() {
        self.holding.withLock { $0 = true }
    }

    /// The agent refused connections when the previous monitor process last tried (its status file says so): it is
    /// not taken for a silent one until it answers (see ``agentRefusing``).
    public func rememberRefused() {
        self.refused.withLock { $0 = true }
    }

    /// Whether a promotion holds this link to fence orders (see ``holdRenewals()``).
    public var renewalsHeld: Bool { self.holding.withLock { $0 } }

    /// Renewing requests may be sent again (the promotion ended, or the host's agent confirmed its fence: a fenced
    /// lease is re-armed only by a status of a newer epoch).
    public func releaseRenewals() {
        self.holding.withLock { $0 = false }
    }

    /// Sends `request` once it is this link's turn, and returns the answer.
    ///
    /// - Throws: ``MMMCore/MMMError`` from the transport (unreachable, timed out, rejected), `interrupted` for any
    ///   request but a fence order while renewals are held (see ``holdRenewals()``), or `CancellationError`.
    public func send(_ request: AgentRequest, replyTimeout: Duration) async throws -> AgentResponse {
        try await self.queue.run {
            let renews = self.renewsWriterLease(request)
            if case .fence = request {
            } else if self.renewalsHeld {
                throw MMMError(
                    .interrupted,
                    "\(self.peer.name): not sent while a promotion fences this host (only fence orders are): it could renew the host's writer lease or hold up the next fence order"
                )
            }
            let started = self.clock.now
            let previous = self.lastRenewal.withLock { last in
                defer { if renews { last = started } }
                return last
            }
            do {
                let answer = try await self.client.send(request, to: self.peer, replyTimeout: replyTimeout)
                self.refused.withLock { $0 = false }
                self.unanswered.withLock { $0 = false }
                if renews { self.lastDelivered.withLock { $0 = max($0, started) } }
                return answer
            } catch {
                if ProtocolClient.wasRefused(error) {
                    self.refused.withLock { $0 = true }
                } else if !ProtocolClient.failedBeforeSending(error) {
                    self.refused.withLock { $0 = false }
                    self.unanswered.withLock { $0 = true }
                }
                // A request that never got a connection was never received: it renewed nothing.
                if renews, ProtocolClient.failedBeforeSending(error) {
                    self.lastRenewal.withLock { if $0 == started { $0 = previous } }
                } else if renews {
                    self.lastDelivered.withLock { $0 = max($0, started) }
                }
                throw error
            }
        }
    }
}
