import ArgumentParser
import Foundation
import Logging
import MMMAgent
import MMMTransport
import MMMConfig
import MMMCore
import MMMDaemon
import MMMSystem

/// `mmm_agentd`: the agent on every database host (MMM 2.2 compatible config).
@main
struct MMMAgentd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmm_agentd",
        abstract: "The swift-mmm agent: applies the monitor's roles to this database host.",
        discussion: """
            Reads mmm_agent.conf (or mmm_agent_CLUSTER.conf with --cluster NAME, MMM's @NAME) and the files it \
            includes from --config-dir (default /etc/mysql-mmm). Listens on this host's ip and agent_port for the \
            monitor's authenticated messages; moves role IPs (VIPs), switches read_only, fences and repoints \
            replication by GTID as the monitor says; fences itself when it loses the monitor while a peer still \
            hears it (the writer lease).
            Runs in the foreground (use systemd Type=simple), or with --daemon in the background; SIGTERM or SIGINT stops it gracefully and leaves the \
            host's roles as they are. A pid file (pid_path) is locked, so a stale one never blocks a start.
            """
    )

    @Option(name: .customLong("config-dir"), help: ArgumentHelp("Directory of the config files.", valueName: "DIR"))
    var configDir: String = ConfigDirectory.defaultPath

    @Option(help: ArgumentHelp("Cluster name: read mmm_agent_NAME.conf (MMM: @NAME).", valueName: "NAME"))
    var cluster: String?

    @Option(help: ArgumentHelp("Log level: \(DaemonLogging.levelNames.joined(separator: ", ")).", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("Pid file (default: pid_path of this host).", valueName: "FILE"))
    var pidFile: String?

    @Flag(help: "Stay in the foreground (the default; accepted for compatibility).")
    var foreground = false

    @Flag(help: "Detach and run in the background (a new session), output appended to --log-file.")
    var daemon = false

    @Option(help: ArgumentHelp("With --daemon: the log file.", valueName: "FILE"))
    var logFile: String = "/var/log/mysql-mmm/mmm_agentd.log"

    static func main() async {
        // MMM's syntax: mmm_agentd [@CLUSTER].
        await self.main(Daemonizer.expandingClusterShorthand(CommandLine.arguments))
    }

    func run() async throws {
        let level = try DaemonLogging.level(named: self.logLevel)
        let configuration = try ConfigDirectory(path: self.configDir).loadAgent(cluster: self.cluster)
        let settings = try AgentSettings(configuration: configuration)
        if self.daemon {
            try Daemonizer.detach(program: "mmm_agentd", logFile: self.logFile, pidFile: self.pidFile ?? settings.pidPath)
            return
        }
        DaemonLogging.bootstrap(
            DaemonLoggingConfiguration(program: "mmm_agentd", host: settings.this.name, cluster: self.cluster, level: level)
        )
        let logger = Logger(label: "mmm_agentd")
        try await Daemon.run(
            services: [AgentService(settings: settings, logger: logger, clock: .system)],
            configuration: DaemonConfiguration(program: "mmm_agentd", pidFilePath: self.pidFile ?? settings.pidPath),
            logger: logger
        )
    }
}
