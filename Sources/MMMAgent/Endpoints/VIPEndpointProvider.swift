import Logging
import MMMCore
import MMMSystem

/// The `vip` endpoint: a role's IP is added to the cluster interface as a /32, announced with gratuitous ARP, and
/// deleted on release (DESIGN.md §5).
///
/// An acquire first reads what the interface holds (`ip -o -4 addr show`); if the IP is there it succeeds at once.
/// Otherwise it checks that no other host answers ARP for the IP (RFC 5227 probes from `arping`) and refuses with an
/// error naming the IP, the interface and the answering MAC if one does; then `ip addr add`, then it hands the
/// gratuitous ARP to ``run()`` and returns without waiting for it. A release stops those announcements, waits for one
/// in flight, then runs `ip addr del`; an IP that is already gone is a success.
///
/// Needs root or `CAP_NET_ADMIN` plus `CAP_NET_RAW` (for `ip addr` and arping's packet socket), and Debian's `iproute2`
/// and `arping` packages.
///
/// - Important: Run ``run()`` for the provider's lifetime (in the agent's task group). Without it an acquire still
///   announces, but inline, which makes it slower by the announcements' duration (announcements that would not
///   fit in the call's deadline are dropped, since the address is already added by then).
public final class VIPEndpointProvider: EndpointProvider {
    /// The interface, tool paths and timings.
    public let configuration: VIPEndpointConfiguration
    private let runner: CommandRunner
    private let commands: VIPCommands
    private let announcer: AnnouncementScheduler
    private let logger: Logger
    private let clock: MMMClock

    /// Creates a provider; the configuration is validated here, so a bad interface name fails at startup. `clock`
    /// bounds the announcements made inline.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a bad interface, namespace, path or timing.
    public init(configuration: VIPEndpointConfiguration, runner: CommandRunner, logger: Logger, clock: MMMClock = .system) throws {
        try configuration.validate()
        self.clock = clock
        self.configuration = configuration
        self.runner = runner
        self.logger = logger
        let commands = VIPCommands(configuration: configuration)
        self.commands = commands
        let interface = configuration.interface
        self.announcer = AnnouncementScheduler(
            count: configuration.announcements.count,
            interval: configuration.announcements.interval,
            commandDeadline: configuration.announcements.commandDeadline,
            logger: logger,
            clock: clock
        ) { ip, deadline in
            let command = commands.announce(ip)
            let result = try await runner.run(command.executable, command.arguments, deadline: deadline)
            let output = result.output.trimmingSpaces()
            // arping exits 1 when nobody replies, which is normal for an announcement; -q keeps the output empty
            // unless something went wrong.
            guard result.status <= 1, output.isEmpty else {
                throw MMMError(
                    .commandFailed,
                    "gratuitous ARP for \(ip) on \(interface) failed (exit status \(result.status)): \(Self.excerpt(output))"
                )
            }
        }
    }

    /// Sends the gratuitous ARP announcements of acquired IPs until the calling task is cancelled.
    ///
    /// Call it once, in a task that lives as long as the provider (the agent's task group). Cancelling it cancels the
    /// announcements in flight (their `arping` is killed).
    public func run() async {
        await self.announcer.run()
    }

    /// Whether ``run()`` is active (announcements go to the background); for tests.
    internal /* for testing */ var announcerIsRunning: Bool {
        self.announcer.isRunning
    }

    /// Adds `ip`/32 to the interface after checking that no other host answers for it (unless `probe` is false: the
    /// monitor handed the IP over), then announces it in the background.
    ///
    /// Succeeds at once, without a check or an announcement, when the interface already has `ip`.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a bad role or IP (before any command runs);
    ///   ``MMMError/Code/commandFailed`` when another host answers for `ip` (the message names the IP, the interface
    ///   and the MAC that answered), when the check cannot be made, or when `ip addr add` fails;
    ///   ``MMMError/Code/timedOut`` past `deadline`.
    public func acquire(role: String, ip: String, probe: Bool, deadline: Duration) async throws {
        try EndpointArguments.validateRoleName(role)
        try EndpointArguments.validateIPv4(ip)
        let interface = self.configuration.interface
        let budget = DeadlineBudget(deadline, what: "acquiring \(ip) on \(interface) for role \(role)", clock: self.clock)
        let metadata: Logger.Metadata = [LogKey.endpointRole: "\(role)", LogKey.endpointIP: "\(ip)", LogKey.endpointInterface: "\(interface)"]
        if try await self.heldAddresses(budget).contains(ip) {
            self.logger.debug("endpoint already held", metadata: metadata)
            return
        }
        if probe {
            try await self.checkNoOtherHostAnswers(ip, budget)
        }
        let added = try await self.run(self.commands.addressAdd(ip), budget)
        if added.status != 0 {
            // Someone may have added it between our read and our add; only a still-missing address is a failure.
            guard try await self.heldAddresses(budget).contains(ip) else {
                throw MMMError(
                    .commandFailed,
                    "could not add \(ip)/32 to \(interface) (ip exit status \(added.status)): \(Self.excerpt(added.output))"
                )
            }
        }
        self.logger.debug("endpoint acquired", metadata: metadata)
        if !self.announcer.schedule(ip) {
            await self.announcer.announceInline(ip, until: budget.end)
        }
    }

    /// Stops announcing `ip`, then deletes `ip`/32 from the interface; an address that is not there is a success.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a bad role or IP (before any command runs);
    ///   ``MMMError/Code/commandFailed`` when `ip addr del` fails and the address is still there;
    ///   ``MMMError/Code/timedOut`` past `deadline`.
    public func release(role: String, ip: String, deadline: Duration) async throws {
        try EndpointArguments.validateRoleName(role)
        try EndpointArguments.validateIPv4(ip)
        let interface = self.configuration.interface
        let budget = DeadlineBudget(deadline, what: "releasing \(ip) on \(interface) for role \(role)", clock: self.clock)
        // An announcement that left after the delete would send neighbours back to this host.
        await self.announcer.stop(ip)
        let deleted = try await self.run(self.commands.addressDelete(ip), budget)
        if deleted.status != 0 {
            guard !(try await self.heldAddresses(budget).contains(ip)) else {
                throw MMMError(
                    .commandFailed,
                    "could not delete \(ip)/32 from \(interface) (ip exit status \(deleted.status)): \(Self.excerpt(deleted.output))"
                )
            }
        }
        self.logger.debug(
            "endpoint released",
            metadata: [LogKey.endpointRole: "\(role)", LogKey.endpointIP: "\(ip)", LogKey.endpointInterface: "\(interface)"]
        )
    }

    /// Whether the interface has `ip` now (any prefix length), as `ip -o -4 addr show dev IFACE` reports it.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a bad role or IP; ``MMMError/Code/commandFailed`` when the
    ///   interface cannot be read; ``MMMError/Code/timedOut`` past `deadline`.
    public func holds(role: String, ip: String, deadline: Duration) async throws -> Bool {
        try EndpointArguments.validateRoleName(role)
        try EndpointArguments.validateIPv4(ip)
        let budget = DeadlineBudget(deadline, what: "reading the addresses of \(self.configuration.interface)", clock: self.clock)
        return try await self.heldAddresses(budget).contains(ip)
    }

    /// Which of `roleIPs` are on the interface, read with one `ip addr show` (the convergence loop asks every second).
    public func heldIPs(among roleIPs: [RoleIP], deadline: Duration) async throws -> Set<String> {
        for roleIP in roleIPs {
            try EndpointArguments.validateRoleName(roleIP.role)
            try EndpointArguments.validateIPv4(roleIP.ip)
        }
        let present = try await self.heldAddresses(deadline: deadline)
        return Set(roleIPs.map(\.ip).filter(present.contains))
    }

    /// Every IPv4 address on the interface now, without prefix lengths (the host's own address included).
    ///
    /// - Throws: ``MMMError/Code/commandFailed`` when the interface cannot be read (it does not exist, `ip` is
    ///   missing); ``MMMError/Code/timedOut`` past `deadline`.
    public func heldAddresses(deadline: Duration) async throws -> Set<String> {
        try await self.heldAddresses(DeadlineBudget(deadline, what: "reading the addresses of \(self.configuration.interface)", clock: self.clock))
    }

    /// Sends the gratuitous ARP announcements of `ip` again, in the background (inline, within `deadline`, when
    /// ``run()`` is not running); for an agent that wants to re-assert an address it already holds. Failed
    /// announcements are logged, not thrown.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a bad IP.
    public func announce(ip: String, deadline: Duration) async throws {
        try EndpointArguments.validateIPv4(ip)
        if !self.announcer.schedule(ip) {
            await self.announcer.announceInline(ip, until: self.clock.now + deadline)
        }
    }

    private func heldAddresses(_ budget: DeadlineBudget) async throws -> Set<String> {
        let result = try await self.run(self.commands.addressShow, budget)
        guard result.status == 0 else {
            throw MMMError(
                .commandFailed,
                "could not read the addresses of \(self.configuration.interface) (ip exit status \(result.status)): \(Self.excerpt(result.output))"
            )
        }
        return VIPCommands.parseAddresses(result.output)
    }

    /// Refuses `ip` when another host answers ARP for it; fails closed when arping's answer cannot be read.
    private func checkNoOtherHostAnswers(_ ip: String, _ budget: DeadlineBudget) async throws {
        let interface = self.configuration.interface
        let result = try await self.run(self.commands.duplicateCheck(ip), budget)
        let macs = VIPCommands.parseMACs(result.output)
        if !macs.isEmpty {
            self.logger.debug(
                "endpoint refused: address in use",
                metadata: [LogKey.endpointIP: "\(ip)", LogKey.endpointInterface: "\(interface)", LogKey.endpointMAC: "\(macs.joined(separator: ","))"]
            )
            throw MMMError(
                .commandFailed,
                "refusing to take \(ip) on \(interface): another host answers for it from MAC \(macs.joined(separator: ", ")); release it there first"
            )
        }
        // Exit status 1 with no output is arping's "nobody answered"; anything else means the check did not happen.
        guard result.status == 1, result.output.trimmingSpaces().isEmpty else {
            throw MMMError(
                .commandFailed,
                "could not check whether another host answers for \(ip) on \(interface) (arping exit status \(result.status)): \(Self.excerpt(result.output)); refusing to take it"
            )
        }
    }

    private func run(_ command: ProgramInvocation, _ budget: DeadlineBudget) async throws -> CommandResult {
        try await self.runner.run(command.executable, command.arguments, deadline: budget.remaining())
    }

    /// Trimmed command output, at most 1,000 characters, for error messages.
    static func excerpt(_ output: String) -> String {
        let trimmed = output.trimmingSpaces()
        if trimmed.isEmpty { return "(no output)" }
        return trimmed.count > 1000 ? String(trimmed.prefix(1000)) + "..." : trimmed
    }
}
