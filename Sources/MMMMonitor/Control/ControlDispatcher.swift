import MMMCore

/// Applies `mmm_control` commands to the monitor's ``MMMCore/ClusterStateMachine``: the monitor's control surface
/// as a pure function (no I/O; the agents' reachability and the time are passed in).
///
/// The monitor pings a host's agent before `set_online`, `set_offline` and `move_role`, as MMM does, and passes
/// the hosts whose agent answered as `reachableAgents`.
public enum ControlDispatcher {
    /// Parses, checks and applies one control request: the monitor's whole answer to `verb` and `arguments`.
    ///
    /// - Parameters:
    ///   - verb: the request's verb (`show`, `move_role`…).
    ///   - arguments: the request's arguments, as typed.
    ///   - machine: the monitor's state machine; changed by the commands that change state.
    ///   - reachableAgents: the hosts whose agent answered a ping just now.
    ///   - now: the current instant.
    ///   - time: the wall-clock text of an instant (for `checks`).
    public static func handle(
        verb: String,
        arguments: [String],
        machine: inout ClusterStateMachine,
        reachableAgents: Set<String>,
        now: MonitorInstant,
        time: @escaping @Sendable (MonitorInstant) -> String
    ) -> ControlOutcome {
        switch ControlCommand.parse(verb: verb, arguments: arguments) {
        case .refused(let outcome):
            return outcome
        case .command(let command):
            if let refusal = command.refusal(topology: machine.topology, mode: machine.mode) {
                return refusal
            }
            return self.apply(command, to: &machine, reachableAgents: reachableAgents, now: now, time: time)
        }
    }

    /// Applies a parsed command. Unknown names are refused with MMM's texts here too (by the core), but only
    /// ``handle(verb:arguments:machine:reachableAgents:now:time:)`` refuses them in MMM's order.
    public static func apply(
        _ command: ControlCommand,
        to machine: inout ClusterStateMachine,
        reachableAgents: Set<String>,
        now: MonitorInstant,
        time: @escaping @Sendable (MonitorInstant) -> String
    ) -> ControlOutcome {
        switch command {
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
