extension ClusterStateMachine {
    /// Creates the machine at monitor start, from the persisted snapshot (if any) and what the agents
    /// reported (MMM's `determine_status`, behaviour reference §3.6).
    ///
    /// - State per host: the stronger of stored and agent-reported state (ADMIN_OFFLINE > HARD_OFFLINE >
    ///   REPLICATION_FAIL > REPLICATION_DELAY > ONLINE), AWAITING_RECOVERY when neither is known.
    /// - Writer: MMM's vote (+4 writable, +2 VIP configured, +1 stored, +1 agent); the winner is forced
    ///   ONLINE unless MANUAL/WAIT keeps it where it is. It keeps the role without a new drain: it is the
    ///   writer already. A role is kept only on a host that ends up ONLINE.
    /// - Other roles: +4 VIP configured, +2 stored, +1 agent, as in MMM. A host with errant transactions
    ///   gets no vote for any role (a winner in AWAITING_RECOVERY is forced ONLINE).
    /// - The writer VIP configured on more than one host is a conflict: with `careful_startup` the monitor
    ///   starts PASSIVE, with the cause in ``passiveCause``.
    /// - Mode: the configured ``ClusterPolicy/initialMode`` (MMM does not persist the mode).
    /// - Checks start unknown: a host is not judged before its first ping and mysql results.
    public init(
        topology: ClusterTopology,
        policy: ClusterPolicy = ClusterPolicy(),
        checkPolicies: [CheckKind: CheckPolicy] = [:],
        restoring snapshot: ClusterSnapshot? = nil,
        observations: [String: StartupObservation] = [:],
        at now: MonitorInstant
    ) {
        self.topology = topology
        self.policy = policy
        self.mode = policy.initialMode
        self.passiveCause = policy.initialMode == .passive ? "Configured to start in passive mode." : nil
        self.planner = RolePlanner(topology: topology)
        self.assignment = RoleAssignment()
        self.pendingPromotion = nil
        self.lastWriter = snapshot?.lastWriter
        self.agentDown = []
        self.drainFailures = [:]
        self.hasNetwork = true
        self.writerAtPassiveEntry = nil
        self.hosts = [:]
        self.checks = [:]
        self.debouncers = [:]

        let manual = self.mode == .manual || self.mode == .wait
        for spec in topology.hosts {
            let stored = snapshot?.hosts[spec.name]
            let reported = observations[spec.name]?.agentState
            let known = [stored?.state, reported].compactMap { $0 }
            let state = known.max { $0.startupPrecedence < $1.startupPrecedence } ?? .awaitingRecovery
            var restored = HostSnapshot(state: state)
            restored.flapping = stored?.flapping ?? false
            restored.errantTransactions = stored?.errantTransactions ?? []
            self.hosts[spec.name] = HostStateMachine(restoring: restored, policy: policy, at: now)
            self.checks[spec.name] = HostCheckStatus()
            self.debouncers[spec.name] = HostCheckDebouncers(policies: checkPolicies)
        }

        // The writer vote.
        let writerIP = topology.writerRoleIP
        var writerVotes: [(host: String, votes: Int)] = []
        for host in topology.writerRole.hosts {
            guard let state = self.hosts[host]?.state else { continue }
            let observation = observations[host]
            var votes = 0
            if observation?.writable == true { votes += 4 }
            if observation?.configuredIPs.contains(writerIP.ip) == true { votes += 2 }
            if snapshot?.roles.holder(of: writerIP) == host { votes += 1 }
            if observation?.agentRoles.contains(writerIP) == true { votes += 1 }
            if state == .adminOffline || (state == .hardOffline && !manual) { votes = 0 }
            if !(self.hosts[host]?.errantTransactions.isEmpty ?? true) { votes = 0 }
            writerVotes.append((host, votes))
        }
        let vipHolders = topology.hosts.filter { observations[$0.name]?.configuredIPs.contains(writerIP.ip) == true }
        if let winner = writerVotes.filter({ $0.votes > 0 }).max(by: { $0.votes < $1.votes }) {
            // max(by:) keeps the last of equal maxima; prefer config order instead.
            let first = writerVotes.first { $0.votes == winner.votes }!  // winner itself qualifies
            let host = first.host
            let state = self.hosts[host]!.state  // every writer-role host has a machine (topology validated)
            let forceOnline =
                !manual || state == .replicationFail || state == .replicationDelay
            if forceOnline, state != .online {
                self.hosts[host] = HostStateMachine(
                    restoring: HostSnapshot(state: .online, flapping: self.hosts[host]!.flapping),
                    policy: policy,
                    at: now
                )
            }
            if self.hosts[host]?.state == .online {
                self.assignment.assign(writerIP, to: host)
                self.lastWriter = host
            }
        }

        // Every other role IP.
        for role in topology.roles {
            for ip in role.effectiveIPs {
                let roleIP = RoleIP(role: role.name, ip: ip)
                guard roleIP != writerIP else { continue }
                var best: (host: String, votes: Int)? = nil
                for host in role.hosts {
                    guard let state = self.hosts[host]?.state else { continue }
                    let observation = observations[host]
                    var votes = 0
                    if observation?.configuredIPs.contains(ip) == true { votes += 4 }
                    if snapshot?.roles.holder(of: roleIP) == host { votes += 2 }
                    if observation?.agentRoles.contains(roleIP) == true { votes += 1 }
                    if state == .adminOffline || (!manual && state != .online && state != .awaitingRecovery) {
                        votes = 0
                    }
                    // As in the writer vote: winning would force an errant host ONLINE.
                    if !(self.hosts[host]?.errantTransactions.isEmpty ?? true) { votes = 0 }
                    if votes > 0, votes > (best?.votes ?? 0) {
                        best = (host, votes)
                    }
                }
                guard let winner = best else { continue }
                if self.hosts[winner.host]?.state == .awaitingRecovery {
                    let flapping = self.hosts[winner.host]?.flapping ?? false
                    self.hosts[winner.host] = HostStateMachine(
                        restoring: HostSnapshot(state: .online, flapping: flapping, errantTransactions: self.hosts[winner.host]?.errantTransactions ?? []),
                        policy: policy,
                        at: now
                    )
                }
                if self.hosts[winner.host]?.state == .online {
                    self.assignment.assign(roleIP, to: winner.host)
                }
            }
        }

        if vipHolders.count > 1, policy.carefulStartup {
            self.mode = .passive
            let names = vipHolders.map(\.name).joined(separator: ", ")
            self.passiveCause = "Writer IP \(writerIP.ip) is configured on more than one host (\(names)) at startup."
        }
        if self.mode == .passive {
            self.writerAtPassiveEntry = self.writer
        }
    }

    /// The monitor finished starting: MMM's `cleanup_and_send_status` (unless PASSIVE), then a first pass.
    public mutating func started(at now: MonitorInstant) -> [ClusterAction] {
        guard self.mode != .passive else { return self.decide(at: now) }
        return [.sendStatusToAll(hosts: self.statusOrder())] + self.decide(at: now)
    }

    /// MMM's order for full status pushes: passive master(s), then slaves, then the writer last.
    func statusOrder() -> [String] {
        let writer = self.writer
        let masters = self.topology.hosts.filter { $0.mode == .master && $0.name != writer }.map(\.name)
        let slaves = self.topology.hosts.filter { $0.mode == .slave && $0.name != writer }.map(\.name)
        return masters + slaves + (writer.map { [$0] } ?? [])
    }
}
