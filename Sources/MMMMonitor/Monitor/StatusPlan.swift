import MMMCore
import MMMProtocol

/// What each agent is told, and which role IPs each host may still hold: the monitor's delivery bookkeeping as a value.
///
/// The agents converge to the status they are sent, so an exclusive role IP given to one host while another still
/// holds it would briefly be on two hosts. ``status(for:machine:epoch:)`` therefore holds back a role IP from a host
/// while any other host may still hold it (``claims``): a claim is made when a status giving the IP is published, and
/// replaced by what the host acknowledged; a host whose agent cannot be reached loses its claims on every IP but the
/// writer's (its VIPs are checked by the next holder's duplicate-address test; the writer is fenced or waited out
/// under its lease, see ``MonitorService``).
public struct StatusPlan: Sendable, Hashable {
    /// Role IPs each host may hold right now, by host.
    public private(set) var claims: [String: Set<RoleIP>]
    /// The writer role IP.
    public let writerRoleIP: RoleIP

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
    ) -> SetStatus {
        let assigned = machine.assignment.roles(of: host)
        let roles = assigned.filter { roleIP in
            roleIP == self.writerRoleIP
                || !self.claims.contains { other, held in other != host && held.contains(roleIP) }
        }
        let errant = !(machine.hosts[host]?.errantTransactions.isEmpty ?? true)
            || (host != machine.writer && cleared.map { !$0.contains(host) } == true)
        return SetStatus(
            state: machine.state(of: host) ?? .awaitingRecovery,
            roles: roles,
            activeMaster: errant ? nil : (host == machine.writer ? (writerSource ?? host) : machine.writer),
            epoch: epoch
        )
    }

    /// A status giving `roles` is about to be sent to `host`: it may hold them from now on.
    public mutating func publishing(_ roles: [RoleIP], to host: String) {
        self.claims[host, default: []].formUnion(roles)
    }

    /// `host` acknowledged `sent`: it holds what it was sent (and nothing else it was asked to drop), except that a
    /// writer claim stays until ``writerFenced(_:)``: an acknowledged status is applied after the answer.
    public mutating func acknowledged(_ sent: SetStatus, by host: String) {
        let hadWriter = self.claims[host]?.contains(self.writerRoleIP) ?? false
        var held = Set(sent.roles)
        if hadWriter { held.insert(self.writerRoleIP) }
        self.claims[host] = held
    }

    /// `host`'s agent could not be reached: only its writer claim stays.
    public mutating func unreachable(_ host: String) {
        guard let held = self.claims[host] else { return }
        self.claims[host] = held.filter { $0 == self.writerRoleIP }
    }

    /// `host` is known not to write and not to hold the writer IP (fenced, or its lease certainly ran out).
    public mutating func writerFenced(_ host: String) {
        self.claims[host]?.remove(self.writerRoleIP)
    }

    /// The hosts other than `host` that may still hold the writer role.
    public func writerClaims(except host: String) -> [String] {
        self.claims.filter { $0.key != host && $0.value.contains(self.writerRoleIP) }.map(\.key).sorted()
    }
}
