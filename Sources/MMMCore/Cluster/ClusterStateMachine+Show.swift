extension ClusterStateMachine {
    /// The text of `mmm_control show`, as MMM 2.2 prints it (behaviour reference §7.2), plus swift-mmm's
    /// lines for errant transactions and a promotion waiting for its drain.
    ///
    /// Order: passive header, the network self-check's warning, the writer cross-check's warning (a veto:
    /// `# Warning: the monitor cannot reach writer db1, but db2 can: no failover (check the monitor's network)`;
    /// a question pending: `# Warning: the monitor cannot reach writer db1: asking db2 and db3 whether they can`),
    /// unreachable-agent warnings, role IPs that agents report configured on more
    /// than one host (``rolesObserved(host:roleIPs:at:)``, roles in config order, hosts sorted by name:
    /// `# Warning: IP 192.168.0.50 (writer) is configured on db1 and db2`), one line per host sorted by name
    /// (`  db1(192.168.0.31) master/ONLINE. Roles: reader(192.168.0.51), writer(192.168.0.50)`),
    /// preference lines, then swift-mmm's lines (all starting with `#`).
    public var showText: String {
        var lines: [String] = []
        if self.mode == .passive {
            lines.append("# --- Monitor is in PASSIVE MODE ---")
            let cause = (self.passiveCause ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in cause.enumerated() {
                lines.append(index == 0 ? "# Cause: \(line)" : "# \(line)")
            }
        }
        if !self.hasNetwork {
            lines.append("# Warning: the monitor's network check fails (no ping_ips answer): nothing is decided until it passes")
        }
        if let check = self.writerCrossCheck, check.host == self.writer {
            if check.isVetoed {
                lines.append(
                    "# Warning: the monitor cannot reach writer \(check.host), but \(Self.list(check.vetoedBy)) can: no failover (check the monitor's network)"
                )
            } else if check.awaitingAnswer {
                lines.append("# Warning: the monitor cannot reach writer \(check.host): asking \(Self.list(check.askedVia)) whether they can")
            } else if check.isConfirmed {
                lines.append("# Warning: the monitor cannot reach writer \(check.host), and neither can \(Self.list(check.unreachableFrom))")
            } else {
                lines.append("# Warning: the monitor cannot reach writer \(check.host): other hosts are asked whether they can when PASSIVE mode ends")
            }
        }
        let sortedHosts = self.topology.hosts.sorted { $0.name < $1.name }
        for host in sortedHosts where self.agentDown.contains(host.name) {
            lines.append("# Warning: agent on host \(host.name) is not reachable")
        }
        // A self-peer needs no warning here: ClusterTopology (and the config validator before it) refuses one.
        for role in self.topology.roles {
            for ip in role.ips {
                let holders = sortedHosts.map(\.name).filter { self.observedRoleIPs[$0]?.contains(ip) == true }
                guard holders.count > 1 else { continue }
                lines.append("# Warning: IP \(ip) (\(role.name)) is configured on \(Self.list(holders))")
            }
        }
        for host in sortedHosts {
            let state = self.hosts[host.name]?.state ?? .awaitingRecovery
            let roles = self.heldRoles(of: host.name).map(\.description).joined(separator: ", ")
            lines.append("  \(host.name)(\(host.ip)) \(host.mode.rawValue)/\(state.rawValue). Roles: \(roles)")
        }
        for role in self.topology.roles where role.mode == .exclusive {
            guard let prefer = role.prefer, let ip = role.effectiveIPs.first else { continue }
            switch self.assignment.holder(of: RoleIP(role: role.name, ip: ip)) {
            case .some(let holder) where holder == prefer:
                lines.append("# Role \(role.name) is assigned to it's preferred host \(prefer).")
            case .some(let holder):
                lines.append("# Role \(role.name) has \(prefer) configured as it's preferred host but is assigned to \(holder) at the moment.")
            case .none:
                lines.append("# Role \(role.name) has \(prefer) configured as it's preferred host.")
            }
        }
        for host in sortedHosts {
            guard let errant = self.hosts[host.name]?.errantTransactions, !errant.isEmpty else { continue }
            lines.append("# Host \(host.name) has errant transactions: \(errant.joined(separator: ", ")). It stays out until repaired.")
        }
        if let take = self.writerTake, take.host == self.writer {
            lines.append(
                "# Role \(self.topology.activeMasterRole) is assigned to \(take.host), which has not taken it yet"
                    + (take.lastError.map { ": \($0)" } ?? " (waiting for its agent to report it writable with the IP)")
            )
        }
        if let failure = self.lastTakeFailure {
            lines.append(
                "# \(failure.host) could not take role \(self.topology.activeMasterRole): \(failure.reason); it is skipped as writer for a while"
            )
        }
        if let pending = self.pendingPromotion {
            lines.append("# Role \(self.topology.activeMasterRole) is being moved to \(pending.host): waiting until it has applied everything.")
        }
        return lines.map { $0 + "\n" }.joined()
    }
}

extension ClusterStateMachine {
    /// The roles `host` holds as far as anyone can tell: its assignment, without the writer role while it has not
    /// taken it (``writerTake``). `show` and `--json` list these.
    public func heldRoles(of host: String) -> [RoleIP] {
        let assigned = self.assignment.roles(of: host)
        guard let take = self.writerTake, take.host == host, self.writer == host else { return assigned }
        return assigned.filter { $0 != self.topology.writerRoleIP }
    }
}
