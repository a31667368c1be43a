/// How a host takes part in replication (`mode` in a `<host>` section).
public enum HostMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// One of the (at most two) masters that replicate from each other.
    case master
    /// A replica of the current writer; repointed when the writer moves.
    case slave
}

/// One `<host NAME>` section, reduced to what the decision core needs.
public struct HostSpec: Hashable, Sendable, Codable {
    /// The host's name (`<host db1>`).
    public var name: String
    /// The host's permanent IP (`ip`).
    public var ip: String
    /// `mode master` or `mode slave`.
    public var mode: HostMode
    /// `peer`: the other master. `nil` for slaves, which follow the current writer.
    public var peer: String?

    /// Creates a host description.
    public init(name: String, ip: String, mode: HostMode, peer: String? = nil) {
        self.name = name
        self.ip = ip
        self.mode = mode
        self.peer = peer
    }
}

/// `mode` of a `<role>` section.
public enum RoleMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// One IP, one host at a time (the writer role is always exclusive).
    case exclusive
    /// Many IPs spread over the role's hosts.
    case balanced
}

/// One `<role NAME>` section.
public struct RoleSpec: Hashable, Sendable, Codable {
    /// The role's name (`writer`, `reader`).
    public var name: String
    /// Exclusive or balanced.
    public var mode: RoleMode
    /// Hosts allowed to hold the role, in config order (the order breaks ties).
    public var hosts: [String]
    /// The role's virtual IPs. An exclusive role uses only the first one, as in MMM.
    public var ips: [String]
    /// The preferred host. MMM honours it only for exclusive roles; so does this core.
    public var prefer: String?

    /// Creates a role description.
    public init(name: String, mode: RoleMode, hosts: [String], ips: [String], prefer: String? = nil) {
        self.name = name
        self.mode = mode
        self.hosts = hosts
        self.ips = ips
        self.prefer = prefer
    }

    /// The IPs the role actually uses: the first one for an exclusive role, all of them otherwise.
    public var effectiveIPs: [String] {
        switch self.mode {
        case .exclusive:
            return Array(self.ips.prefix(1))
        case .balanced:
            return self.ips
        }
    }
}

/// One IP of one role: the unit that is assigned to a host (`reader(192.168.0.51)` in `show`).
public struct RoleIP: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The role's name.
    public var role: String
    /// The IP.
    public var ip: String

    /// Creates a role IP.
    public init(role: String, ip: String) {
        self.role = role
        self.ip = ip
    }

    /// Sorted by role name, then IP, as MMM prints them.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.role, lhs.ip) < (rhs.role, rhs.ip)
    }

    /// `role(ip)`.
    public var description: String { "\(self.role)(\(self.ip))" }
}

/// The cluster as configured: hosts, roles and which role is the writer.
///
/// The config loader maps `mmm_common.conf` onto this value. The initializer checks only what the core
/// relies on (names resolve, the writer role is exclusive with an IP); the loader reports config errors
/// with file and line before this is ever built.
public struct ClusterTopology: Hashable, Sendable {
    /// Hosts in config order.
    public private(set) var hosts: [HostSpec]
    /// Roles in config order.
    public private(set) var roles: [RoleSpec]
    /// `active_master_role`: the exclusive role whose holder is the writable master.
    public private(set) var activeMasterRole: String
    /// Each host's index in ``hosts``: every decision looks hosts up by name, for every host (1,000 hosts made a
    /// linear search the monitor's main cost).
    private var hostIndexes: [String: Int]

    /// Creates a topology, or throws `invalidConfiguration` naming every inconsistency.
    public init(hosts: [HostSpec], roles: [RoleSpec], activeMasterRole: String) throws(MMMError) {
        var problems: [String] = []
        var names = Set<String>()
        for host in hosts where !names.insert(host.name).inserted {
            problems.append("host '\(host.name)' is defined twice; give each host section its own name")
        }
        for host in hosts {
            if let peer = host.peer {
                if peer == host.name {
                    problems.append("host '\(host.name)' names itself as peer; write the other master's name")
                } else if !names.contains(peer) {
                    problems.append("host '\(host.name)' has unknown peer '\(peer)'; name a defined host")
                }
            } else if host.mode == .master {
                problems.append("master '\(host.name)' has no peer; add 'peer OTHER_MASTER'")
            }
        }
        var roleNames = Set<String>()
        var ipOwners: [String: String] = [:]
        for role in roles {
            if !roleNames.insert(role.name).inserted {
                problems.append("role '\(role.name)' is defined twice")
            }
            if role.hosts.isEmpty {
                problems.append("role '\(role.name)' has no hosts; add 'hosts a, b'")
            }
            for host in role.hosts where !names.contains(host) {
                problems.append("role '\(role.name)' names unknown host '\(host)'; define a host section for it")
            }
            if let prefer = role.prefer, !role.hosts.contains(prefer) {
                problems.append("role '\(role.name)' prefers '\(prefer)', which is not one of its hosts")
            }
            if role.ips.isEmpty {
                problems.append("role '\(role.name)' has no ips; add 'ips VIP'")
            }
            for ip in role.ips {
                if let other = ipOwners.updateValue(role.name, forKey: ip) {
                    problems.append("ip \(ip) is used by roles '\(other)' and '\(role.name)'; give each its own IP")
                }
            }
        }
        if let writer = roles.first(where: { $0.name == activeMasterRole }) {
            if writer.mode != .exclusive {
                problems.append("active master role '\(activeMasterRole)' must be 'mode exclusive'")
            }
        } else {
            problems.append("active_master_role '\(activeMasterRole)' names no role section")
        }
        guard problems.isEmpty else {
            throw MMMError(.invalidConfiguration, problems.joined(separator: "\n"))
        }
        self.hosts = hosts
        self.hostIndexes = Dictionary(uniqueKeysWithValues: hosts.enumerated().map { ($0.element.name, $0.offset) })
        self.roles = roles
        self.activeMasterRole = activeMasterRole
        // Checked above: the writer role exists and has an IP. Cached because every decision reads them.
        let writer = roles.first { $0.name == activeMasterRole }!
        self.writerRole = writer
        self.writerRoleIP = RoleIP(role: activeMasterRole, ip: writer.ips[0])
        self.allRoleIPs = roles.flatMap { role in role.effectiveIPs.map { RoleIP(role: role.name, ip: $0) } }
    }

    /// The host called `name`, if configured.
    public func host(_ name: String) -> HostSpec? {
        self.hostIndexes[name].map { self.hosts[$0] }
    }

    /// The role called `name`, if configured.
    public func role(_ name: String) -> RoleSpec? {
        self.roles.first { $0.name == name }
    }

    /// The writer role's description.
    public let writerRole: RoleSpec

    /// The writer role's IP (its first IP).
    public let writerRoleIP: RoleIP

    /// Every role IP the cluster can assign, roles in config order.
    public let allRoleIPs: [RoleIP]

    /// The role owning `ip`, if any (any listed IP, even beyond the first of an exclusive role).
    public func role(owningIP ip: String) -> RoleSpec? {
        self.roles.first { $0.ips.contains(ip) }
    }

    /// The host that `host` replicates from or pairs with for MMM's peer rules.
    ///
    /// A master's configured peer; for a slave without a peer, the current active master (MMM §3.2).
    public func peer(of host: String, activeMaster: String?) -> String? {
        guard let spec = self.host(host) else { return nil }
        if let peer = spec.peer { return peer }
        return activeMaster == host ? nil : activeMaster
    }
}
