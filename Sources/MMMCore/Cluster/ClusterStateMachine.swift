/// The monitor's decisions for one cluster: host states, monitor mode, roles and promotions.
///
/// A plain value (no I/O, no clock). Events come in as past-tense mutating methods carrying the time;
/// each returns the actions to execute in order. Every event ends with one pass of MMM's main loop
/// (`_check_host_states`, then `_distribute_roles`) unless the monitor has no network.
///
/// Safety rules enforced here (DESIGN.md §3, the parts decidable without I/O):
/// - a role is only ever on an ONLINE host, in every mode (MMM keeps roles on failed hosts in
///   MANUAL/WAIT; swift-mmm takes them away, and still leaves moves to the operator there);
/// - at most one writer: the writer role is given only by ``ClusterAction/promote(host:role:)``, only
///   after ``promotionDrained(host:at:)`` for the host named in the preceding
///   ``ClusterAction/drainThenPromote(host:previousWriter:)``, and only after the old holder's
///   ``ClusterAction/removeRoles(host:roles:)``;
/// - a host is never made writer while its own rep checks fail, while it has errant transactions, or
///   while it is REPLICATION_FAIL/DELAY (`move_role --force` first makes it ONLINE, as in MMM); the
///   current writer's replication is not judged (as in MMM);
/// - a writer is not failed over on the monitor's word alone: when its ping or mysql check fails it stays
///   ONLINE with its roles until other hosts' agents confirm they cannot reach it either (DESIGN.md §4 step 1;
///   see ``writerCrossChecked(host:reachableFrom:unreachableFrom:at:)``), and no other host is made writer
///   meanwhile;
/// - the writer candidate the machine chooses (not one the operator names) is never behind another host that may
///   become writer, by the positions reported with ``positionsObserved(host:received:applied:at:)`` (DESIGN.md §4
///   step 3, fact R12; the rule is ``RolePlanner/mostAdvanced(among:positions:)``).
public struct ClusterStateMachine: Sendable {
    /// The configured cluster.
    public let topology: ClusterTopology
    /// Timings and policy.
    public let policy: ClusterPolicy
    /// The current monitor mode.
    public internal(set) var mode: MonitorMode
    /// Why the monitor is PASSIVE (shown by `show`), when it is.
    public internal(set) var passiveCause: String?
    /// Per-host state machines.
    public internal(set) var hosts: [String: HostStateMachine]
    /// Per-host debounced checks.
    public internal(set) var checks: [String: HostCheckStatus]
    /// Who holds which role IP.
    public internal(set) var assignment: RoleAssignment
    /// A promotion waiting for its drain confirmation.
    public internal(set) var pendingPromotion: PendingPromotion?
    /// The last host that held the writer role.
    public internal(set) var lastWriter: String?
    /// Hosts whose agent did not answer last time (they keep their roles but get no new ones).
    public internal(set) var agentDown: Set<String>
    /// Hosts that failed to drain, and when; skipped as writer for ``ClusterPolicy/drainRetryDelay``.
    public internal(set) var drainFailures: [String: MonitorInstant]
    /// The writer promoted by this monitor whose agent has not yet been seen holding the role (writable, writer IP
    /// on its interface): `show` does not show the role as held meanwhile. Nil once taken, and for a writer restored
    /// at start.
    public internal(set) var writerTake: WriterTake?
    /// The last host that could not take the writer role, and why (shown until another host holds it).
    public internal(set) var lastTakeFailure: WriterTakeFailure?
    /// Whether the monitor's network self-check passes; without network nothing is decided.
    public internal(set) var hasNetwork: Bool
    /// The machine was created for a first start of a consistent cluster (no status file, no agent state,
    /// every host's GTID state known): hosts in AWAITING_RECOVERY go ONLINE once their checks pass, see
    /// ``HostStateMachine/isFirstStart``.
    public internal(set) var isFirstStart: Bool
    /// PASSIVE because a start without status file found the servers inconsistent, and the operator has not
    /// changed the mode since (persisted, see ``ClusterSnapshot/firstStartUnresolved``).
    public internal(set) var firstStartUnresolved: Bool
    /// Role IPs really configured on each host's interface, as its agent last reported them
    /// (``rolesObserved(host:roleIPs:at:)``), sorted; only IPs that belong to a role are kept.
    public internal(set) var observedRoleIPs: [String: [String]]
    /// The cross-check of the writer while the monitor's ping or mysql check of it fails: asked, vetoed or
    /// confirmed (see ``writerCrossChecked(host:reachableFrom:unreachableFrom:at:)``). Nil while the writer's checks
    /// pass. Never persisted: a restarted monitor checks again before any failover.
    public internal(set) var writerCrossCheck: WriterCrossCheck?
    /// Each host's replication positions as its agent last reported them
    /// (``positionsObserved(host:received:applied:at:)``), which rank writer candidates
    /// (``RolePlanner/mostAdvanced(among:positions:)``). Forgotten when the host leaves ONLINE (a host that comes back
    /// may have less: a restart can truncate its binlog). Never persisted: the monitor asks again after a restart, and
    /// until then a host counts as having received nothing.
    public internal(set) var replicationPositions: [String: ReplicationPositions]

    /// Per-host check debouncers (trap and recovery periods).
    var debouncers: [String: HostCheckDebouncers]
    /// What the agents were last told about the writer when PASSIVE began (used when leaving PASSIVE).
    var writerAtPassiveEntry: String?
    /// The role planner for ``topology``.
    let planner: RolePlanner

    // MARK: - Derived views

    /// The host holding the writer role, if any.
    public var writer: String? {
        self.assignment.holder(of: self.topology.writerRoleIP)
    }

    /// MMM's active master for state evaluation: the writer, or the host being promoted.
    var activeMaster: String? {
        self.writer ?? self.pendingPromotion?.host
    }

    /// The state of `host` (nil for an unknown name).
    public func state(of host: String) -> HostState? {
        self.hosts[host]?.state
    }

    /// What to persist now.
    ///
    /// In PASSIVE mode the writer is persisted as the agents last heard it: a writer moved by `set_ip` has
    /// not drained yet and must not win the startup vote on the strength of the status file alone.
    public var snapshot: ClusterSnapshot {
        var roles = self.assignment
        if self.mode == .passive, self.writer != self.writerAtPassiveEntry {
            roles.unassign(self.topology.writerRoleIP)
            if let entryWriter = self.writerAtPassiveEntry {
                roles.assign(self.topology.writerRoleIP, to: entryWriter)
            }
        }
        return ClusterSnapshot(
            mode: self.mode,
            hosts: self.hosts.mapValues(\.snapshot),
            roles: roles,
            lastWriter: self.lastWriter,
            firstStartUnresolved: self.firstStartUnresolved
        )
    }

    /// Whether `host` may receive roles and the writer role now.
    public func eligibility(of host: String) -> HostEligibility {
        guard let machine = self.hosts[host], let checks = self.checks[host] else { return .none }
        let online = machine.state == .online
        let canReceive = online && !self.agentDown.contains(host) && checks.isKnown && checks.isReachable
        let canWrite =
            canReceive
            && checks.repThreads == true && checks.repBacklog == true
            && machine.errantTransactions.isEmpty
            && self.drainFailures[host] == nil
            && self.topology.writerRole.hosts.contains(host)
        return HostEligibility(isOnline: online, canReceiveRoles: canReceive, canBecomeWriter: canWrite)
    }

    // MARK: - Events

    /// A probe of `check` on `host` finished. Debounces it; a reported change is evaluated at once.
    public mutating func probeCompleted(
        host: String,
        check: CheckKind,
        outcome: CheckOutcome,
        at now: MonitorInstant
    ) -> [ClusterAction] {
        guard self.hosts[host] != nil else { return [] }
        guard let report = self.debouncers[host]?.probeCompleted(check, outcome, at: now) else { return [] }
        self.checks[host, default: HostCheckStatus()].record(report, for: check)
        return self.decide(at: now)
    }

    /// Time passed: time-based rules (auto_set_online, WAIT timeout, drain retry, asking again about a writer whose
    /// cross-check is unanswered or vetoed) are re-evaluated.
    public mutating func tick(at now: MonitorInstant) -> [ClusterAction] {
        self.decide(at: now)
    }

    /// The host's agent answered (any command); `uptime` is the agent host's uptime from the reply.
    public mutating func agentAnswered(host: String, uptime: Duration, at now: MonitorInstant) -> [ClusterAction] {
        guard self.hosts[host] != nil else { return [] }
        self.hosts[host]?.agentAnswered(uptime: uptime)
        self.agentDown.remove(host)
        return self.decide(at: now)
    }

    /// The host's agent reported which role IPs are really configured on its interface (from its system
    /// info). Recorded for ``showText``'s warnings (an IP on more than one host); changes no role: the agents
    /// converge on what they are told, and the startup vote reads its own observations.
    public mutating func rolesObserved(host: String, roleIPs: [String], at now: MonitorInstant) -> [ClusterAction] {
        guard self.hosts[host] != nil else { return [] }
        let topology = self.topology
        self.observedRoleIPs[host] = Set(roleIPs.filter { topology.role(owningIP: $0) != nil }).sorted()
        return []
    }

    /// The host's agent reported its replication positions (DESIGN.md §4 step 3): recorded for the choice of the next
    /// writer candidate, which is never behind another host that may become writer (see
    /// ``RolePlanner/mostAdvanced(among:positions:)``). Decides nothing by itself: the positions count from the next
    /// decision on (a probe result, a tick), and a promotion already draining goes on.
    ///
    /// - Parameters:
    ///   - received: what reached the host's relay log (`Gtid_IO_Pos`), folded with its `gtid_binlog_pos`.
    ///   - applied: what the host committed: `gtid_slave_pos` folded with `gtid_binlog_pos`. Folded into `received`.
    public mutating func positionsObserved(
        host: String,
        received: GTIDPosition,
        applied: GTIDPosition,
        at now: MonitorInstant
    ) -> [ClusterAction] {
        guard self.hosts[host] != nil else { return [] }
        // Positions from before the host last left ONLINE were forgotten on purpose; a report that arrives while it is
        // out is kept: it is newer than anything forgotten, and the host is not eligible until it is back.
        self.replicationPositions[host] = ReplicationPositions(received: received, applied: applied)
        return []
    }

    /// The host's agent could not be reached. It keeps its roles (MMM); the host gets no new ones.
    public mutating func agentUnreachable(host: String, at now: MonitorInstant) -> [ClusterAction] {
        guard self.hosts[host] != nil else { return [] }
        // Already known down: nothing changed, and time-based rules run on the ticks. Every failed status push of a
        // dead agent arrives here; deciding over all hosts for each one made many dead hosts cost O(hosts²).
        guard self.agentDown.insert(host).inserted else { return [] }
        return self.decide(at: now)
    }

    /// A GTID comparison of `host` against the writer finished; `errant` lists transactions the writer
    /// lacks (empty: clean). An errant host never goes ONLINE by itself.
    public mutating func gtidCompared(host: String, errant: [String], at now: MonitorInstant) -> [ClusterAction] {
        guard self.hosts[host] != nil else { return [] }
        self.hosts[host]?.gtidCompared(errant: errant)
        return self.decide(at: now)
    }

    /// The monitor's network self-check changed (`ping_ips`). Without network nothing is decided.
    public mutating func networkChanged(available: Bool, at now: MonitorInstant) -> [ClusterAction] {
        self.hasNetwork = available
        return self.decide(at: now)
    }

    /// The candidate of ``ClusterAction/drainThenPromote(host:previousWriter:)`` has applied everything:
    /// it becomes the writer. Ignored when no promotion of `host` is pending (a late or stale answer).
    public mutating func promotionDrained(host: String, at now: MonitorInstant) -> [ClusterAction] {
        guard let pending = self.pendingPromotion, pending.host == host else { return [] }
        self.pendingPromotion = nil
        guard self.mode != .passive, self.isFitToPromote(pending), self.writer == nil else {
            return [.cancelDrain(host: host)] + self.decide(at: now)
        }
        let writerIP = self.topology.writerRoleIP
        self.assignment.assign(writerIP, to: host)
        self.lastWriter = host
        self.drainFailures[host] = nil
        self.writerTake = WriterTake(host: host, promotedAt: now)
        var actions: [ClusterAction] = [.promote(host: host, role: writerIP)]
        let replicas = self.topology.hosts.filter { $0.mode == .slave && $0.name != host }.map(\.name)
        if !replicas.isEmpty {
            actions.append(.repointReplicas(newWriter: host, replicas: replicas))
        }
        return actions + self.decide(at: now)
    }

    /// `host`'s agent was seen holding the writer role: its server writable and the writer IP on its interface.
    public mutating func writerTaken(host: String, at now: MonitorInstant) {
        guard self.writerTake?.host == host, self.writer == host else { return }
        self.writerTake = nil
        self.lastTakeFailure = nil
    }

    /// The promoted writer's agent reports a failed step (`error`, e.g. a promotion refused by a missing privilege,
    /// or a writer IP another host answers for) and has not taken the role. Past ``ClusterPolicy/writerTakeTimeout``
    /// since the promotion, the role is taken back, the host is skipped as writer for
    /// ``ClusterPolicy/drainRetryDelay``, and the next eligible host is promoted (fencing this one first, as any
    /// previous writer). Until then it only records the error for `show`.
    public mutating func writerTakeFailing(host: String, error: String, at now: MonitorInstant) -> [ClusterAction] {
        guard var take = self.writerTake, take.host == host, self.writer == host else { return [] }
        take.lastError = error
        self.writerTake = take
        guard take.promotedAt.duration(to: now) >= self.policy.writerTakeTimeout else { return [] }
        let writerIP = self.topology.writerRoleIP
        self.writerTake = nil
        self.lastTakeFailure = WriterTakeFailure(host: host, reason: error)
        _ = self.assignment.unassign(writerIP)
        self.drainFailures[host] = now
        return [.removeRoles(host: host, roles: [writerIP])] + self.decide(at: now)
    }

    /// The candidate could not drain within its bound. It is skipped as writer for
    /// ``ClusterPolicy/drainRetryDelay`` and the next eligible host is tried.
    public mutating func drainFailed(host: String, reason: String, at now: MonitorInstant) -> [ClusterAction] {
        guard let pending = self.pendingPromotion, pending.host == host else { return [] }
        self.pendingPromotion = nil
        self.drainFailures[host] = now
        return self.decide(at: now)
    }

    // MARK: - The main loop

    /// One pass of MMM's main loop: host states, WAIT mode, then roles.
    mutating func decide(at now: MonitorInstant) -> [ClusterAction] {
        guard self.hasNetwork else { return [] }
        // Closures below capture locals only: capturing `self` in a mutating method copies the whole machine.
        let retryDelay = self.policy.drainRetryDelay
        if !self.drainFailures.isEmpty {
            self.drainFailures = self.drainFailures.filter { $0.value.duration(to: now) < retryDelay }
        }
        var actions: [ClusterAction] = []
        self.dropSettledCrossCheck()
        for spec in self.topology.hosts {
            guard let checks = self.checks[spec.name], checks.isKnown, var machine = self.hosts[spec.name] else {
                continue
            }
            if self.holdsWriterForCrossCheck(spec.name, checks: checks, at: now, actions: &actions) {
                continue
            }
            let activeMaster = self.activeMaster
            let peerName = self.topology.peer(of: spec.name, activeMaster: activeMaster)
            var peer: PeerView? = nil
            if let name = peerName, let peerMachine = self.hosts[name] {
                peer = PeerView(
                    state: peerMachine.state,
                    onlineSince: peerMachine.onlineSince,
                    isReachable: self.checks[name]?.isReachable ?? false
                )
            }
            let input = HostEvaluation(
                checks: checks,
                isActiveMaster: activeMaster == spec.name,
                peer: peer,
                activeMasterExists: activeMaster != nil,
                canBeActiveMaster: self.topology.writerRole.hosts.contains(spec.name)
            )
            let result = machine.checksEvaluated(input, at: now)
            self.hosts[spec.name] = machine
            switch result {
            case .stay:
                continue
            case .transition(let transition):
                actions.append(.hostStateChanged(host: spec.name, transition))
                actions += self.hostLeftOnlineIfNeeded(spec.name, transition)
            }
        }
        self.dropSettledCrossCheck()
        // A candidate that stopped being fit to write while draining is called off.
        if let pending = self.pendingPromotion, !self.isFitToPromote(pending) {
            self.pendingPromotion = nil
            actions.append(.cancelDrain(host: pending.host))
        }
        actions += self.checkWaitMode(at: now)
        actions += self.distributeRoles(at: now)
        return actions
    }

    /// Whether the candidate of `pending` may still become the writer. A forced move is the operator's
    /// explicit choice over failing replication checks, so it only needs the host ONLINE; errant
    /// transactions stop it too (`move_role --force` refuses an errant host, and finding them while it
    /// drains must not let it through).
    func isFitToPromote(_ pending: PendingPromotion) -> Bool {
        guard pending.forced else { return self.eligibility(of: pending.host).canBecomeWriter }
        guard let machine = self.hosts[pending.host] else { return false }
        return machine.state == .online && machine.errantTransactions.isEmpty
    }

    /// Applies the role consequences of a host leaving ONLINE.
    mutating func hostLeftOnlineIfNeeded(_ host: String, _ transition: HostTransition) -> [ClusterAction] {
        guard transition.from == .online, transition.to != .online else { return [] }
        self.replicationPositions[host] = nil
        var actions: [ClusterAction] = []
        if self.pendingPromotion?.host == host {
            self.pendingPromotion = nil
            actions.append(.cancelDrain(host: host))
        }
        let removed = self.assignment.removeAll(from: host)
        // PASSIVE clears roles in memory only (MMM); agents hear nothing until PASSIVE ends.
        if !removed.isEmpty, self.mode != .passive {
            actions.append(.removeRoles(host: host, roles: removed))
        }
        return actions
    }

    /// WAIT switches to ACTIVE when both masters are ONLINE, or one has been for `wait_for_other_master`.
    mutating func checkWaitMode(at now: MonitorInstant) -> [ClusterAction] {
        guard self.mode == .wait else { return [] }
        let hosts = self.hosts
        let masters = self.topology.writerRole.hosts.prefix(2).compactMap { hosts[$0] }
        let online = masters.compactMap(\.onlineSince)
        let bothOnline = online.count == masters.count && !masters.isEmpty
        var waitedLongEnough = false
        if let wait = self.policy.waitForOtherMaster, let first = online.min() {
            waitedLongEnough = first.duration(to: now) >= wait
        }
        guard bothOnline || waitedLongEnough else { return [] }
        self.mode = .active
        return [.modeChanged(from: .wait, to: .active)]
    }

    /// MMM's `_distribute_roles`, turning the planner's answer into ordered actions.
    mutating func distributeRoles(at now: MonitorInstant) -> [ClusterAction] {
        guard self.mode != .passive else { return [] }
        var eligibility: [String: HostEligibility] = [:]
        let heldWriter = self.writerCrossCheck?.host
        for spec in self.topology.hosts {
            var hostEligibility = self.eligibility(of: spec.name)
            // While the writer waits for (or holds) a cross-check, no other host may become writer: not even by
            // `prefer`, since the monitor cannot read the old writer's position to drain the new one to it.
            if let held = heldWriter, held != spec.name {
                hostEligibility = HostEligibility(
                    isOnline: hostEligibility.isOnline,
                    canReceiveRoles: hostEligibility.canReceiveRoles,
                    canBecomeWriter: false
                )
            }
            eligibility[spec.name] = hostEligibility
        }
        let plan = self.planner.plan(
            current: self.assignment,
            eligibility: eligibility,
            mode: self.mode,
            writerInTransit: self.pendingPromotion?.host,
            positions: self.replicationPositions
        )
        let previousWriter = self.writer
        var actions = self.transition(to: plan.assignment)
        if let candidate = plan.writerCandidate {
            let previous = previousWriter ?? self.lastWriter
            self.pendingPromotion = PendingPromotion(
                host: candidate,
                previousWriter: previous == candidate ? nil : previous,
                requestedAt: now,
                forced: false
            )
            actions.append(.drainThenPromote(host: candidate, previousWriter: previous == candidate ? nil : previous))
        }
        return actions
    }

    /// Replaces the assignment, returning removals (all hosts) before additions.
    mutating func transition(to newAssignment: RoleAssignment) -> [ClusterAction] {
        guard newAssignment != self.assignment else { return [] }
        var removed: [String: [RoleIP]] = [:]
        var added: [String: [RoleIP]] = [:]
        for (roleIP, host) in self.assignment.holders where newAssignment.holder(of: roleIP) != host {
            removed[host, default: []].append(roleIP)
        }
        for (roleIP, host) in newAssignment.holders where self.assignment.holder(of: roleIP) != host {
            added[host, default: []].append(roleIP)
        }
        var removals: [ClusterAction] = []
        var additions: [ClusterAction] = []
        for spec in self.topology.hosts {
            if let roles = removed[spec.name] {
                removals.append(.removeRoles(host: spec.name, roles: roles.sorted()))
            }
            if let roles = added[spec.name] {
                additions.append(.addRoles(host: spec.name, roles: roles.sorted()))
            }
        }
        if let writer = newAssignment.holder(of: self.topology.writerRoleIP) {
            self.lastWriter = writer
        }
        self.assignment = newAssignment
        return removals + additions
    }
}

/// A writer promoted by the monitor, until its agent is seen holding the role.
public struct WriterTake: Sendable, Hashable {
    /// The new writer.
    public var host: String
    /// When the monitor made it the writer.
    public var promotedAt: MonitorInstant
    /// The last failed step its agent reported, if any.
    public var lastError: String?
}

/// A host that could not take the writer role after its promotion.
public struct WriterTakeFailure: Sendable, Hashable {
    /// The host.
    public var host: String
    /// What its agent reported.
    public var reason: String
}

extension ClusterStateMachine {
    /// The hosts other than `candidate` and `previousWriter` that may have sent semi-sync ACKs and may become writer:
    /// `mode master` hosts of the writer role that are ONLINE or REPLICATION_DELAY (lagging in applying, a host still
    /// receives and may ACK). A promotion reads their positions again once the old writer is fenced, and the
    /// candidate must have everything they received (``RolePlanner/hostsAhead(of:among:positions:)``).
    public func peersThatMayHaveACKed(except candidate: String, previousWriter: String?) -> [String] {
        self.topology.writerRole.hosts.filter { name in
            guard name != candidate, name != previousWriter, self.topology.host(name)?.mode == .master else { return false }
            return [.online, .replicationDelay].contains(self.hosts[name]?.state)
        }
    }
}
