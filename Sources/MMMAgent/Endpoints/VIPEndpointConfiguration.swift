import MMMCore

/// How a ``VIPEndpointProvider`` reaches the network: the cluster interface, the tools and their timings.
public struct VIPEndpointConfiguration: Sendable, Hashable {
    /// The interface the virtual IPs are added to (`cluster_interface` in `mmm_common.conf`).
    public var interface: String
    /// Absolute path of iproute2's `ip`.
    public var ipPath: String
    /// Absolute path of Debian's `arping` (Thomas Habets' 2.x, not iputils' `arping`: the flags differ).
    public var arpingPath: String
    /// The network namespace to act in, for tests that run the provider against a namespace of their own: `ip -n NS`
    /// and `ip netns exec NS arping`. Production leaves it `nil` (the agent acts in its own namespace).
    public var networkNamespace: String?
    /// How long the duplicate address check listens for another host that answers for the IP.
    public var duplicateCheck: DuplicateAddressCheck
    /// How the gratuitous ARP announcements after an acquire are sent.
    public var announcements: Announcements

    /// The duplicate address check run before an IP is taken: ARP probes with source 0.0.0.0 (RFC 5227), as
    /// `arping -0 -r -C 1 -c PROBES -W INTERVAL -w WAIT -i IFACE IP`.
    ///
    /// A free address costs the whole `wait` on every acquire; an address in use is reported as soon as the first
    /// reply arrives.
    public struct DuplicateAddressCheck: Sendable, Hashable {
        /// How many probes to send (at least 1).
        public var probes: Int
        /// The time between probes.
        public var interval: Duration
        /// How long arping runs in total before it concludes that nobody answers.
        public var wait: Duration

        /// Creates a check; the defaults (2 probes 100 ms apart, 300 ms in all) found a holder in every run here.
        public init(probes: Int = 2, interval: Duration = .milliseconds(100), wait: Duration = .milliseconds(300)) {
            self.probes = probes
            self.interval = interval
            self.wait = wait
        }
    }

    /// The gratuitous ARP requests sent after an address is added, so neighbours replace the old holder's MAC at once
    /// (without them a client kept the old MAC for 50 s here, DESIGN.md §7).
    public struct Announcements: Sendable, Hashable {
        /// How many gratuitous ARP requests to send (0 sends none), each by its own `arping -U -c 1 -w 0`.
        public var count: Int
        /// The time between two announcements.
        public var interval: Duration
        /// The deadline of each `arping` run.
        public var commandDeadline: Duration

        /// Creates the announcement settings: by default 3 announcements 100 ms apart, as a lost packet is common.
        public init(count: Int = 3, interval: Duration = .milliseconds(100), commandDeadline: Duration = .seconds(2)) {
            self.count = count
            self.interval = interval
            self.commandDeadline = commandDeadline
        }
    }

    /// Creates a configuration for `interface` with Debian's tool paths and no namespace.
    public init(
        interface: String,
        ipPath: String = "/usr/sbin/ip",
        arpingPath: String = "/usr/sbin/arping",
        networkNamespace: String? = nil,
        duplicateCheck: DuplicateAddressCheck = DuplicateAddressCheck(),
        announcements: Announcements = Announcements()
    ) {
        self.interface = interface
        self.ipPath = ipPath
        self.arpingPath = arpingPath
        self.networkNamespace = networkNamespace
        self.duplicateCheck = duplicateCheck
        self.announcements = announcements
    }

    /// Checks every field that reaches a command line.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` naming the bad value.
    public func validate() throws {
        try EndpointArguments.validateInterfaceName(self.interface)
        try EndpointArguments.validateProgramPath(self.ipPath)
        try EndpointArguments.validateProgramPath(self.arpingPath)
        if let namespace = self.networkNamespace {
            try EndpointArguments.validateNamespaceName(namespace)
        }
        guard self.duplicateCheck.probes >= 1, self.duplicateCheck.interval >= .zero,
            self.duplicateCheck.wait > .zero
        else {
            throw MMMError(.invalidArgument, "the duplicate address check needs at least one probe and a positive wait")
        }
        guard self.announcements.count >= 0, self.announcements.interval >= .zero,
            self.announcements.commandDeadline > .zero
        else {
            throw MMMError(.invalidArgument, "announcement count and interval must not be negative")
        }
    }
}
