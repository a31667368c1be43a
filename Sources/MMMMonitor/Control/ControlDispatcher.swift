import MMMControl
import MMMCore

/// Applies `mmm_control` commands to the monitor's ``MMMCore/ClusterStateMachine``: the monitor's control surface
/// as a pure function (no I/O; the agents' reachability and the time are passed in).
///
/// The monitor pings a host's agent before `set_online`, `set_offline` and `move_role`, as MMM does, and passes
/// the hosts whose agent answered as `reachableAgents`.
public enum ControlDispatcher {
    /// The first argument that asks for a JSON answer (`mmm_control --json COMMAND` sends it first).
    public static let jsonFlag = ControlInvocation.jsonFlag

    /// Parses, checks and applies one control request: the monitor's whole answer to `verb` and `arguments`.
    ///
    /// With ``jsonFlag`` as the first argument the verb is handled the same way (same checks, same actions), but the
    /// answer's text is a ``ControlJSONReply`` as one line of JSON, carrying MMM's text in its `text` field.
    ///
    /// - Parameters:
    ///   - verb: the request's verb (`show`, `move_role`…).
    ///   - arguments: the request's arguments, as typed, optionally led by ``jsonFlag``.
    ///   - machine: the monitor's state machine; changed by the commands that change state.
    ///   - reachableAgents: the hosts whose agent answered a ping just now.
    ///   - now: the current instant.
    ///   - time: the wall-clock text of an instant (for `checks`).
    ///   - failoverReport: the last (or running) change of writer, for `failover_report`.
    public static func handle(
        verb: String,
        arguments: [String],
        machine: inout ClusterStateMachine,
        reachableAgents: Set<String>,
        now: MonitorInstant,
        time: @escaping @Sendable (MonitorInstant) -> String,
        failoverReport: FailoverReport? = nil
    ) -> ControlOutcome {
        var arguments = arguments.filter { !$0.isEmpty }
        let json = arguments.first == Self.jsonFlag
        if json {
            arguments.removeFirst()
        }
        let command: ControlCommand?
        let outcome: ControlOutcome
        switch ControlCommand.parse(verb: verb, arguments: arguments) {
        case .refused(let refusal):
            command = nil
            outcome = refusal
        case .command(let parsed):
            command = parsed
            if let refusal = parsed.refusal(topology: machine.topology, mode: machine.mode) {
                outcome = refusal
            } else {
                outcome = self.apply(
                    parsed, to: &machine, reachableAgents: reachableAgents, now: now, time: time,
                    failoverReport: failoverReport
                )
            }
        }
        guard json else { return outcome }
        let reply = ControlJSONReply(command: command, outcome: outcome, machine: machine, time: time)
        return ControlOutcome(text: reply.jsonText, isError: outcome.isError, actions: outcome.actions)
    }

    /// Applies a parsed command. Unknown names are refused with MMM's texts here too (by the core), but only
    /// ``handle(verb:arguments:machine:reachableAgents:now:time:)`` refuses them in MMM's order.
    public static func apply(
        _ command: ControlCommand,
        to machine: inout ClusterStateMachine,
        reachableAgents: Set<String>,
        now: MonitorInstant,
        time: @escaping @Sendable (MonitorInstant) -> String,
        failoverReport: FailoverReport? = nil
    ) -> ControlOutcome {
        switch command {
        case .failoverReport:
            return ControlOutcome(ok: failoverReport?.text ?? "No change of writer recorded yet.\n")
        case .errant(let host):
            let errant = machine.hosts[host]?.errantTransactions ?? []
            guard !errant.isEmpty else {
                return ControlOutcome(ok: "OK: Host '\(host)' has no errant transactions known to the monitor.")
            }
            let writer = machine.writer.map { "the writer \($0)" } ?? "the writer"
            return ControlOutcome(
                ok: "Host '\(host)' has transactions \(writer) lacks: \(errant.joined(separator: ", ")). "
                    + "It stays out of every role until they are repaired."
            )
        case .help:
            return ControlOutcome(ok: ControlHelp.text)
        case .ping:
            return ControlOutcome(ok: "OK: Pinged successfully!")
        case .show:
            return ControlOutcome(ok: machine.showText)
        case .checks(let host, let check):
            let formatter = ChecksFormatter(
                hostNames: machine.topology.hosts.map(\.name),
                checks: machine.checks,
                time: time
            )
            return formatter.reply(host: host, check: check)
        case .mode:
            return ControlOutcome(machine.modeReply)
        case .setActive:
            return ControlOutcome(machine.setActiveRequested(at: now))
        case .setManual:
            return ControlOutcome(machine.setManualRequested(at: now))
        case .setPassive:
            return ControlOutcome(machine.setPassiveRequested(at: now))
        case .setOnline(let host):
            return ControlOutcome(
                machine.setOnlineRequested(host: host, agentReachable: reachableAgents.contains(host), at: now)
            )
        case .setOffline(let host):
            return ControlOutcome(
                machine.setOfflineRequested(host: host, agentReachable: reachableAgents.contains(host), at: now)
            )
        case .moveRole(let role, let host, let force):
            return ControlOutcome(
                machine.moveRoleRequested(
                    role: role,
                    host: host,
                    force: force,
                    agentReachable: reachableAgents.contains(host),
                    at: now
                )
            )
        case .setIP(let ip, let host):
            return ControlOutcome(machine.setIPRequested(ip: ip, host: host, at: now))
        }
    }
}
