import ArgumentParser
import MMMConfig

/// `mmm_control [--config-dir DIR] [@CLUSTER] check-config`: validate the config files, like `nginx -t`.
struct CheckConfig: ParsableCommand {
    /// Name, help text and the MMM-style alias.
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the config files and print every problem (like nginx -t).",
        discussion: """
            Checks mmm_agent.conf with mmm_agentd's requirements and mmm_mon.conf with mmm_mond's, \
            each with the files it includes (usually mmm_common.conf), plus every mmm_agent_CLUSTER.conf \
            and mmm_mon_CLUSTER.conf in the directory; with @CLUSTER (or --cluster) only that cluster's files.
            Each problem is printed as FILE:LINE: what is wrong; what to write instead. Passwords are never \
            printed. The last line says whether the configuration is OK.
            Exit status: 0 when there is no error (warnings allowed), 1 otherwise.
            """,
        aliases: ["check_config"]
    )

    /// `--config-dir` and `--cluster`.
    @OptionGroup var options: GlobalOptions

    /// Prints the report and exits 1 if there is an error.
    func run() throws {
        let report = self.options.directory.checkConfig(cluster: self.options.cluster)
        for line in report.lines {
            print(line)
        }
        if !report.isOK {
            throw ExitCode.failure
        }
    }
}
