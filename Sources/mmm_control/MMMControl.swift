import ArgumentParser
import MMMControl

/// `mmm_control`: the operator's command line for swift-mmm.
///
/// Accepts MMM's syntax, `mmm_control [@CLUSTER] COMMAND [args]`, as well as
/// `mmm_control [--config-dir DIR] [--cluster NAME] [--json] [--timeout SECONDS] COMMAND`. MMM's commands go to the
/// monitor (``MonitorCommand``); `check-config` and `probe` are subcommands run here, with MMM's underscore
/// spelling as an alias (`check_config`).
@main
struct MMMControl: AsyncParsableCommand {
    /// Name, help text and the client's own subcommands.
    static let configuration = CommandConfiguration(
        commandName: "mmm_control",
        abstract: "Control a swift-mmm cluster (MMM 2.2 compatible).",
        usage: "mmm_control [@CLUSTER] [--config-dir DIR] [--json] [--timeout SECONDS] COMMAND [ARGS]",
        discussion: """
            Usage as in MMM: mmm_control [@CLUSTER] COMMAND [args]. @CLUSTER (or --cluster CLUSTER) selects \
            mmm_mon_CLUSTER.conf; --config-dir DIR selects the directory (default \
            \(GlobalOptions.defaultConfigDirectory)). The monitor's address is the <monitor> section's ip and port; \
            the connection is authenticated with agent_secret (mmm_common.conf) and uses TLS with <socket> type ssl.

            Commands sent to the monitor (mmm_mond), as in MMM 2.2:
              help                              MMM's list of commands
              ping                              check that the monitor answers
              show                              hosts, states, roles, warnings
              checks [<host>|all [<check>|all]] ping, mysql, rep_threads, rep_backlog
              set_online <host>                 set a host ONLINE
              set_offline <host>                set a host ADMIN_OFFLINE
              mode                              print the monitor's mode
              set_active                        switch into active mode
              set_manual                        switch into manual mode
              set_passive                       switch into passive mode
              move_role [--force] <role> <host> move an exclusive role (switchover)
              set_ip <ip> <host>                move a role's ip (passive mode only)

            Options for these commands (before or after the command):
              --json              answer as one line of JSON
              --timeout SECONDS   reply deadline (default 10, move_role 60)
              --config-dir DIR    the config directory
              --cluster NAME      same as @NAME

            The reply is printed exactly as the monitor sends it. Exit status: 0 success, 1 the monitor answered \
            with an error (ERROR: ...), 2 wrong command line (nothing sent), 3 the monitor cannot be reached or did \
            not answer, 4 the configuration cannot be used. See docs/control.md.
            """,
        subcommands: [CheckConfig.self, Probe.self]
    )

    /// Sends MMM's commands to the monitor; hands `check-config`, `probe` and `--help` to the argument parser.
    static func main() async {
        switch ControlInvocation.parse(Array(CommandLine.arguments.dropFirst())) {
        case .local(let arguments):
            await self.main(ControlArguments.normalize(arguments))
        case .usage(let message):
            StandardError.write(message)
            terminate(.usage)
        case .monitor(let invocation):
            terminate(await MonitorCommand.run(invocation))
        }
    }

    /// Without a command, prints the help, as MMM does.
    func run() async throws {
        print(Self.helpMessage())
    }
}
