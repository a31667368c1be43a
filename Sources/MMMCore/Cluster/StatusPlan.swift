/// What each agent is told, and which role IPs each host may still hold: the monitor's delivery bookkeeping as a value.
///
/// The agents converge to the status they are sent, so an exclusive role IP given to one host while another still
/// holds it would briefly be on two hosts. ``status(for:machine:epoch:)`` therefore holds back a role IP from a host
/// while any other host may still hold it (``claims``): a claim is made when a status giving the IP is published, and
/// replaced by what the host acknowledged; a host whose agent cannot be reached loses its claims on every IP but the
/// writer's (its VIPs are checked by the next holder's duplicate-address test; the writer is fenced or waited out
/// under its lease, see ``FenceLadder``). A pure value: the monitor sends what ``status(for:machine:epoch:writerSource:cleared:)``
/// returns as the protocol's set-status message.
public struct StatusPlan: Sendable, Hashable {
    /// Role IPs each host may hold right now, by host.
    public private(set) var claims: [String: Set<RoleIP>]
    /// The writer role IP.
    public let writerRoleIP: RoleIP
    /// Hosts whose agent confirmed, since they were last told to hold the writer IP, that they do not hold it: a
    /// fence answer (the agent dropped it, or did not have it), or their interface read while they were not told to
    /// hold it. Empty at start: a host nobody has heard from may hold anything.
    public private(set) var withoutWriterIP: Set<String> = []
    /// A host told to hold the writer IP was seen holding it: it took it after the probe (or by a handover that
    /// rests on one), so no machine outside the cluster answers for it. Until then every take is probed, which is
    /// what finds a VIP configured on an address some other machine uses.
    public private(set) var writerIPVerified = false
    /// How many statuses giving the writer IP each host was published: an answer read while the count changed may
    /// predate a take (see ``interfaceRead(of:holdsWriterIP:told:)``).
    public private(set) var writerToldCount: [String: Int] = [:]

    /// Creates a plan; `claims` are what the hosts were found holding at startup.
    public init(writerRoleIP: RoleIP, claims: [String: Set<RoleIP>] = [:]) {
        self.writerRoleIP = writerRoleIP
        self.claims = claims
    }

    /// The status `host` should be sent now.
    ///
    /// - The roles are the machine's assignment minus any role IP another host may still hold (the writer role is
    ///   never held back here: the machine gives it only after the old writer was fenced).
    /// - The active master is the writer, except for a host with errant transactions (it must not replicate from
    ///   the writer before the operator decides) and when there is no writer (nothing to follow yet). The writer
    ///   itself is named `writerSource` (its master-master peer, once checked) or itself (replicate from nobody). With
    ///   `cleared`, a host not in it (its GTID state not yet compared with the writer's) follows nobody either.
    public func status(
        for host: String,
        machine: ClusterStateMachine,
        epoch: UInt64,
        writerSource: String? = nil,
        cleared: Set<String>? = nil
    ) -> AgentStateMachine.Status {
        let assigned = machine.assignment.roles(of: host)
        let roles = assigned.filter { roleIP in
            roleIP == self.writerRoleIP
                || !self.claims.contains { other, held in other != host && held.contains(roleIP) }
        }
        let errant = !(machine.hosts[host]?.errantTransactions.isEmpty ?? true)
            || (host != machine.writer && cleared.map { !$0.contains(host) } == true)
        // Handed over: the writer IP goes without a duplicate-address probe when every other host confirmed it does
        // not hold it; the probe (300 ms) is most of a switchover's refused writes.
        let handedOver = roles.contains(self.writerRoleIP) && self.writerIPVerified
            && machine.hosts.keys.allSatisfy { $0 == host || self.withoutWriterIP.contains($0) }
        return AgentStateMachine.Status(
            state: machine.state(of: host) ?? .awaitingRecovery,
            roles: roles,
            activeMaster: errant ? nil : (host == machine.writer ? (writerSource ?? host) : machine.writer),
            epoch: epoch,
            handedOver: handedOver ? [self.writerRoleIP.ip] : []
        )
    }

    /// A status giving `roles` is about to be sent to `host`: it may hold them from now on.
    public mutating func publishing(_ roles: [RoleIP], to host: String) {
        self.claims[host, default: []].formUnion(roles)
        if roles.contains(self.writerRoleIP) {
            self.withoutWriterIP.remove(host)
            self.writerToldCount[host, default: 0] += 1
        }
    }

    /// `host` acknowledged a status giving `roles`: it holds what it was sent (and nothing else it was asked to drop),
    /// except that a writer claim stays until ``writerFenced(_:confirmed:)``: an acknowledged status is applied after
    /// the answer.
    public mutating func acknowledged(roles: [RoleIP], by host: String) {
        let hadWriter = self.claims[host]?.contains(self.writerRoleIP) ?? false
        var held = Set(roles)
        if hadWriter { held.insert(self.writerRoleIP) }
        self.claims[host] = held
    }

    /// `host`'s agent could not be reached: only its writer claim stays.
    public mutating func unreachable(_ host: String) {
        guard let held = self.claims[host] else { return }
        self.claims[host] = held.filter { $0 == self.writerRoleIP }
    }

    /// `host` is known not to write and not to hold the writer IP (fenced, or its lease certainly ran out).
    ///
    /// `confirmed`: its own agent answered that the writer IP is not on the host (a fence order's answer), rather
    /// than the monitor concluding it (fenced over SQL, killed, lease ran out).
    public mutating func writerFenced(_ host: String, confirmed: Bool = false) {
        self.claims[host]?.remove(self.writerRoleIP)
        if confirmed { self.withoutWriterIP.insert(host) }
    }

    /// `host` was made unable to write the way ``FenceLadder`` says (`how`), during a promotion.
    ///
    /// Which of those let the next writer take the writer IP without the duplicate-address probe (a hand-over):
    /// - its agent confirmed the fence: it dropped the IP;
    /// - its lease has certainly run out, or `kill_host_bin` stopped it: the IP may still be on its interface (a frozen
    ///   host's kernel keeps answering ARP for it, issue 17), but the host can no longer legitimately hold it. Its agent
    ///   drops it before anything else when it runs again, and the new writer's gratuitous ARP moves the clients.
    ///   Probing would refuse the IP for as long as the host stays frozen: no writes at all;
    /// - not when it was fenced over SQL through the candidate: its server answers, so its host runs, and its agent
    ///   (not running, or cut off with its lease still valid) may hold the IP for a while yet: the probe protects the
    ///   clients from two live hosts answering for it.
    public mutating func writerFenced(_ host: String, by how: FenceLadder.How) {
        switch how {
        case .agent, .leaseRanOut, .killed:
            self.writerFenced(host, confirmed: true)
        case .sqlThroughCandidate:
            self.writerFenced(host, confirmed: false)
        }
    }

    /// `host`'s agent read its interface: `holdsWriterIP` says whether the writer IP was on it, `told` whether it may
    /// have meant to take it then: told to hold the IP when the answer came or at any time since the question was
    /// asked, or its agent said it wants the role. Then an empty interface may predate a take and proves nothing; a
    /// fence answer since the telling still stands, as a fenced agent takes nothing back.
    public mutating func interfaceRead(of host: String, holdsWriterIP: Bool, told: Bool) {
        if holdsWriterIP {
            self.withoutWriterIP.remove(host)
            if told { self.writerIPVerified = true }
        } else if !told {
            self.withoutWriterIP.insert(host)
        }
    }

    /// The hosts other than `host` that may still hold the writer role.
    public func writerClaims(except host: String) -> [String] {
        self.claims.filter { $0.key != host && $0.value.contains(self.writerRoleIP) }.map(\.key).sorted()
    }
}
