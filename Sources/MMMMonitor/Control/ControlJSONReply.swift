import Foundation
import MMMControl
import MMMCore

/// The answer to `mmm_control --json COMMAND`: MMM's text plus the facts behind it, for scripts.
///
/// Encoded as one line of JSON with sorted keys (``jsonText``). Every answer has ``ok`` and ``text`` (MMM's exact
/// reply); `show` adds ``mode``, ``hosts`` and ``warnings``; `checks` adds ``checks``; `mode`, `set_active`,
/// `set_manual` and `set_passive` add ``mode`` (after the command). A refused command has only ``ok`` (false) and
/// ``text``. The schema is documented in docs/control.md.
public struct ControlJSONReply: Codable, Hashable, Sendable {
    /// Whether the command succeeded (the opposite of the reply's error flag).
    public var ok: Bool
    /// MMM's reply text, exactly as `mmm_control` prints it without `--json`.
    public var text: String
    /// The monitor's mode (`ACTIVE`, `MANUAL`, `WAIT`, `PASSIVE`).
    public var mode: String?
    /// `show`: every host, sorted by name.
    public var hosts: [Host]?
    /// `show`: the lines of ``text`` that start with `# Warning`.
    public var warnings: [String]?
    /// `checks`: one entry per host and check, in the text's order.
    public var checks: [Check]?

    /// One host in `show`.
    public struct Host: Codable, Hashable, Sendable {
        /// `<host NAME>`.
        public var name: String
        /// Its IP.
        public var ip: String
        /// `master` or `slave`.
        public var mode: String
        /// Its state (`ONLINE`, `HARD_OFFLINE`…).
        public var state: String
        /// The role IPs it holds, sorted.
        public var roles: [Role]
        /// Whether the monitor reaches its agent (false: `show` warns that the agent is not reachable).
        public var agentReachable: Bool
        /// GTIDs it has that the writer lacks (empty when none are known).
        public var errantTransactions: [String]

        /// Creates a host entry.
        public init(
            name: String,
            ip: String,
            mode: String,
            state: String,
            roles: [Role],
            agentReachable: Bool,
            errantTransactions: [String]
        ) {
            self.name = name
            self.ip = ip
            self.mode = mode
            self.state = state
            self.roles = roles
            self.agentReachable = agentReachable
            self.errantTransactions = errantTransactions
        }
    }

    /// A role IP held by a host.
    public struct Role: Codable, Hashable, Sendable {
        /// The role's name.
        public var role: String
        /// The IP.
        public var ip: String

        /// Creates a role entry.
        public init(role: String, ip: String) {
            self.role = role
            self.ip = ip
        }
    }

    /// One check of one host in `checks`.
    public struct Check: Codable, Hashable, Sendable {
        /// The host's name.
        public var host: String
        /// `ping`, `mysql`, `rep_threads` or `rep_backlog`.
        public var check: String
        /// The result; `null` while the check has reported nothing yet.
        public var ok: Bool?
        /// The check's message, as in the text.
        public var message: String
        /// When the result last changed (`yyyy/MM/dd HH:mm:ss`, the monitor's clock); `null` without a result.
        public var lastChange: String?

        /// Creates a check entry.
        public init(host: String, check: String, ok: Bool?, message: String, lastChange: String?) {
            self.host = host
            self.check = check
            self.ok = ok
            self.message = message
            self.lastChange = lastChange
        }

        private enum CodingKeys: String, CodingKey {
            case host, check, ok, message, lastChange
        }

        /// Encodes every key, with `null` for an unknown result or time (scripts can rely on the keys).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.host, forKey: .host)
            try container.encode(self.check, forKey: .check)
            try container.encode(self.ok, forKey: .ok)
            try container.encode(self.message, forKey: .message)
            try container.encode(self.lastChange, forKey: .lastChange)
        }
    }

    /// Creates a reply with only ``ok`` and ``text``.
    public init(ok: Bool, text: String) {
        self.ok = ok
        self.text = text
    }

    /// The reply to `command` whose outcome was `outcome`, with the facts read from `machine` after the command.
    ///
    /// - Parameters:
    ///   - command: the parsed command, or `nil` when it was refused before parsing succeeded.
    ///   - outcome: the command's outcome (its text and error flag are carried over).
    ///   - machine: the state machine after the command.
    ///   - time: the wall-clock text of an instant (for `checks`).
    public init(
        command: ControlCommand?,
        outcome: ControlOutcome,
        machine: ClusterStateMachine,
        time: @escaping @Sendable (MonitorInstant) -> String
    ) {
        self.init(ok: !outcome.isError, text: outcome.text)
        guard !outcome.isError, let command else { return }
        switch command {
        case .show:
            self.mode = machine.mode.rawValue
            self.hosts = machine.topology.hosts.sorted { $0.name < $1.name }.map { host in
                let hostMachine = machine.hosts[host.name]
                return Host(
                    name: host.name,
                    ip: host.ip,
                    mode: host.mode.rawValue,
                    state: (hostMachine?.state ?? .awaitingRecovery).rawValue,
                    roles: machine.heldRoles(of: host.name).sorted().map { Role(role: $0.role, ip: $0.ip) },
                    agentReachable: !machine.agentDown.contains(host.name),
                    errantTransactions: hostMachine?.errantTransactions ?? []
                )
            }
            self.warnings = outcome.text.split(separator: "\n").filter { $0.hasPrefix("# Warning") }.map(String.init)
        case .checks(let host, let check):
            let formatter = ChecksFormatter(
                hostNames: machine.topology.hosts.map(\.name),
                checks: machine.checks,
                time: time
            )
            self.checks = formatter.entries(host: host, check: check)?.map { entry in
                Check(
                    host: entry.host,
                    check: entry.check.rawValue,
                    ok: entry.ok,
                    message: entry.message,
                    lastChange: entry.lastChange == nil ? nil : entry.lastChangeText
                )
            }
        case .mode, .setActive, .setManual, .setPassive:
            self.mode = machine.mode.rawValue
        case .help, .ping, .setOnline, .setOffline, .moveRole, .setIP, .failoverReport, .errant:
            break
        }
    }

    /// One line of JSON with sorted keys and unescaped slashes (dates and texts stay readable).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else {
            // Unreachable: strings, Booleans and arrays of them always encode; kept as a valid JSON answer anyway.
            return #"{"ok":false,"text":"ERROR: the reply could not be encoded as JSON"}"#
        }
        return String(decoding: data, as: UTF8.self)
    }
}
