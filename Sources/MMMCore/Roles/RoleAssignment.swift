/// Which host holds each role IP. At most one holder per IP by construction.
public struct RoleAssignment: Hashable, Sendable, Codable {
    /// Holder of each assigned IP; unassigned (orphaned) IPs are absent.
    public private(set) var holders: [RoleIP: String]

    /// Creates an assignment.
    public init(holders: [RoleIP: String] = [:]) {
        self.holders = holders
    }

    /// The host holding `roleIP`, if any.
    public func holder(of roleIP: RoleIP) -> String? {
        self.holders[roleIP]
    }

    /// The role IPs `host` holds, sorted as MMM prints them.
    public func roles(of host: String) -> [RoleIP] {
        self.holders.filter { $0.value == host }.keys.sorted()
    }

    /// Hosts holding any IP of `role`.
    public func hosts(holding role: String) -> Set<String> {
        Set(self.holders.filter { $0.key.role == role }.values)
    }

    /// Gives `roleIP` to `host` (taking it from any previous holder).
    public mutating func assign(_ roleIP: RoleIP, to host: String) {
        self.holders[roleIP] = host
    }

    /// Takes `roleIP` from whoever holds it; returns the previous holder.
    @discardableResult
    public mutating func unassign(_ roleIP: RoleIP) -> String? {
        self.holders.removeValue(forKey: roleIP)
    }

    /// Takes every role from `host`; returns what it held, sorted.
    @discardableResult
    public mutating func removeAll(from host: String) -> [RoleIP] {
        let held = self.roles(of: host)
        for roleIP in held {
            self.holders.removeValue(forKey: roleIP)
        }
        return held
    }

    /// MMM's `count_host_roles` in half units: each IP counts 2, an IP of the active-master role counts 1
    /// (MMM's 0.5), so the writer's host looks lighter when readers are balanced.
    public func halfUnitLoad(of host: String, activeMasterRole: String) -> Int {
        self.holders.reduce(0) { total, entry in
            guard entry.value == host else { return total }
            return total + (entry.key.role == activeMasterRole ? 1 : 2)
        }
    }
}
