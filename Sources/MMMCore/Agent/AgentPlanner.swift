/// What the agent sees on its own host, read before every convergence.
public struct AgentObservation: Sendable, Hashable {
    /// Role IPs present on the cluster interface (or held through the exec provider).
    public var heldIPs: Set<String>
    /// `read_only` is OFF on the local server.
    public var writable: Bool
    /// The host the local server replicates from (by name), if any.
    public var following: String?

    /// Creates an observation.
    public init(heldIPs: Set<String> = [], writable: Bool = false, following: String? = nil) {
        self.heldIPs = heldIPs
        self.writable = writable
        self.following = following
    }
}

/// What the monitor asked for in its last status message.
public struct AgentDesire: Sendable, Hashable {
    /// The roles this host must hold (and, by omission, must not).
    public var roles: [RoleIP]
    /// The host this host must replicate from, if any. The monitor leaves it out (nil) for a host that must not
    /// replicate yet: a returning host whose GTID state it has not compared with the writer's (invariant 4).
    public var follow: String?

    /// Creates a desire.
    public init(roles: [RoleIP], follow: String?) {
        self.roles = roles
        self.follow = follow
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
    /// Add a role IP to this host (after checking that no other host answers for it).
    case acquireIP(RoleIP)
    /// Replicate from `writer` by GTID.
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
/// 4. Other missing IPs are acquired.
/// 5. A host that must not write follows the writer the monitor names, unless it already does. The writer itself
///    follows nobody here (closing the master-master ring after a rejoin is the monitor's decision).
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
        for roleIP in wanted.sorted() where !observed.heldIPs.contains(roleIP.ip) {
            actions.append(.acquireIP(roleIP))
        }
        if !mustWrite, let writer = desired.follow, writer != this, observed.following != writer {
            actions.append(.follow(writer: writer))
        }
        return actions
    }
}
