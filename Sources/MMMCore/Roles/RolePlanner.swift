/// Whether a host may receive roles, as the cluster machine judges it.
public struct HostEligibility: Hashable, Sendable {
    /// The host is ONLINE. A host that is not loses every role.
    public var isOnline: Bool
    /// The host may receive new roles: ONLINE, agent answering, checks known (MMM's `agent_down` hosts
    /// keep what they have but get nothing new).
    public var canReceiveRoles: Bool
    /// The host may become the writer: it can receive roles, its own replication checks pass, it has no
    /// errant transactions, and it has not just failed to drain.
    public var canBecomeWriter: Bool

    /// Creates an eligibility.
    public init(isOnline: Bool, canReceiveRoles: Bool, canBecomeWriter: Bool) {
        self.isOnline = isOnline
        self.canReceiveRoles = canReceiveRoles && isOnline
        self.canBecomeWriter = canBecomeWriter && canReceiveRoles && isOnline
    }

    /// A host that can take nothing.
    public static var none: Self { Self(isOnline: false, canReceiveRoles: false, canBecomeWriter: false) }
}

/// The planner's answer.
public struct RolePlan: Hashable, Sendable {
    /// The new assignment of every role IP except a writer in transit (see ``writerCandidate``).
    public var assignment: RoleAssignment
    /// The host the writer role should move to. The cluster machine never assigns it directly: it first
    /// demotes the old holder, then asks for a drain, and assigns only once the drain is confirmed.
    public var writerCandidate: String?
}

/// MMM's `_distribute_roles` as a pure function (behaviour reference §5.2).
///
/// Order: roles on hosts that are not ONLINE are dropped; orphaned exclusive, then balanced, IPs are
/// given to the preferred host or the least-loaded eligible host (config order breaks ties, MMM's
/// strictly-smallest rule); in ACTIVE mode exclusive roles move to their `prefer` host; balanced roles
/// are evened out until no two eligible hosts differ by more than one role (writer counting half).
///
/// The writer candidate, for an orphaned writer role as for a move to `prefer`, is one of
/// ``mostAdvanced(among:positions:)`` over the hosts that may become writer, the current holder of the role
/// excepted; that order applies among them (DESIGN.md §4 step 3: received, then applied, then `prefer`). The
/// holder is not compared: a promotion fences it and drains the candidate to its `gtid_binlog_pos` first, so
/// nothing it has is lost.
public struct RolePlanner: Sendable {
    /// The cluster being planned.
    public let topology: ClusterTopology

    /// Creates a planner.
    public init(topology: ClusterTopology) {
        self.topology = topology
    }

    /// Plans roles for `mode` (PASSIVE is the caller's business: it must not call the planner).
    ///
    /// - Parameters:
    ///   - current: the assignment now.
    ///   - eligibility: per host; hosts missing from the dictionary can take nothing.
    ///   - writerInTransit: a host whose promotion is waiting for its drain; the writer role is not
    ///     planned while there is one.
    ///   - positions: each host's replication positions as last reported; hosts missing are unknown (see
    ///     ``mostAdvanced(among:positions:)``). Empty: the writer candidate is chosen as MMM does.
    public func plan(
        current: RoleAssignment,
        eligibility: [String: HostEligibility],
        mode: MonitorMode,
        writerInTransit: String?,
        positions: [String: ReplicationPositions] = [:]
    ) -> RolePlan {
        var assignment = current
        let writerRole = self.topology.activeMasterRole
        let writerIP = self.topology.writerRoleIP
        var candidate: String? = nil
        func eligible(_ host: String) -> HostEligibility { eligibility[host] ?? .none }

        // Never a role on a host that is not ONLINE, and never an IP the topology does not know.
        let known = Set(self.topology.allRoleIPs)
        for (roleIP, host) in assignment.holders where !eligible(host).isOnline || !known.contains(roleIP) {
            assignment.unassign(roleIP)
        }

        // Who may be the writer candidate: never a host behind another that may become writer (fact R12). The
        // holder, if it is still ONLINE, is not compared: it is fenced and drained to before any move.
        let holder = assignment.holder(of: writerIP)
        let writerHosts = self.topology.writerRole.hosts.filter { $0 != holder && eligible($0).canBecomeWriter }
        let advanced = Self.mostAdvanced(among: writerHosts, positions: positions)

        func load(_ host: String) -> Int {
            var total = assignment.halfUnitLoad(of: host, activeMasterRole: writerRole)
            if host == writerInTransit || host == candidate { total += 1 }
            return total
        }
        func canTake(_ role: RoleSpec, _ host: String) -> Bool {
            role.name == writerRole ? advanced.contains(host) : eligible(host).canReceiveRoles
        }
        func findEligibleHost(_ role: RoleSpec) -> String? {
            if role.mode == .exclusive, let prefer = role.prefer, canTake(role, prefer) {
                return prefer
            }
            var best: (host: String, load: Int)? = nil
            for host in role.hosts where canTake(role, host) {
                let hostLoad = load(host)
                if best == nil || hostLoad < best!.load {  // best is non-nil when compared
                    best = (host, hostLoad)
                }
            }
            return best?.host
        }

        // Orphans: exclusive roles first, then balanced.
        for mode in [RoleMode.exclusive, .balanced] {
            for role in self.topology.roles where role.mode == mode {
                for ip in role.effectiveIPs {
                    let roleIP = RoleIP(role: role.name, ip: ip)
                    guard assignment.holder(of: roleIP) == nil else { continue }
                    if roleIP == writerIP {
                        guard writerInTransit == nil else { continue }
                        candidate = findEligibleHost(role)
                    } else if let host = findEligibleHost(role) {
                        assignment.assign(roleIP, to: host)
                    }
                }
            }
        }

        // Preferences: ACTIVE mode only (automatic fail-back, as in MMM).
        if mode == .active {
            for role in self.topology.roles where role.mode == .exclusive {
                guard let prefer = role.prefer, canTake(role, prefer), let ip = role.effectiveIPs.first else {
                    continue
                }
                let roleIP = RoleIP(role: role.name, ip: ip)
                if roleIP == writerIP {
                    guard writerInTransit == nil, assignment.holder(of: roleIP) != prefer else { continue }
                    if candidate == nil || candidate != prefer {
                        assignment.unassign(roleIP)
                        candidate = prefer
                    }
                } else if assignment.holder(of: roleIP) != prefer {
                    assignment.assign(roleIP, to: prefer)
                }
            }
        }

        // Balance each balanced role over its eligible hosts.
        for role in self.topology.roles where role.mode == .balanced {
            let hosts = role.hosts.filter { eligible($0).canReceiveRoles }
            guard hosts.count >= 2 else { continue }
            // Each move strictly lowers the sum of squared loads, so this ends; the bound is a backstop.
            for _ in 0..<(role.ips.count * hosts.count + 1) {
                let holders = hosts.filter { host in
                    assignment.holders.contains { $0.key.role == role.name && $0.value == host }
                }
                guard let maxHost = holders.max(by: { load($0) < load($1) }),
                    let minHost = hosts.min(by: { load($0) < load($1) }),
                    load(maxHost) - load(minHost) > 2
                else { break }
                // The holder's IPs of this role are sorted; move the last one for determinism.
                guard let roleIP = assignment.holders.filter({ $0.value == maxHost && $0.key.role == role.name }).keys.max()
                else { break }
                assignment.assign(roleIP, to: minHost)
            }
        }

        return RolePlan(assignment: assignment, writerCandidate: candidate)
    }
}
