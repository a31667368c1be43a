import MMMCore

/// One `mmm_control` command, parsed: what the monitor does with a control request (`verb` plus `arguments`).
///
/// Parsing follows MMM 2.2's dispatcher (`Monitor.pm::_process_commands`): a verb is accepted only with its exact
/// argument count, and anything else is answered with `Invalid command '<line>'` plus the help text. Names (hosts,
/// roles, IPs, checks) are checked separately by ``refusal(topology:mode:)``, in MMM's order. A leading
/// `--json` is taken off by ``ControlDispatcher`` before parsing; `check-config` and `probe` are run by the
/// `mmm_control` client itself and never reach the monitor.
public enum ControlCommand: Hashable, Sendable {
    /// `help`.
    case help
    /// `ping`.
    case ping
    /// `show`.
    case show
    /// `checks [<host>|all [<check>|all]]`; `nil` stands for `all`.
    case checks(host: String?, check: CheckKind?)
    /// `mode`.
    case mode
    /// `set_active`.
    case setActive
    /// `set_manual`.
    case setManual
    /// `set_passive`.
    case setPassive
    /// `set_online <host>`.
    case setOnline(host: String)
    /// `set_offline <host>`.
    case setOffline(host: String)
    /// `move_role [--force] <role> <host>`.
    case moveRole(role: String, host: String, force: Bool)
    /// `set_ip <ip> <host>`.
    case setIP(ip: String, host: String)
    /// `failover_report` (swift-mmm): the last change of writer, step by step.
    case failoverReport
    /// `errant <host>` (swift-mmm): the host's transactions that the writer lacks, and where they are in its binlog.
    case errant(host: String)

    /// The result of parsing a control request.
    public enum Parsed: Hashable, Sendable {
        /// A well-formed command (names not yet checked: see ``ControlCommand/refusal(topology:mode:)``).
        case command(ControlCommand)
        /// Refused before any name is looked up: a verb MMM does not know with these arguments (`Invalid
        /// command '<line>'`, a blank line and the help text), or `checks` with an unknown check name
        /// (`ERROR: Unknown check 'X'!`, which MMM also answers before looking at the host).
        case refused(ControlOutcome)
    }

    /// Parses `verb` and `arguments` (empty arguments are dropped, as MMM splits the line on whitespace).
    ///
    /// `all` as a `checks` host or check name becomes `nil`.
    public static func parse(verb: String, arguments: [String]) -> Parsed {
        let arguments = arguments.filter { !$0.isEmpty }
        switch (verb, arguments.count) {
        case ("help", 0): return .command(.help)
        case ("ping", 0): return .command(.ping)
        case ("show", 0): return .command(.show)
        case ("checks", 0): return .command(.checks(host: nil, check: nil))
        case ("checks", 1): return .command(.checks(host: Self.allAsNil(arguments[0]), check: nil))
        case ("checks", 2):
            let host = Self.allAsNil(arguments[0])
            if arguments[1] == "all" {
                return .command(.checks(host: host, check: nil))
            }
            // MMM refuses an unknown check before it looks at the host.
            guard let check = CheckKind(rawValue: arguments[1]) else {
                return .refused(ControlOutcome(error: "ERROR: Unknown check '\(arguments[1])'!"))
            }
            return .command(.checks(host: host, check: check))
        case ("mode", 0): return .command(.mode)
        case ("set_active", 0): return .command(.setActive)
        case ("set_manual", 0): return .command(.setManual)
        case ("set_passive", 0): return .command(.setPassive)
        case ("set_online", 1): return .command(.setOnline(host: arguments[0]))
        case ("set_offline", 1): return .command(.setOffline(host: arguments[0]))
        case ("move_role", 2): return .command(.moveRole(role: arguments[0], host: arguments[1], force: false))
        case ("move_role", 3) where arguments[0] == "--force":
            return .command(.moveRole(role: arguments[1], host: arguments[2], force: true))
        case ("set_ip", 2): return .command(.setIP(ip: arguments[0], host: arguments[1]))
        case ("failover_report", 0): return .command(.failoverReport)
        case ("errant", 1): return .command(.errant(host: arguments[0]))
        default:
            let line = ([verb] + arguments).joined(separator: " ")
            return .refused(ControlOutcome(error: "Invalid command '\(line)'\n\n" + ControlHelp.text))
        }
    }

    /// The refusal MMM gives for a name this cluster does not have, in MMM's order, or `nil` when every name
    /// is known.
    ///
    /// - `set_online`/`set_offline`: `ERROR: Unknown host name 'X'!`
    /// - `checks`: `ERROR: Unknown host name 'X'!` (the check was already checked by ``parse(verb:arguments:)``)
    /// - `move_role`: in PASSIVE first `ERROR: This command is not allowed in passive mode`, then
    ///   `ERROR: Unknown role name 'R'!`, then the unknown host
    /// - `set_ip`: outside PASSIVE first `ERROR: This command is only allowed in passive mode`, then
    ///   `ERROR: Unknown ip 'IP'!`, then the unknown host
    public func refusal(topology: ClusterTopology, mode: MonitorMode) -> ControlOutcome? {
        func unknownHost(_ host: String) -> ControlOutcome? {
            topology.host(host) == nil ? ControlOutcome(error: "ERROR: Unknown host name '\(host)'!") : nil
        }
        switch self {
        case .help, .ping, .show, .mode, .setActive, .setManual, .setPassive, .failoverReport:
            return nil
        case .errant(let host):
            return unknownHost(host)
        case .checks(let host, _):
            return host.flatMap(unknownHost)
        case .setOnline(let host), .setOffline(let host):
            return unknownHost(host)
        case .moveRole(let role, let host, _):
            if mode == .passive {
                return ControlOutcome(error: "ERROR: This command is not allowed in passive mode")
            }
            if topology.role(role) == nil {
                return ControlOutcome(error: "ERROR: Unknown role name '\(role)'!")
            }
            return unknownHost(host)
        case .setIP(let ip, let host):
            if mode != .passive {
                return ControlOutcome(error: "ERROR: This command is only allowed in passive mode")
            }
            if topology.role(owningIP: ip) == nil {
                return ControlOutcome(error: "ERROR: Unknown ip '\(ip)'!")
            }
            return unknownHost(host)
        }
    }

    /// `all` means every host or check.
    private static func allAsNil(_ name: String) -> String? {
        name == "all" ? nil : name
    }
}

/// What the monitor answers to one control request, and what it must then do.
///
/// The monitor sends ``text`` and ``isError`` back as the protocol's `ControlResponse` (``response``) and executes
/// ``actions`` in order.
public struct ControlOutcome: Hashable, Sendable {
    /// The reply text, MMM 2.2's wording.
    public var text: String
    /// Whether the command failed: an `ERROR:`/`Error:` reply or an invalid command (`mmm_control` exits non-zero).
    public var isError: Bool
    /// The actions to execute, in order (empty for refusals, queries and no-ops).
    public var actions: [ClusterAction]

    /// Creates an outcome.
    public init(text: String, isError: Bool, actions: [ClusterAction] = []) {
        self.text = text
        self.isError = isError
        self.actions = actions
    }

    /// A successful reply with no actions.
    public init(ok text: String) {
        self.init(text: text, isError: false)
    }

    /// A refusal with no actions.
    public init(error text: String) {
        self.init(text: text, isError: true)
    }

    /// The outcome of a core command reply (its error flag follows the `ERROR`/`Error` prefix).
    public init(_ reply: ControlReply) {
        self.init(text: reply.text, isError: reply.isError, actions: reply.actions)
    }
}
