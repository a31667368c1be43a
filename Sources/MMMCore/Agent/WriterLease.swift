/// The writer's lease on its role (DESIGN.md §6): the agent side as a pure state machine, plus the monitor's rule for
/// when it may promote another host without the old writer's confirmation.
///
/// Every monitor message to an agent renews that host's lease until `sentAt + timeout`, where `sentAt` is the
/// monitor's timestamp in the frame (so a message delayed in the network renews nothing it should not). When the
/// writer's lease runs out, the agent asks all its peers' agents whether they still hear the monitor:
/// - a peer hears it, or any peer does not answer: the writer may be the isolated one, so it fences itself
///   (`read_only=ON`, client sessions killed, VIP dropped);
/// - every peer answers that it lost the monitor too: the monitor is down, nobody can promote anyone, so the writer
///   keeps writing and asks again every `recheckInterval`.
///
/// A peer that does not answer might be on the monitor's side of a partition, which is why silence means fence.
/// The monitor's side is ``Configuration/earliestPromotion(lastSentToOldWriter:candidateAcknowledgedAt:)``.
public struct WriterLease: Sendable, Hashable {
    /// Timings of the lease. All durations; no clock is read here.
    public struct Configuration: Sendable, Hashable {
        /// How long one monitor message keeps the lease valid (`lease_timeout`).
        public var timeout: Duration
        /// How long the agent waits for its peers' answers.
        public var peerCheckDeadline: Duration
        /// How long fencing may take (read_only with a short lock wait, kill sessions, drop the VIP).
        public var fenceDeadline: Duration
        /// How often a writer that kept writing (monitor down) asks its peers again.
        public var recheckInterval: Duration
        /// The agent's tick: how late it may notice that the lease ran out.
        public var tickInterval: Duration
        /// How much later than the monitor sent it a renewal may still be accepted: the agent's replay window
        /// (frames older than that are refused) plus the difference between the hosts' clocks (NTP).
        public var maximumClockSkew: Duration

        /// Creates the timings; the defaults fence an isolated writer within about 5 s of its last renewal and let the
        /// monitor promote without its confirmation 7.4 s after its last message to it.
        public init(
            timeout: Duration = .seconds(3),
            peerCheckDeadline: Duration = .milliseconds(300),
            fenceDeadline: Duration = .milliseconds(1500),
            recheckInterval: Duration = .seconds(1),
            tickInterval: Duration = .milliseconds(100),
            maximumClockSkew: Duration = .milliseconds(1500)
        ) {
            self.timeout = timeout
            self.peerCheckDeadline = peerCheckDeadline
            self.fenceDeadline = fenceDeadline
            self.recheckInterval = recheckInterval
            self.tickInterval = tickInterval
            self.maximumClockSkew = maximumClockSkew
        }

        /// The earliest instant (monitor clock) at which the monitor may promote a candidate without the old
        /// writer's confirmation that it fenced itself.
        ///
        /// By then the old writer has certainly fenced itself if it is cut off from the monitor: its lease ended by
        /// `lastSentToOldWriter + timeout + maximumClockSkew`, and if its peers had lost the monitor too it asked
        /// again within `recheckInterval` after the candidate heard the monitor (`candidateAcknowledgedAt` bounds
        /// that); then it needed `peerCheckDeadline + fenceDeadline`, noticed within `tickInterval`.
        ///
        /// - Parameters:
        ///   - lastSentToOldWriter: the monitor's timestamp of the last message it sent (acknowledged or not) to the
        ///     old writer, or the monitor's own start if it has sent none since starting.
        ///   - candidateAcknowledgedAt: when the candidate acknowledged the monitor's first message after the old
        ///     writer was lost.
        public func earliestPromotion(
            lastSentToOldWriter: MonitorInstant,
            candidateAcknowledgedAt: MonitorInstant
        ) -> MonitorInstant {
            let leaseEnd = lastSentToOldWriter + self.timeout + self.maximumClockSkew
            let start = max(leaseEnd, candidateAcknowledgedAt)
            return start + self.tickInterval + self.recheckInterval + self.peerCheckDeadline + self.fenceDeadline
        }
    }

    /// What a peer's agent said when asked whether it still hears the monitor.
    public enum PeerAnswer: Sendable, Hashable {
        /// Its own lease is valid: it heard the monitor within `timeout`.
        case hearsMonitor
        /// It has not heard the monitor within `timeout` either.
        case lostMonitor
        /// It did not answer before the deadline.
        case noAnswer
    }

    /// Where the lease stands.
    public enum State: Sendable, Hashable {
        /// The host does not hold the writer role: nothing to guard.
        case notWriter
        /// Writer with a valid lease until the instant (agent clock).
        case holding(validUntil: MonitorInstant)
        /// The lease ran out; the peers were asked at the instant.
        case checkingPeers(askedAt: MonitorInstant)
        /// Every peer lost the monitor too: keep writing, ask again at the instant.
        case monitorLost(nextCheck: MonitorInstant)
        /// The host fenced itself; it stays fenced until the monitor gives it the writer role again.
        case fenced
    }

    /// Why the agent fences itself.
    public enum FenceReason: Sendable, Hashable {
        /// A peer still hears the monitor, so this writer is the isolated one.
        case peerHearsMonitor
        /// Not every peer answered: one may be on the monitor's side.
        case peersSilent
        /// No answer arrived within the peer-check deadline.
        case peerCheckTimedOut
    }

    /// The timings.
    public let configuration: Configuration
    /// The current state.
    public private(set) var state: State = .notWriter

    /// A lease for a host that does not hold the writer role yet.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// A monitor message arrived. `sentAt` is the monitor's timestamp converted to the agent's clock; `holdsWriter`
    /// says whether the message gives this host the writer role.
    public mutating func monitorMessageReceived(sentAt: MonitorInstant, holdsWriter: Bool, at now: MonitorInstant) {
        guard holdsWriter else {
            self.state = .notWriter
            return
        }
        let validUntil = sentAt + self.configuration.timeout
        switch self.state {
        case .holding(let current):
            self.state = .holding(validUntil: max(current, validUntil))
        case .notWriter, .checkingPeers, .monitorLost, .fenced:
            // A message that was already stale on arrival renews nothing.
            if validUntil > now {
                self.state = .holding(validUntil: validUntil)
            } else if case .notWriter = self.state {
                self.state = .holding(validUntil: validUntil)
            }
        }
    }

    /// What the agent does after a tick.
    public enum TickAction: Sendable, Hashable {
        /// Nothing to do.
        case none
        /// Ask every peer's agent whether it hears the monitor; answer ``peersAnswered(_:at:)`` by the deadline.
        case askPeers(deadline: MonitorInstant)
        /// Fence now.
        case fence(FenceReason)
    }

    /// The agent's periodic tick.
    public mutating func tick(at now: MonitorInstant) -> TickAction {
        switch self.state {
        case .notWriter, .fenced:
            return .none
        case .holding(let validUntil):
            guard now >= validUntil else { return .none }
            return self.askPeers(at: now)
        case .checkingPeers(let askedAt):
            guard now >= askedAt + self.configuration.peerCheckDeadline else { return .none }
            self.state = .fenced
            return .fence(.peerCheckTimedOut)
        case .monitorLost(let nextCheck):
            guard now >= nextCheck else { return .none }
            return self.askPeers(at: now)
        }
    }

    /// What the agent does with its peers' answers.
    public enum PeersAnsweredAction: Sendable, Hashable {
        /// Nothing (the answers came too late, or the lease was renewed meanwhile).
        case none
        /// Every peer lost the monitor too: keep the writer role.
        case keepWriting
        /// Fence now.
        case fence(FenceReason)
    }

    /// The peers answered (one answer per peer; an empty list means the host has no peers).
    public mutating func peersAnswered(_ answers: [PeerAnswer], at now: MonitorInstant) -> PeersAnsweredAction {
        switch self.state {
        case .checkingPeers(let askedAt):
            guard now < askedAt + self.configuration.peerCheckDeadline else {
                self.state = .fenced
                return .fence(.peerCheckTimedOut)
            }
            if answers.contains(.hearsMonitor) {
                self.state = .fenced
                return .fence(.peerHearsMonitor)
            }
            guard !answers.isEmpty, answers.allSatisfy({ $0 == .lostMonitor }) else {
                self.state = .fenced
                return .fence(.peersSilent)
            }
            self.state = .monitorLost(nextCheck: now + self.configuration.recheckInterval)
            return .keepWriting
        case .notWriter, .holding, .monitorLost, .fenced:
            return .none
        }
    }

    /// True while this host may accept writes as far as the lease is concerned.
    public var mayWrite: Bool {
        switch self.state {
        case .holding, .checkingPeers, .monitorLost: return true
        case .notWriter, .fenced: return false
        }
    }

    /// What this host tells a peer that asks whether it hears the monitor: its own last renewal is recent enough.
    public static func answer(lastHeard: MonitorInstant?, timeout: Duration, at now: MonitorInstant) -> PeerAnswer {
        guard let lastHeard, now < lastHeard + timeout else { return .lostMonitor }
        return .hearsMonitor
    }

    private mutating func askPeers(at now: MonitorInstant) -> TickAction {
        self.state = .checkingPeers(askedAt: now)
        return .askPeers(deadline: now + self.configuration.peerCheckDeadline)
    }
}
