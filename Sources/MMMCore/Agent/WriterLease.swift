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
        /// What the monitor adds on top before it promotes without the old writer's confirmation
        /// (`lease_safety_margin`): room for what the bound does not model (a scheduler stall on the agent's host).
        public var safetyMargin: Duration

        /// Creates the timings; the defaults fence an isolated writer within about 5 s of its last renewal and let the
        /// monitor promote without its confirmation 7.4 s after its last message to it.
        public init(
            timeout: Duration = .seconds(3),
            peerCheckDeadline: Duration = .milliseconds(300),
            fenceDeadline: Duration = .milliseconds(1500),
            recheckInterval: Duration = .seconds(1),
            tickInterval: Duration = .milliseconds(100),
            maximumClockSkew: Duration = .milliseconds(1500),
            safetyMargin: Duration = .zero
        ) {
            self.safetyMargin = safetyMargin
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
                + self.safetyMargin
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
        /// The host fenced itself, or the monitor fenced it; it stays fenced until a status of a newer epoch than
        /// ``WriterLease/fencedEpoch`` gives it the writer role again.
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
        /// The agent's clock jumped by a whole lease timeout between two ticks: it was stopped or starved.
        case stalled
    }

    /// The timings.
    public let configuration: Configuration
    /// The current state.
    public private(set) var state: State = .notWriter

    /// A lease for a host that does not hold the writer role yet.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The epoch of the last status this lease was given (0 before any).
    public private(set) var epoch: UInt64 = 0
    /// The epoch under which the host last fenced itself or was fenced by the monitor's order, until a status under a
    /// newer epoch gives it the writer role again (DESIGN.md §9.2).
    public private(set) var fencedEpoch: UInt64?
    /// The instant of the last tick, to notice a stall.
    private var lastTick: MonitorInstant?

    /// A monitor message that is not a status arrived (a poll, a query): it proves the monitor reaches this host, so
    /// it renews a lease the host holds, but it never gives the writer role back. `sentAt` is the monitor's timestamp
    /// converted to the agent's clock.
    ///
    /// Only a status carries roles; a message without any renews from the roles the last status gave, and those
    /// are stale once the host fenced itself (the monitor may have promoted another host meanwhile). So a fenced or
    /// non-writer lease stays as it is.
    public mutating func monitorMessageReceived(sentAt: MonitorInstant, at now: MonitorInstant) {
        let validUntil = sentAt + self.configuration.timeout
        switch self.state {
        case .holding(let current):
            self.state = .holding(validUntil: max(current, validUntil))
        case .checkingPeers, .monitorLost:
            // A message that was already stale on arrival renews nothing.
            if validUntil > now { self.state = .holding(validUntil: validUntil) }
        case .notWriter, .fenced:
            break
        }
    }

    /// A status from the monitor arrived under `epoch` (already checked to be no older than the last one accepted);
    /// `holdsWriter` says whether it gives this host the writer role.
    ///
    /// After a fence (the lease's or the monitor's order), the writer role is taken back only from a status of a
    /// newer epoch than the fence's: the monitor raises its epoch whenever it gives the role again, so a status it
    /// sent before it knew of the fence, delayed or repeated, cannot re-arm the lease.
    public mutating func statusReceived(epoch: UInt64, holdsWriter: Bool, sentAt: MonitorInstant, at now: MonitorInstant) {
        self.epoch = max(self.epoch, epoch)
        guard holdsWriter else {
            if case .fenced = self.state { return }
            self.state = .notWriter
            return
        }
        if let fencedEpoch = self.fencedEpoch {
            guard epoch > fencedEpoch else {
                self.state = .fenced
                return
            }
            self.fencedEpoch = nil
        }
        let validUntil = sentAt + self.configuration.timeout
        switch self.state {
        case .holding(let current):
            self.state = .holding(validUntil: max(current, validUntil))
        case .checkingPeers, .monitorLost, .fenced:
            // A message that was already stale on arrival renews nothing.
            if validUntil > now { self.state = .holding(validUntil: validUntil) }
        case .notWriter:
            self.state = .holding(validUntil: validUntil)
        }
    }

    /// An agent that starts on a writable host before the monitor spoke: the server may be the writer, so it holds a
    /// lease that ends at `until`, and fences itself then unless a status renews it.
    public mutating func armedAtStart(until: MonitorInstant) {
        guard case .notWriter = self.state, self.fencedEpoch == nil else { return }
        self.state = .holding(validUntil: until)
    }

    /// The monitor ordered this host fenced under `epoch`: the writer role is gone until a newer epoch gives it back.
    public mutating func fenceOrdered(epoch: UInt64) {
        self.fenced(epoch: max(self.epoch, epoch))
    }

    private mutating func fenced(epoch: UInt64? = nil) {
        self.state = .fenced
        self.fencedEpoch = max(self.fencedEpoch ?? 0, epoch ?? self.epoch)
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
    ///
    /// A tick that comes a whole lease timeout after the previous one means the agent was stopped or starved
    /// (SIGSTOP, a frozen VM, a live migration): its server may have been stopped with it and the monitor may have
    /// promoted another host meanwhile, so a writer fences at once, before it asks anyone anything.
    public mutating func tick(at now: MonitorInstant) -> TickAction {
        defer { self.lastTick = now }
        if self.stallNoticed(at: now) { return .fence(.stalled) }
        switch self.state {
        case .notWriter, .fenced:
            return .none
        case .holding(let validUntil):
            guard now >= validUntil else { return .none }
            return self.askPeers(at: now)
        case .checkingPeers(let askedAt):
            guard now >= askedAt + self.configuration.peerCheckDeadline else { return .none }
            self.fenced()
            return .fence(.peerCheckTimedOut)
        case .monitorLost(let nextCheck):
            guard now >= nextCheck else { return .none }
            return self.askPeers(at: now)
        }
    }

    /// Asked before the agent does anything else (answers a request, starts a convergence round), so that a writer
    /// woken from a stall fences before it acts on or answers anything: true when the ticks stopped for a whole lease
    /// timeout and this host may write; the lease is then fenced, and the caller fences the host before going on
    /// (issue 17). Whichever of the tick and the other callers notices first fences; the others see a fenced lease.
    /// Does not count as a tick.
    public mutating func stallNoticed(at now: MonitorInstant) -> Bool {
        guard let lastTick = self.lastTick, lastTick.duration(to: now) >= self.configuration.timeout, self.mayWrite else {
            return false
        }
        self.fenced()
        return true
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
                self.fenced()
                return .fence(.peerCheckTimedOut)
            }
            if answers.contains(.hearsMonitor) {
                self.fenced()
                return .fence(.peerHearsMonitor)
            }
            guard !answers.isEmpty, answers.allSatisfy({ $0 == .lostMonitor }) else {
                self.fenced()
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
