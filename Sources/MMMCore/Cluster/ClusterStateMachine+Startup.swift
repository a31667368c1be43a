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
    /// - ``observedRoleIPs`` starts from the observations' ``StartupObservation/configuredIPs``.
    ///
    /// Without a snapshot (no status file) swift-mmm first checks that the cluster is consistent (see
    /// ``firstStartProblems(topology:observations:)``): more than one host writable, a role IP configured on
    /// more than one host, or two hosts with diverged GTIDs make the monitor start PASSIVE, whatever
    /// `careful_startup` says, with every problem and what to do about it in ``passiveCause``; nothing is
    /// voted or assigned. With a snapshot, MMM's `careful_startup` rule applies (writer IP on two hosts).
    ///
    /// A snapshot with ``ClusterSnapshot/firstStartUnresolved`` counts as none: the servers are checked again,
    /// and the monitor stays PASSIVE unless every host reported its GTID state and all is consistent now.
    ///
    /// A first start (``isFirstStart``): no snapshot, no agent reported a state, every configured host
    /// reported its `@@gtid_binlog_state` (``StartupObservation/gtidBinlogState``), and the cluster is
    /// consistent. Then every host left in AWAITING_RECOVERY goes ONLINE as soon as its four checks pass
    /// (``HostTransitionRule/firstStart``), without `auto_set_online`; roles follow as usual (the writer
    /// through ``ClusterAction/drainThenPromote(host:previousWriter:)`` unless the vote found one). A host
    /// that changes state any other way first (a failed check) is governed by MMM's rules from then on.
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
        self.isFirstStart = false
        self.firstStartUnresolved = false
        self.observedRoleIPs = [:]
        self.writerCrossCheck = nil
        self.replicationPositions = [:]
        for spec in topology.hosts {
            guard let configured = observations[spec.name]?.configuredIPs else { continue }
            self.observedRoleIPs[spec.name] = Set(configured.filter { topology.role(owningIP: $0) != nil }).sorted()
        }
        let unresolved = snapshot?.firstStartUnresolved == true
        let snapshot = unresolved ? nil : snapshot

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

        let writerIP = topology.writerRoleIP
        if snapshot == nil {
            var problems = Self.firstStartProblems(topology: topology, observations: observations)
            let allPositionsKnown = topology.hosts.allSatisfy { observations[$0.name]?.gtidBinlogState != nil }
            if problems.isEmpty, unresolved, !allPositionsKnown {
                problems.append(
                    "An earlier first start found the servers inconsistent, and not every host reported its GTID state "
                        + "now to check them again; once they are consistent, run `mmm_control set_active`."
                )
            }
            guard problems.isEmpty else {
                self.firstStartUnresolved = true
                self.mode = .passive
                self.passiveCause =
                    problems.joined(separator: "\n")
                    + "\nNothing is assigned until then; hosts go ONLINE by auto_set_online or `mmm_control set_online HOST`."
                return
            }
            let noAgentState = observations.values.allSatisfy { $0.agentState == nil }
            self.isFirstStart = (noAgentState || unresolved) && allPositionsKnown
        }

        // The writer vote.
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

        if self.isFirstStart {
            for host in topology.hosts {
                self.hosts[host.name]?.firstStartDeclared()
            }
        }
        if snapshot != nil, vipHolders.count > 1, policy.carefulStartup {
            self.mode = .passive
            let names = vipHolders.map(\.name).joined(separator: ", ")
            self.passiveCause = "Writer IP \(writerIP.ip) is configured on more than one host (\(names)) at startup."
        }
        if self.mode == .passive {
            self.writerAtPassiveEntry = self.writer
        }
    }

    /// What makes a first start (no status file) inconsistent, one line per problem with what to do; empty
    /// when the cluster may start. Hosts are named in config order.
    ///
    /// - More than one host `writable` (`read_only=OFF`).
    /// - A role IP in ``StartupObservation/configuredIPs`` of more than one host.
    /// - Two hosts with diverged GTIDs: each one's `@@gtid_binlog_state` has a transaction the other's lacks
    ///   (``GTIDBinlogState/ranges(notIn:)`` non-empty both ways). Replication lag only ever leaves one host
    ///   behind the other, so one state contains the other; when neither does, some host wrote what the
    ///   other never received, which lag cannot explain (R1, R2). Comparing binlog states per domain and
    ///   server_id also catches a shared domain where the two hosts hold the same sequence numbers from
    ///   different servers, or where each is ahead of the other in a different server's entries. This
    ///   relies on `log_slave_updates=ON` (a host's binlog then holds what it replicated, as on the bench);
    ///   hosts whose state was not reported are not compared.
    static func firstStartProblems(topology: ClusterTopology, observations: [String: StartupObservation]) -> [String] {
        let thenSetActive = "then run `mmm_control set_active`"
        var problems: [String] = []
        let writable = topology.hosts.map(\.name).filter { observations[$0]?.writable == true }
        if writable.count > 1 {
            let verb = writable.count == 2 ? "both" : "all"
            problems.append(
                "\(Self.list(writable)) are \(verb) writable (read_only=OFF) at first start; make all but one read-only "
                    + "(SET GLOBAL read_only=ON), \(thenSetActive)."
            )
        }
        for roleIP in topology.allRoleIPs {
            let holders = topology.hosts.map(\.name).filter { observations[$0]?.configuredIPs.contains(roleIP.ip) == true }
            guard holders.count > 1 else { continue }
            problems.append(
                "IP \(roleIP.ip) (\(roleIP.role)) is configured on \(Self.list(holders)) at first start; remove it from "
                    + "all but one host (ip addr del), \(thenSetActive)."
            )
        }
        let known = topology.hosts.compactMap { host in observations[host.name]?.gtidBinlogState.map { (host.name, $0) } }
        for (index, (first, firstState)) in known.enumerated() {
            for (second, secondState) in known[(index + 1)...] {
                let firstOnly = firstState.ranges(notIn: secondState)
                let secondOnly = secondState.ranges(notIn: firstState)
                guard !firstOnly.isEmpty, !secondOnly.isEmpty else { continue }
                let firstText = firstOnly.map(\.description).joined(separator: ",")
                let secondText = secondOnly.map(\.description).joined(separator: ",")
                problems.append(
                    "\(first) and \(second) have diverged GTIDs at first start: \(first) has \(firstText) that \(second) "
                        + "lacks, \(second) has \(secondText) that \(first) lacks; make their data agree (or rebuild one "
                        + "from the other), \(thenSetActive)."
                )
            }
        }
        return problems
    }

    /// `db1 and db2`, `db1, db2 and db3`.
    static func list(_ names: [String]) -> String {
        guard names.count > 1 else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " and " + names.last!  // count > 1 checked above
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
