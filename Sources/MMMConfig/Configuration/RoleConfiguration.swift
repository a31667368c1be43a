import MMMCore

/// A `<role NAME>` section.
public struct RoleConfiguration: Sendable, Hashable {
    /// The section name, e.g. `writer`.
    public var name: String
    /// `mode`: `exclusive` or `balanced`.
    public var mode: RoleMode
    /// `hosts`: the hosts that may hold the role, in order; the order breaks ties.
    public var hosts: [String]
    /// `ips`: the role's virtual IPs. An exclusive role has exactly one.
    public var ips: [IPAddress]
    /// `prefer`: the preferred host; honoured only for exclusive roles, as in MMM.
    public var prefer: String?

    /// Creates a role.
    public init(name: String, mode: RoleMode, hosts: [String], ips: [IPAddress], prefer: String? = nil) {
        self.name = name
        self.mode = mode
        self.hosts = hosts
        self.ips = ips
        self.prefer = prefer
    }
}
