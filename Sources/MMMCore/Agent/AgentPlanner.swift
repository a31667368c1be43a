/// What the agent sees on its own host, read before every convergence.
public struct AgentObservation: Sendable, Hashable {
    /// Role IPs present on the cluster interface (or held through the exec provider).
    public var heldIPs: Set<String>
    /// `read_only` is OFF on the local server.
    public var writable: Bool
    /// The host the local server replicates from (by name), if any.
    public var following: String?
    /// Both replication threads of that source run (false when stopped, or nothing is configured).
    public var replicating: Bool

    /// Creates an observation.
    public init(heldIPs: Set<String> = [], writable: Bool = false, following: String? = nil, replicating: Bool? = nil) {
        self.heldIPs = heldIPs
        self.writable = writable
        self.following = following
        self.replicating = replicating ?? (following != nil)
    }
}

/// What the monitor asked for in its last status message.
public struct AgentDesire: Sendable, Hashable {
    /// The roles this host must hold (and, by omission, must not).
    public var roles: [RoleIP]
    /// The host this host must replicate from, if any. The monitor leaves it out (nil) for a host that must not
    /// replicate yet: a returning host whose GTID state it has not compared with the writer's (invariant 4).
    public var follow: String?
    /// The monitor named ``follow`` anew since the agent last saw it configured (a new writer, or a host whose server
    /// could not be read meanwhile: restarted, it may have replication stopped by `skip-slave-start`): stopped
    /// replication from that source is started again. A replica an operator stopped under an unchanged
    /// instruction stays stopped (the monitor shows it REPLICATION_FAIL, as MMM does).
    public var followIsNew: Bool
    /// IPs of ``roles`` no other host holds, as the monitor confirmed with every other host's agent: taken without
    /// the duplicate-address probe.
    public var handedOver: Set<String>

    /// Creates a desire.
    public init(roles: [RoleIP], follow: String?, followIsNew: Bool = false, handedOver: Set<String> = []) {
        self.roles = roles
        self.follow = follow
        self.followIsNew = followIsNew
        self.handedOver = handedOver
    }
}

/// One step the agent executes, in the order the planner returns them.
public enum AgentAction: Sendable, Hashable {
    /// `read_only=ON` and kill client sessions (replication and system threads survive).
    case fence
    /// Remove a role IP from this host.
    case releaseIP(RoleIP)
    /// Drain the relay log from the previous writer (bounded), stop replicating from it, then `read_only=OFF`.
    case promote
    /// Add a role IP to this host; with `probe`, after checking that no other host answers for it (false for an IP
    /// the monitor handed over, ``AgentDesire/handedOver``).
    case acquireIP(RoleIP, probe: Bool = true)
    /// Replicate from `writer` by GTID (for the writer itself: from its peer, closing the master-master ring).
    case follow(writer: String)
}

/// Turns the monitor's desire and the host's observed state into the steps that converge them (DESIGN.md §4, §6).
///
/// A pure function: it reads nothing and changes nothing. The rules, in the order of the actions:
/// 1. A host that is writable but must not write (no writer role, or the lease says fence) fences first, before it
///    drops any IP, so that clients still connected through the VIP get errors instead of reaching a writable server.
/// 2. IPs it must not hold are released.
/// 3. A host that must write and is not writable is promoted (drain, then `read_only=OFF`); only then does it take
///    the writer IP. The writer IP is never taken by a host that is not (or not yet) writable.
/// 4. Other missing IPs are acquired. An IP is probed for another holder first unless the monitor handed it over.
/// 5. A host follows the host the monitor names, unless it already does: the writer for every other host; for the
///    writer, its master-master peer once the monitor has checked the peer's GTIDs (closing the ring), and itself
///    (nothing to do) until then. Promotion forgets the writer's old source, so the ring stays open until the monitor
///    names the peer.
public enum AgentPlanner {
    /// The steps that take `observed` to `desired` for host `this`.
    ///
    /// - Parameters:
    ///   - writerRole: the active-master role's name (`active_master_role`).
    ///   - knownRoles: every role IP of the cluster (``ClusterTopology/allRoleIPs``), to name the IPs released.
    ///   - leaseAllowsWriting: false once the writer lease says fence (``WriterLease/mayWrite``).
    public static func plan(
        this: String,
        writerRole: String,
        knownRoles: [RoleIP] = [],
        desired: AgentDesire,
        observed: AgentObservation,
        leaseAllowsWriting: Bool
    ) -> [AgentAction] {
        let mustWrite = desired.roles.contains { $0.role == writerRole } && leaseAllowsWriting
        // Without the right to write, the writer IP is not wanted either.
        let wanted = desired.roles.filter { $0.role != writerRole || mustWrite }
        let wantedIPs = Set(wanted.map(\.ip))
        var actions: [AgentAction] = []

        if observed.writable && !mustWrite {
            actions.append(.fence)
        }
        for ip in observed.heldIPs.sorted() where !wantedIPs.contains(ip) {
            // The role name is only for logs and the exec provider; an unknown IP is released under its own.
            let role = knownRoles.first { $0.ip == ip }?.role ?? "unassigned"
            actions.append(.releaseIP(RoleIP(role: role, ip: ip)))
        }
        if mustWrite && !observed.writable {
            actions.append(.promote)
        }
        // The writer IP first: a reader IP another host still holds must not delay the writes.
        let ordered = wanted.sorted { ($0.role == writerRole ? 0 : 1, $0) < ($1.role == writerRole ? 0 : 1, $1) }
        for roleIP in ordered where !observed.heldIPs.contains(roleIP.ip) {
            actions.append(.acquireIP(roleIP, probe: !desired.handedOver.contains(roleIP.ip)))
        }
        // Promotion forgets the source, so a writer told to follow its peer follows it again afterwards.
        let promoting = mustWrite && !observed.writable
        let restart = desired.followIsNew && !observed.replicating
        if let source = desired.follow, source != this, observed.following != source || promoting || restart {
            actions.append(.follow(writer: source))
        }
        return actions
    }
}
