import ArgumentParser
import MMMConfig

/// Options every verb takes: where the config files are and which cluster.
struct GlobalOptions: ParsableArguments {
    /// MMM's directory.
    static let defaultConfigDirectory = ConfigDirectory.defaultPath

    /// `--config-dir DIR`.
    @Option(
        name: .customLong("config-dir"),
        help: ArgumentHelp("Directory holding mmm_common.conf, mmm_agent.conf and mmm_mon.conf.", valueName: "DIR")
    )
    var configDir: String = GlobalOptions.defaultConfigDirectory

    /// `--cluster NAME` (MMM: `@NAME`).
    @Option(
        help: ArgumentHelp(
            "Cluster name: use mmm_agent_NAME.conf and mmm_mon_NAME.conf (MMM writes this as @NAME before the command).",
            valueName: "NAME"
        )
    )
    var cluster: String?

    /// The config directory these options select.
    var directory: ConfigDirectory { ConfigDirectory(path: self.configDir) }
}
