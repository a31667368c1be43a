import MMMConfig
import MMMCore
import MMMProtocol

/// One `mmm_control` command line, parsed without I/O: which monitor command to send and how, or that the line is
/// for the client's own subcommands (`check-config`, `probe`, `--help`), or a usage error.
///
/// The syntax is MMM's, `mmm_control [@CLUSTER] COMMAND [ARGS]`, plus options that may come before or after the
/// command: `--config-dir DIR`, `--cluster NAME` (same as `@NAME`), `--json` and `--timeout SECONDS`. Host, role and
/// check names never start with `-`, so these option names cannot be mistaken for arguments; `move_role`'s
/// `--force` is passed on as MMM's argument. The command and its argument count are checked here with
/// ``ControlCommand/parse(verb:arguments:)``, so a malformed command is refused without contacting the monitor.
public struct ControlInvocation: Hashable, Sendable {
    /// The first argument of a request that asks for the answer as JSON (`--json`).
    public static let jsonFlag = "--json"

    /// The config directory (`--config-dir`, default `/etc/mysql-mmm`).
    public var configDirectory: String
    /// The cluster (`@NAME` or `--cluster NAME`), or `nil` for `mmm_mon.conf`.
    public var cluster: String?
    /// Whether the answer should be JSON (`--json`).
    public var json: Bool
    /// The reply deadline given with `--timeout`, or `nil` for the command's default (``replyTimeout``).
    public var timeout: Duration?
    /// The command, as the monitor will parse it.
    public var command: ControlCommand
    /// The verb as typed.
    public var verb: String
    /// The arguments as typed (without the options above).
    public var arguments: [String]

    /// The result of parsing a command line.
    public enum Parsed: Hashable, Sendable {
        /// A command for the monitor.
        case monitor(ControlInvocation)
        /// A line for the client's own subcommands or help; run it with the argument parser as given.
        case local([String])
        /// A usage error (exit status 2): the message to print on standard error.
        case usage(String)
    }

    /// The client's own subcommands, which need no monitor.
    public static let localCommands: Set<String> = ["check-config", "check_config", "probe"]

    /// The reply deadline when `--timeout` is not given.
    public static let defaultTimeout: Duration = .seconds(10)
    /// The reply deadline of `move_role` when `--timeout` is not given: a switchover waits for the new writer to
    /// apply everything.
    public static let defaultMoveRoleTimeout: Duration = .seconds(60)
    /// The largest `--timeout` accepted, in seconds.
    public static let maximumTimeoutSeconds: Double = 3600

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) -> Parsed {
        var options = Options()
        var index = 0
        var verb: String?
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--help" || argument == "-h" {
                return .local(["--help"])
            }
            switch options.take(arguments, at: &index) {
            case .taken:
                continue
            case .failed(let message):
                return .usage(message)
            case .notAnOption:
                break
            }
            if argument.hasPrefix("@") {
                guard argument.count > 1 else { return .usage("mmm_control: '@' needs a cluster name, e.g. @cluster1") }
                options.cluster = String(argument.dropFirst())
                index += 1
                continue
            }
            if argument.hasPrefix("-") {
                return .usage("mmm_control: unknown option '\(argument)'; see mmm_control --help")
            }
            verb = argument
            index += 1
            break
        }
        guard let verb else {
            // No command (perhaps only options): the argument parser prints the help, as MMM prints its usage.
            return .local([])
        }
        if Self.localCommands.contains(verb) {
            return .local(arguments)
        }
        // The argument parser's own hint, `mmm_control help check-config`, asks for a subcommand's help.
        if verb == "help", index < arguments.count, Self.localCommands.contains(arguments[index]) {
            return .local([arguments[index], "--help"])
        }
        var commandArguments: [String] = []
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--help" || argument == "-h" {
                return .local(["--help"])
            }
            switch options.take(arguments, at: &index) {
            case .taken:
                continue
            case .failed(let message):
                return .usage(message)
            case .notAnOption:
                commandArguments.append(argument)
                index += 1
            }
        }
        // The wire refuses control characters and huge arguments; say so here rather than as a transport failure.
        for (position, argument) in commandArguments.enumerated()
        where !WireValidation.isValidText(argument, maximumBytes: WireValidation.maximumControlArgumentLength) {
            return .usage(
                "mmm_control: argument \(position + 1) of \(verb) has control characters or is longer than "
                    + "\(WireValidation.maximumControlArgumentLength) bytes"
            )
        }
        switch ControlCommand.parse(verb: verb, arguments: commandArguments) {
        case .refused(let outcome):
            return .usage(outcome.text)
        case .command(let command):
            return .monitor(
                ControlInvocation(
                    configDirectory: options.configDirectory,
                    cluster: options.cluster,
                    json: options.json,
                    timeout: options.timeout,
                    command: command,
                    verb: verb,
                    arguments: commandArguments.filter { !$0.isEmpty }
                )
            )
        }
    }

    /// The request to send: the verb and its arguments, led by ``jsonFlag`` with `--json`.
    public var request: ControlRequest {
        ControlRequest(verb: self.verb, arguments: (self.json ? [Self.jsonFlag] : []) + self.arguments)
    }

    /// How long to wait for the answer: `--timeout`, else ``defaultMoveRoleTimeout`` for `move_role` and
    /// ``defaultTimeout`` for the rest.
    public var replyTimeout: Duration {
        if let timeout = self.timeout { return timeout }
        if case .moveRole = self.command { return Self.defaultMoveRoleTimeout }
        return Self.defaultTimeout
    }

    /// The options gathered so far.
    private struct Options {
        var configDirectory = ConfigDirectory.defaultPath
        var cluster: String?
        var json = false
        var timeout: Duration?

        enum Taken {
            case taken
            case failed(String)
            case notAnOption
        }

        /// Takes the option at `index` (and its value), advancing `index`; or says it is not one of ours.
        mutating func take(_ arguments: [String], at index: inout Int) -> Taken {
            let argument = arguments[index]
            if argument == "--json" {
                self.json = true
                index += 1
                return .taken
            }
            for name in ["--config-dir", "--cluster", "--timeout"] {
                let value: String
                if argument == name {
                    guard index + 1 < arguments.count else {
                        return .failed("mmm_control: \(name) needs a value; see mmm_control --help")
                    }
                    value = arguments[index + 1]
                    index += 2
                } else if argument.hasPrefix(name + "=") {
                    value = String(argument.dropFirst(name.count + 1))
                    index += 1
                } else {
                    continue
                }
                switch name {
                case "--config-dir":
                    guard !value.isEmpty else { return .failed("mmm_control: --config-dir needs a directory") }
                    self.configDirectory = value
                case "--cluster":
                    guard !value.isEmpty else { return .failed("mmm_control: --cluster needs a cluster name") }
                    self.cluster = value
                default:
                    guard let seconds = Double(value), seconds.isFinite, seconds > 0,
                        seconds <= ControlInvocation.maximumTimeoutSeconds
                    else {
                        return .failed(
                            "mmm_control: --timeout must be a number of seconds above 0 and at most "
                                + "\(Int(ControlInvocation.maximumTimeoutSeconds)), got '\(value)'"
                        )
                    }
                    self.timeout = .milliseconds(Int64((seconds * 1000).rounded()))
                }
                return .taken
            }
            return .notAnOption
        }
    }
}

/// `mmm_control`'s exit statuses for monitor commands (docs/control.md). MMM always exited 0.
public enum ControlExitStatus: Int32, Hashable, Sendable, CaseIterable {
    /// The monitor answered and the command succeeded.
    case success = 0
    /// The monitor answered with an error (`ERROR: …`, `Invalid command …`).
    case commandFailed = 1
    /// The command line is wrong; nothing was sent.
    case usage = 2
    /// The monitor could not be reached, or did not answer (in time, or with the same key).
    case monitorUnreachable = 3
    /// The configuration cannot be used (missing file, no `<monitor>`, no `agent_secret`, bad TLS files).
    case configuration = 4

    /// The status for the monitor's answer.
    public init(response: ControlResponse) {
        self = response.isError ? .commandFailed : .success
    }
}
