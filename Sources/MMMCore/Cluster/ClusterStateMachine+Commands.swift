/// `mmm_control` commands. Each returns MMM 2.2's reply text (behaviour reference §7.2) and the actions.
///
/// The monitor pings the host's agent before `set_online`, `set_offline` and `move_role`, as MMM does,
/// and passes the result in as `agentReachable`. swift-mmm adds refusals MMM lacks; their texts follow
/// MMM's style and are listed in each method's documentation.
extension ClusterStateMachine {
    /// `mode`: `ACTIVE`, `MANUAL`, `WAIT` or `PASSIVE`.
    public var modeReply: ControlReply { ControlReply(self.mode.rawValue) }

    /// `set_online <host>`.
    ///
    /// Added refusal: `ERROR: Host 'X' has errant transactions (G, …). It can't be switched to ONLINE.`
    public mutating func setOnlineRequested(host: String, agentReachable: Bool, at now: MonitorInstant) -> ControlReply {
        guard let machine = self.hosts[host] else {
            return ControlReply("ERROR: Unknown host name '\(host)'!")
        }
        switch machine.state {
        case .online:
            return ControlReply("OK: This host is already ONLINE. Skipping command.")
        case .hardOffline, .replicationDelay, .replicationFail:
            return ControlReply("ERROR: Host '\(host)' is '\(machine.state)' at the moment. It can't be switched to ONLINE.")
        case .adminOffline, .awaitingRecovery:
            break
        }
        guard self.checks[host]?.isReachable == true else {
            return ControlReply("ERROR: Checks ping and/or mysql are not ok for host '\(host)'. It can't be switched to ONLINE.")
        }
        if !machine.errantTransactions.isEmpty {
            let list = machine.errantTransactions.joined(separator: ", ")
            return ControlReply("ERROR: Host '\(host)' has errant transactions (\(list)). It can't be switched to ONLINE.")
        }
        if let peer = self.topology.peer(of: host, activeMaster: self.activeMaster), self.hosts[peer]?.state == .online,
            self.checks[peer]?.isReplicationHealthy == false
        {
            return ControlReply(
                "ERROR: Some replication checks failed on peer '\(peer)'. We can't set '\(host)' online now. Please, wait some time."
            )
        }
        guard agentReachable else {
            return ControlReply("ERROR: Can't reach agent daemon on '\(host)'! Can't switch its state!")
        }
        let transition = self.hosts[host]!.setOnlineAccepted(at: now)  // existence checked above
        self.agentDown.remove(host)
        let actions = [ClusterAction.hostStateChanged(host: host, transition)] + self.decide(at: now)
        return ControlReply(
            "OK: State of '\(host)' changed to ONLINE. Now you can wait some time and check its new roles!",
            actions: actions
        )
    }

    /// `set_offline <host>`.
    public mutating func setOfflineRequested(host: String, agentReachable: Bool, at now: MonitorInstant) -> ControlReply {
        guard let machine = self.hosts[host] else {
            return ControlReply("ERROR: Unknown host name '\(host)'!")
        }
        switch machine.state {
        case .adminOffline:
            return ControlReply("OK: This host is already ADMIN_OFFLINE. Skipping command.")
        case .hardOffline, .awaitingRecovery:
            return ControlReply(
                "ERROR: Host '\(host)' is '\(machine.state)' at the moment. It can't be switched to ADMIN_OFFLINE."
            )
        case .online, .replicationDelay, .replicationFail:
            break
        }
        guard agentReachable else {
            return ControlReply("ERROR: Can't reach agent daemon on '\(host)'! Can't switch its state!")
        }
        let transition = self.hosts[host]!.setOfflineAccepted(at: now)  // existence checked above
        // Only an ONLINE host holds roles or is being promoted; from REPLICATION_* there is nothing to take.
        var actions: [ClusterAction] = [.hostStateChanged(host: host, transition)]
        actions += self.hostLeftOnlineIfNeeded(host, transition)
        actions += self.decide(at: now)
        return ControlReply(
            "OK: State of '\(host)' changed to ADMIN_OFFLINE. Now you can wait some time and check all roles!",
            actions: actions
        )
    }

    /// `move_role <role> <host>` and `move_role --force <role> <host>`.
    ///
    /// Moving the writer role never assigns it at once: the old holder is demoted and the target drained
    /// first (``ClusterAction/drainThenPromote(host:previousWriter:)``). Added refusals for the writer role:
    /// - `ERROR: Host 'X' has errant transactions (G, …). Can't move the active master role there.`
    /// - `ERROR: Replication checks failed on host 'X'. Can't move the active master role there.`
    public mutating func moveRoleRequested(
        role roleName: String,
        host: String,
        force: Bool,
        agentReachable: Bool,
        at now: MonitorInstant
    ) -> ControlReply {
        guard self.mode != .passive else {
            return ControlReply("ERROR: This command is not allowed in passive mode")
        }
        guard let role = self.topology.role(roleName) else {
            return ControlReply("ERROR: Unknown role name '\(roleName)'!")
        }
        guard let machine = self.hosts[host] else {
            return ControlReply("ERROR: Unknown host name '\(host)'!")
        }
        let isWriterRole = role.name == self.topology.activeMasterRole
        if force {
            guard isWriterRole else {
                return ControlReply("ERROR: move_role --forced may be used for the active master role only!")
            }
            switch machine.state {
            case .replicationFail, .replicationDelay:
                break
            case .online, .adminOffline, .hardOffline, .awaitingRecovery:
                return ControlReply("ERROR: Can't force move of role to host with state \(machine.state).")
            }
        } else {
            if role.mode == .balanced {
                var actions: [ClusterAction] = []
                var removed: [RoleIP] = []
                for roleIP in self.assignment.roles(of: host) where roleIP.role == role.name {
                    self.assignment.unassign(roleIP)
                    removed.append(roleIP)
                }
                if !removed.isEmpty {
                    actions.append(.removeRoles(host: host, roles: removed))
                }
                actions += self.decide(at: now)
                return ControlReply(
                    "OK: Balanced role \(role.name) has been removed from host '\(host)'. Now you can wait some time and check new roles info!",
                    actions: actions
                )
            }
            guard machine.state == .online else {
                return ControlReply("ERROR: Can't move role to host with state \(machine.state).")
            }
        }
        guard role.hosts.contains(host) else {
            let could = role.hosts.joined(separator: ", ")
            return ControlReply("ERROR: Host '\(host)' can't handle role '\(role.name)'. Only following hosts could: \(could)")
        }
        guard let ip = role.effectiveIPs.first else {
            return ControlReply("Error: Role \(role.name) has no IP.")
        }
        let roleIP = RoleIP(role: role.name, ip: ip)
        let oldOwner = isWriterRole ? self.activeMaster : self.assignment.holder(of: roleIP)
        if !force, oldOwner == host {
            return ControlReply("OK: Role is on '\(host)' already. Skipping command.")
        }
        if isWriterRole, !machine.errantTransactions.isEmpty {
            let list = machine.errantTransactions.joined(separator: ", ")
            return ControlReply("ERROR: Host '\(host)' has errant transactions (\(list)). Can't move the active master role there.")
        }
        if isWriterRole, !force, self.checks[host]?.repThreads != true || self.checks[host]?.repBacklog != true {
            return ControlReply("ERROR: Replication checks failed on host '\(host)'. Can't move the active master role there.")
        }
        guard agentReachable else {
            return ControlReply("ERROR: Can't reach agent daemon on '\(host)'! Can't move roles there!")
        }
        if !force, self.mode == .active, let prefer = role.prefer, oldOwner == prefer {
            return ControlReply("ERROR: Role '\(role.name)' is assigned to preferred host '\(prefer)'. Can't move it!")
        }
        self.agentDown.remove(host)
        var actions: [ClusterAction] = []
        if force {
            actions.append(.hostStateChanged(host: host, self.hosts[host]!.forcedOnline(at: now)))  // checked above
            if let old = oldOwner, old != host, let oldChecks = self.checks[old], self.hosts[old]?.state == .online {
                let demotedTo: HostState? =
                    oldChecks.repThreads == false ? .replicationFail : (oldChecks.repBacklog == false ? .replicationDelay : nil)
                if let target = demotedTo {
                    let transition = self.hosts[old]!.forcedDemotion(to: target, at: now)  // state read above
                    actions.append(.hostStateChanged(host: old, transition))
                    actions += self.hostLeftOnlineIfNeeded(old, transition)
                }
            }
        }
        if isWriterRole {
            if let pending = self.pendingPromotion {
                self.pendingPromotion = nil
                actions.append(.cancelDrain(host: pending.host))
            }
            if let holder = self.writer {
                self.assignment.unassign(roleIP)
                actions.append(.removeRoles(host: holder, roles: [roleIP]))
            }
            self.drainFailures[host] = nil
            let previous = oldOwner ?? self.lastWriter
            self.pendingPromotion = PendingPromotion(host: host, previousWriter: previous, requestedAt: now, forced: force)
            actions.append(.drainThenPromote(host: host, previousWriter: previous))
        } else {
            if let old = oldOwner {
                actions.append(.removeRoles(host: old, roles: [roleIP]))
            }
            self.assignment.assign(roleIP, to: host)
            actions.append(.addRoles(host: host, roles: [roleIP]))
        }
        actions += self.decide(at: now)
        let from = oldOwner ?? ""
        let suffix = force ? " enforcedly" : ""
        return ControlReply(
            "OK: Role '\(role.name)' has been moved from '\(from)' to '\(host)'\(suffix). Now you can wait some time and check new roles info!",
            actions: actions
        )
    }

    /// `set_ip <ip> <host>`: PASSIVE only; edits the in-memory assignment, applied when PASSIVE ends.
    ///
    /// A writer IP moved this way to a host other than the one holding it when PASSIVE began is not
    /// applied directly on leaving PASSIVE: the host goes through a drain first.
    public mutating func setIPRequested(ip: String, host: String, at now: MonitorInstant) -> ControlReply {
        guard self.mode == .passive else {
            return ControlReply("ERROR: This command is only allowed in passive mode")
        }
        guard let role = self.topology.roles.first(where: { $0.effectiveIPs.contains(ip) }) else {
            return ControlReply("ERROR: Unknown ip '\(ip)'!")
        }
        guard let machine = self.hosts[host] else {
            return ControlReply("ERROR: Unknown host name '\(host)'!")
        }
        guard role.hosts.contains(host) else {
            let could = role.hosts.joined(separator: ", ")
            return ControlReply("ERROR: Host '\(host)' can't handle role '\(role.name)'. Following hosts could: \(could)")
        }
        guard machine.state == .online else {
            return ControlReply("ERROR: Host '\(host)' is '\(machine.state)' at the moment. Can't move role with ip '\(ip)' there.")
        }
        let roleIP = RoleIP(role: role.name, ip: ip)
        self.assignment.assign(roleIP, to: host)
        return ControlReply("OK: Set role '\(roleIP)' to host '\(host)'.")
    }

    /// `set_active`.
    public mutating func setActiveRequested(at now: MonitorInstant) -> ControlReply {
        guard self.mode != .active else { return ControlReply("OK: Already in active mode.") }
        let actions = self.switchMode(to: .active, at: now)
        return ControlReply("OK: Switched into active mode.", actions: actions)
    }

    /// `set_manual` (from WAIT it answers "already", as MMM does, and stays in WAIT).
    public mutating func setManualRequested(at now: MonitorInstant) -> ControlReply {
        switch self.mode {
        case .manual, .wait:
            return ControlReply("OK: Already in manual mode.")
        case .active, .passive:
            let actions = self.switchMode(to: .manual, at: now)
            return ControlReply("OK: Switched into manual mode.", actions: actions)
        }
    }

    /// `set_passive`.
    public mutating func setPassiveRequested(at now: MonitorInstant) -> ControlReply {
        guard self.mode != .passive else { return ControlReply("OK: Already in passive mode.") }
        let actions = self.switchMode(to: .passive, at: now)
        self.passiveCause = "Admin switched to passive mode."
        return ControlReply("OK: Switched into passive mode.", actions: actions)
    }

    /// Changes mode; leaving PASSIVE runs MMM's `cleanup_and_send_status`.
    mutating func switchMode(to newMode: MonitorMode, at now: MonitorInstant) -> [ClusterAction] {
        let oldMode = self.mode
        var actions: [ClusterAction] = [.modeChanged(from: oldMode, to: newMode)]
        self.mode = newMode
        switch newMode {
        case .passive:
            if let pending = self.pendingPromotion {
                self.pendingPromotion = nil
                actions.append(.cancelDrain(host: pending.host))
            }
            self.writerAtPassiveEntry = self.writer
            return actions
        case .active, .manual, .wait:
            break
        }
        guard oldMode == .passive else {
            return actions + self.decide(at: now)
        }
        self.passiveCause = nil
        self.firstStartUnresolved = false
        // Roles that PASSIVE let drift onto hosts that are not ONLINE go first.
        for (roleIP, holder) in self.assignment.holders where self.hosts[holder]?.state != .online {
            self.assignment.unassign(roleIP)
        }
        // A writer placed by set_ip on a new host must drain before it writes.
        let writerIP = self.topology.writerRoleIP
        var drainCandidate: String? = nil
        if let holder = self.writer, holder != self.writerAtPassiveEntry {
            self.assignment.unassign(writerIP)
            drainCandidate = holder
        }
        actions.append(.sendStatusToAll(hosts: self.statusOrder()))
        if let candidate = drainCandidate {
            let previous = self.writerAtPassiveEntry ?? self.lastWriter
            self.pendingPromotion = PendingPromotion(host: candidate, previousWriter: previous, requestedAt: now, forced: false)
            actions.append(.drainThenPromote(host: candidate, previousWriter: previous))
        }
        self.writerAtPassiveEntry = nil
        return actions + self.decide(at: now)
    }
}
