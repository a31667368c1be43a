import MMMCore
import MMMSystem

/// Realizes the IPs of the roles a host holds (DESIGN.md §5): the agent calls it to take and give up a role's address.
///
/// Every method validates `role` and `ip` (``EndpointArguments``) before anything runs, and finishes or throws within
/// `deadline`. Both mutating methods are idempotent: acquiring an IP the host already has, or releasing one it does
/// not have, succeeds. Calls for the same IP must not overlap (the agent applies roles one change at a time); calls
/// for different IPs may.
public protocol EndpointProvider: Sendable {
    /// Makes this host answer for `ip` on behalf of `role`.
    ///
    /// `probe` false skips the check that no other host answers for `ip` (the monitor handed the IP over: every other
    /// host's agent confirmed it does not hold it); providers without such a check ignore it.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a bad role or IP, ``MMMError/Code/timedOut`` past `deadline`,
    ///   ``MMMError/Code/commandFailed`` when the address cannot be taken (including when another host answers for it).
    func acquire(role: String, ip: String, probe: Bool, deadline: Duration) async throws

    /// Makes this host stop answering for `ip` on behalf of `role`.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``, ``MMMError/Code/timedOut`` or ``MMMError/Code/commandFailed``.
    func release(role: String, ip: String, deadline: Duration) async throws

    /// Whether this host currently answers for `ip` on behalf of `role`, as the system reports it now (never a cached
    /// belief).
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``, ``MMMError/Code/timedOut`` or ``MMMError/Code/commandFailed``
    ///   when the answer cannot be known.
    func holds(role: String, ip: String, deadline: Duration) async throws -> Bool

    /// Which of `roleIPs` this host answers for now. Providers that can read every address at once (``VIPEndpointProvider``)
    /// do so in one call; the default asks ``holds(role:ip:deadline:)`` for each, sharing one deadline.
    func heldIPs(among roleIPs: [RoleIP], deadline: Duration) async throws -> Set<String>
}

extension EndpointProvider {
    /// Makes this host answer for `ip`, after checking that no other host does.
    public func acquire(role: String, ip: String, deadline: Duration) async throws {
        try await self.acquire(role: role, ip: ip, probe: true, deadline: deadline)
    }

    /// One ``holds(role:ip:deadline:)`` per role IP, all within `deadline`.
    public func heldIPs(among roleIPs: [RoleIP], deadline: Duration) async throws -> Set<String> {
        let budget = DeadlineBudget(deadline, what: "checking which role IPs this host holds")
        var held: Set<String> = []
        for roleIP in roleIPs where try await self.holds(role: roleIP.role, ip: roleIP.ip, deadline: try budget.remaining()) {
            held.insert(roleIP.ip)
        }
        return held
    }
}

/// The time left of one call's deadline, shared by the commands the call runs.
struct DeadlineBudget {
    /// When the call must be done.
    let end: MonitorInstant
    /// What the call is doing, for the timeout message.
    let what: String
    /// The clock the budget is measured on.
    let clock: MMMClock

    /// Starts a budget of `deadline` from now on `clock`.
    init(_ deadline: Duration, what: String, clock: MMMClock = .system) {
        self.clock = clock
        self.end = clock.now + deadline
        self.what = what
    }

    /// The time left, or a ``MMMError/Code/timedOut`` error when none is.
    func remaining() throws -> Duration {
        let left = self.end - self.clock.now
        guard left > .zero else {
            throw MMMError(.timedOut, "\(self.what) did not finish before its deadline")
        }
        return left
    }
}
