/// The agent's decisions as a value (DESIGN.md §9.1): what the monitor told it, its writer lease, fence orders, and
/// what a convergence round may do. `AgentCore` owns the sockets, the server and the clock and feeds this machine
/// events with the time; the property tests drive the same machine.
///
/// Rules it keeps:
/// - only a status carries roles; a status of an older epoch than the last accepted one gives nothing (it still shows
///   that the monitor reaches the host);
/// - the writer role needs both the last status and the lease (``WriterLease``): after a fence (the lease's or a
///   fence order) only a status of a newer epoch gives it back (§9.2);
/// - before the monitor has spoken, a round changes nothing, unless the lease (armed at start on a writable host) or
///   a fence order says fence;
/// - a round that cannot read the server still releases what the host must not hold, and is retried at once when the
///   server must not write.
public struct AgentStateMachine: Sendable, Hashable {
    /// Who this agent is.
    public struct Identity: Sendable, Hashable {
        /// This host's name.
        public var this: String
        /// The active-master role's name.
        public var writerRole: String
        /// Every role IP of the cluster.
        public var roleIPs: [RoleIP]

        /// Creates an identity.
        public init(this: String, writerRole: String, roleIPs: [RoleIP]) {
            self.this = this
            self.writerRole = writerRole
            self.roleIPs = roleIPs
        }
    }

    /// A status from the monitor (the protocol's `SetStatus`, without its wire types).
    public struct Status: Sendable, Hashable {
        /// The host state the monitor set.
        public var state: HostState
        /// The roles to hold.
        public var roles: [RoleIP]
        /// The host to replicate from; nil when the host must not replicate yet.
        public var activeMaster: String?
        /// The monitor's epoch.
        public var epoch: UInt64
        /// IPs the monitor handed over (take without the duplicate-address probe).
        public var handedOver: Set<String>

        /// Creates a status.
        public init(state: HostState, roles: [RoleIP], activeMaster: String?, epoch: UInt64, handedOver: Set<String> = []) {
            self.state = state
            self.roles = roles
            self.activeMaster = activeMaster
            self.epoch = epoch
            self.handedOver = handedOver
        }
    }

    /// Who this agent is.
    public let identity: Identity
    /// The state the monitor last set (nil: it has not spoken since the agent started).
    public private(set) var hostState: HostState?
    /// The roles the monitor last gave, as told (the writer role stays listed after a lease fence: the lease decides).
    public private(set) var roles: [RoleIP] = []
    /// The source the monitor last named.
    public private(set) var activeMaster: String?
    /// The highest epoch accepted.
    public private(set) var epoch: UInt64 = 0
    /// What the monitor asked for (nil before it spoke).
    public private(set) var desire: AgentDesire?
    /// The writer lease.
    public private(set) var lease: WriterLease
    /// When the monitor was last heard (any message).
    public private(set) var lastHeardMonitor: MonitorInstant?
    /// A fence order arrived and no status has given the writer role since.
    public private(set) var fenceOrdered = false
    /// The source the monitor named that this host was seen configured for, or was made to follow. Forgotten when the
    /// local server could not be read (it may have restarted, and `skip-slave-start` left replication stopped, R11)
    /// and when it was promoted (it stopped replicating on purpose): a source named anew is then started even if
    /// configured and stopped; an operator's STOP SLAVE on a server that stayed up is left alone.
    public private(set) var followActedOn: String?
    /// The epoch under which this host was last writable as the writer (it turned `read_only` OFF, or found it OFF
    /// while holding the role). Found read-only again under the same epoch, it was fenced by someone else (the
    /// candidate's agent over SQL, an operator, a restart of its server): it must not undo that.
    public private(set) var writableEpoch: UInt64?

    /// A machine for a freshly started agent.
    public init(identity: Identity, lease: WriterLease.Configuration) {
        self.identity = identity
        self.lease = WriterLease(configuration: lease)
    }

    // MARK: - Messages

    /// A status from the monitor arrived; returns whether it was accepted (its epoch is not older).
    @discardableResult
    public mutating func statusReceived(_ status: Status, at now: MonitorInstant) -> Bool {
        self.lastHeardMonitor = now
        guard status.epoch >= self.epoch else {
            self.lease.monitorMessageReceived(sentAt: now, at: now)
            return false
        }
        self.epoch = status.epoch
        self.hostState = status.state
        self.roles = status.roles
        self.activeMaster = status.activeMaster
        // The monitor leaves the active master out for a host that must not replicate yet.
        self.desire = AgentDesire(roles: status.roles, follow: status.activeMaster, handedOver: status.handedOver)
        let holdsWriter = status.roles.contains { $0.role == self.identity.writerRole }
        self.lease.statusReceived(epoch: status.epoch, holdsWriter: holdsWriter, sentAt: now, at: now)
        if holdsWriter, self.lease.mayWrite { self.fenceOrdered = false }
        return true
    }

    /// Any other message from the monitor (a poll, a query): it renews a held lease and gives nothing.
    public mutating func monitorMessageReceived(at now: MonitorInstant) {
        self.lastHeardMonitor = now
        self.lease.monitorMessageReceived(sentAt: now, at: now)
    }

    /// The monitor ordered this host fenced: the writer role leaves the desire until a newer epoch gives it back.
    public mutating func fenceOrderReceived(epoch: UInt64, at now: MonitorInstant) {
        self.lastHeardMonitor = now
        self.roles.removeAll { $0.role == self.identity.writerRole }
        self.desire?.roles.removeAll { $0.role == self.identity.writerRole }
        self.fenceOrdered = true
        self.lease.fenceOrdered(epoch: epoch)
    }

    /// The agent started on a writable server before the monitor spoke: a lease that ends `grace` from now.
    public mutating func startedOnWritableServer(grace: Duration, at now: MonitorInstant) {
        guard self.desire == nil else { return }  // the monitor spoke first
        self.lease.armedAtStart(until: now + min(grace, self.lease.configuration.timeout))
    }

    // MARK: - Lease

    /// The lease's tick.
    public mutating func tick(at now: MonitorInstant) -> WriterLease.TickAction {
        self.lease.tick(at: now)
    }

    /// Before anything else the agent does: true when the lease's ticks stopped for a whole lease timeout while this
    /// host could write (see ``WriterLease/stallNoticed(at:)``); the caller fences the host at once.
    public mutating func stallNoticed(at now: MonitorInstant) -> Bool {
        self.lease.stallNoticed(at: now)
    }

    /// The peers' answers to the lease's question.
    public mutating func peersAnswered(_ answers: [WriterLease.PeerAnswer], at now: MonitorInstant) -> WriterLease.PeersAnsweredAction {
        self.lease.peersAnswered(answers, at: now)
    }

    /// What this agent answers a peer that asks whether it hears the monitor.
    public func peerAnswer(at now: MonitorInstant) -> WriterLease.PeerAnswer {
        WriterLease.answer(lastHeard: self.lastHeardMonitor, timeout: self.lease.configuration.timeout, at: now)
    }

    /// The last status gave this host the writer role and the lease lets it write: a writer-IP take or
    /// `read_only=OFF` may go on (asked again inside the writer-IP gate).
    public var writerRoleWanted: Bool {
        (self.desire?.roles.contains { $0.role == self.identity.writerRole } ?? false) && self.lease.mayWrite
    }

    /// Given the writer role but fenced, waiting for a status of a newer epoch.
    public var fencedAwaitingEpoch: Bool {
        self.lease.fencedEpoch != nil && self.roles.contains { $0.role == self.identity.writerRole }
    }

    // MARK: - Convergence

    /// What a round does before it reads the server.
    public enum RoundStart: Sendable, Hashable {
        /// The monitor has not spoken and nothing says fence: change nothing.
        case idle
        /// Read the server, then ``plan(observed:for:)``.
        case converge(Round)
    }

    /// A round's view of the machine, taken at its start.
    public struct Round: Sendable, Hashable {
        /// The monitor's desire with ``AgentDesire/followIsNew`` set, or nil before it spoke.
        public var known: AgentDesire?
        /// The lease allows writing.
        public var leaseAllowsWriting: Bool
        /// The host must not write: fence ordered, lease fenced, or no writer role.
        public var mustNotWrite: Bool
    }

    /// Starts a round.
    public func roundStart() -> RoundStart {
        var known = self.desire
        known?.followIsNew = self.desire?.follow != nil && self.desire?.follow != self.followActedOn
        // Before the monitor has spoken, change nothing, unless the lease (armed at start on a writable host) or a
        // fence order says fence: then keep everything but the right to write.
        guard known != nil || self.lease.state == .fenced || self.fenceOrdered else { return .idle }
        let leaseAllows = self.lease.mayWrite && !self.fenceOrdered
        let mustNotWrite = !leaseAllows || !(known?.roles.contains { $0.role == self.identity.writerRole } ?? false)
        return .converge(Round(known: known, leaseAllowsWriting: leaseAllows, mustNotWrite: mustNotWrite))
    }

    /// The steps of `round` for what the server showed.
    ///
    /// A writer that finds its server read-only under the epoch it already wrote in was fenced by someone else (the
    /// monitor's SQL fence through the candidate while this agent could not be reached, an operator, a restart): it
    /// counts as fenced under that epoch, so it never turns `read_only` OFF again by itself (DESIGN.md §9.2); the
    /// monitor gives the role back under a newer epoch if it still wants this host to write.
    public mutating func plan(observed: AgentObservation, for round: Round) -> (desire: AgentDesire, actions: [AgentAction]) {
        var round = round
        let wantsWriter = round.leaseAllowsWriting && (round.known?.roles.contains { $0.role == self.identity.writerRole } ?? false)
        if wantsWriter, observed.writable {
            self.writableEpoch = self.epoch
        } else if wantsWriter, self.writableEpoch == self.epoch {
            self.lease.fenceOrdered(epoch: self.epoch)
            round.leaseAllowsWriting = false
            round.mustNotWrite = true
        }
        let desire = round.known ?? AgentDesire(
            roles: self.identity.roleIPs.filter { observed.heldIPs.contains($0.ip) && $0.role != self.identity.writerRole },
            follow: observed.following
        )
        let actions = AgentPlanner.plan(
            this: self.identity.this, writerRole: self.identity.writerRole, knownRoles: self.identity.roleIPs,
            desired: desire, observed: observed, leaseAllowsWriting: round.leaseAllowsWriting
        )
        return (desire, actions)
    }

    /// The role IPs to release when the server cannot be read: those not given, and the writer's unless the round
    /// may write. Nothing is acquired then.
    public func unwantedIPs(held: Set<String>, for round: Round) -> [RoleIP] {
        guard let desire = round.known else { return [] }
        let mayWrite = !round.mustNotWrite
        let wanted = Set(desire.roles.filter { $0.role != self.identity.writerRole || mayWrite }.map(\.ip))
        return self.identity.roleIPs.filter { held.contains($0.ip) && !wanted.contains($0.ip) }
    }

    /// The server could not be read: it may have restarted with replication stopped.
    public mutating func serverUnreadable() {
        self.followActedOn = nil
    }

    /// The round for `desire` ended. `followed` says how its follow step went: true done, false failed, nil not
    /// planned. The source counts as acted on when it was followed, or when it was already configured and no attempt
    /// to follow it failed this round. A failed attempt leaves it new, so the next round tries again: bench finding 5,
    /// where the new writer's repoint to the returned peer met a transient 1236 (the peer had not yet received the
    /// writer's latest own GTIDs) and, its source seen configured, was never retried: the ring stayed open.
    public mutating func roundEnded(desire: AgentDesire, observed: AgentObservation, followed: Bool?) {
        guard let source = desire.follow, self.desire?.follow == source else { return }
        if followed == true || (followed == nil && observed.following == source) { self.followActedOn = source }
    }

    /// The server was promoted (`read_only` OFF) under the current epoch: it stopped replicating on purpose.
    public mutating func promoted() {
        self.followActedOn = nil
        self.writableEpoch = self.epoch
    }
}
