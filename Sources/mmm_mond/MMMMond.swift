import ArgumentParser
import Foundation
import Logging
import MMMConfig
import MMMControl
import MMMCore
import MMMDaemon
import MMMMonitor
import MMMSystem
import MMMTransport

/// `mmm_mond`: the monitor (MMM 2.2 compatible config).
@main
struct MMMMond: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmm_mond",
        abstract: "The swift-mmm monitor: checks every host, decides roles and failover, tells the agents.",
        discussion: """
            Reads mmm_mon.conf (or mmm_mon_CLUSTER.conf with --cluster NAME, MMM's @NAME) and the files it includes \
            from --config-dir (default /etc/mysql-mmm). Runs the checks ping, mysql, rep_threads and rep_backlog on \
            every host concurrently, each with its deadline; sends every agent its state and roles several times per \
            lease_timeout; persists its status in status_path (write, fsync, rename) and starts from it; answers \
            mmm_control on the <monitor> ip and port (authenticated with agent_secret).
            Runs in the foreground (use systemd Type=simple), or with --daemon in the background; SIGTERM or SIGINT stops it gracefully and leaves every \
            host's roles as they are. The pid file (pid_path) is locked, so a stale one never blocks a start.
            """
    )

    @Option(name: .customLong("config-dir"), help: ArgumentHelp("Directory of the config files.", valueName: "DIR"))
    var configDir: String = ConfigDirectory.defaultPath

    @Option(help: ArgumentHelp("Cluster name: read mmm_mon_NAME.conf (MMM: @NAME).", valueName: "NAME"))
    var cluster: String?

    @Option(help: ArgumentHelp("Log level: \(DaemonLogging.levelNames.joined(separator: ", ")).", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("Pid file (default: pid_path of <monitor>).", valueName: "FILE"))
    var pidFile: String?

    @Flag(name: [.customShort("f"), .long], help: "Stay in the foreground (the default; accepted for MMM compatibility).")
    var foreground = false

    @Flag(help: "Detach and run in the background (a new session), output appended to --log-file.")
    var daemon = false

    @Option(help: ArgumentHelp("With --daemon: the log file.", valueName: "FILE"))
    var logFile: String = "/var/log/mysql-mmm/mmm_mond.log"

    @Option(
        help: ArgumentHelp(
            "Make a new signing key in FILE (mode 600; never overwritten), print the monitor_public_key line for "
                + "mmm_common.conf, and exit. Set `monitor_signing_key FILE` in <monitor>.",
            valueName: "FILE"
        )
    )
    var generateSigningKey: String?

    @Option(help: ArgumentHelp("Print the monitor_public_key line of the signing key in FILE, and exit.", valueName: "FILE"))
    var printPublicKey: String?

    static func main() async {
        // MMM's syntax: mmm_mond [@CLUSTER].
        await self.main(Daemonizer.expandingClusterShorthand(CommandLine.arguments))
    }

    func run() async throws {
        if let path = self.generateSigningKey {
            print(SigningKeyFile.configurationLine(for: try SigningKeyFile.create(at: path)))
            return
        }
        if let path = self.printPublicKey {
            print(SigningKeyFile.configurationLine(for: try SigningKeyFile.read(at: path)))
            return
        }
        let level = try DaemonLogging.level(named: self.logLevel)
        let configuration = try ConfigDirectory(path: self.configDir).loadMonitor(cluster: self.cluster)
        let settings = try MonitorSettings(configuration: configuration)
        if self.daemon {
            try Daemonizer.detach(program: "mmm_mond", logFile: self.logFile, pidFile: self.pidFile ?? settings.pidPath)
            return
        }
        DaemonLogging.bootstrap(
            DaemonLoggingConfiguration(program: "mmm_mond", host: nil, cluster: self.cluster, level: level)
        )
        let logger = Logger(label: "mmm_mond")
        let monitor = MonitorService(settings: settings, logger: logger, clock: .system)
        let control = ControlServer(
            configuration: .control(settings.control, tls: try settings.control.tls.map { try ProtocolTLS(files: $0) }),
            handler: monitor,
            logger: logger
        )
        try await Daemon.run(
            services: [monitor, control],
            configuration: DaemonConfiguration(program: "mmm_mond", pidFilePath: self.pidFile ?? settings.pidPath),
            logger: logger
        )
    }
}
