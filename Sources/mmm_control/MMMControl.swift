import ArgumentParser

/// `mmm_control`: the operator's command line for swift-mmm.
///
/// Accepts MMM's syntax, `mmm_control [@CLUSTER] COMMAND [args]`, as well as
/// `mmm_control [--config-dir DIR] [--cluster NAME] COMMAND`. Each verb is a subcommand; MMM's
/// underscore spellings are aliases (`check_config`).
@main
struct MMMControl: AsyncParsableCommand {
    /// Name, help text and the verbs.
    static let configuration = CommandConfiguration(
        commandName: "mmm_control",
        abstract: "Control a swift-mmm cluster (MMM 2.2 compatible).",
        discussion: """
            Usage as in MMM: mmm_control [@CLUSTER] COMMAND [args]. @CLUSTER selects the files \
            mmm_agent_CLUSTER.conf and mmm_mon_CLUSTER.conf; --config-dir DIR selects the directory \
            (default \(GlobalOptions.defaultConfigDirectory)).
            """,
        subcommands: [CheckConfig.self, Probe.self]
    )

    /// Rewrites MMM's `@CLUSTER` argument into `--cluster`, then runs the parsed command.
    static func main() async {
        await self.main(ControlArguments.normalize(Array(CommandLine.arguments.dropFirst())))
    }

    /// Without a verb, prints the help, as MMM does.
    func run() async throws {
        print(Self.helpMessage())
    }
}
