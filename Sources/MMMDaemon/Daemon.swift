import Logging
import MMMCore
import ServiceLifecycle
import UnixSignals

/// How a daemon runs its services: pid file, shutdown signals and how long a graceful shutdown may take.
///
/// Daemons stay in the foreground: run them under systemd with `Type=simple` (or any supervisor), which collects
/// standard error and restarts them. There is no self-daemonizing mode: forking is only safe before any thread
/// exists, and a Swift program cannot promise that (the runtime and NIO start threads early), so a `--daemon`
/// flag is deliberately not offered.
public struct DaemonConfiguration: Sendable {
    /// The program name (`mmm_agentd`), used in the pid file's "already running" message.
    public var program: String
    /// Where the pid file goes (`/run/mmm_agentd.pid`), or `nil` for none (tests, or a supervisor that tracks the
    /// process itself).
    public var pidFilePath: String?
    /// Whether SIGTERM and SIGINT start a graceful shutdown (stop taking new work, finish what is in flight,
    /// exit). Tests turn this off and trigger the shutdown themselves.
    public var handlesSignals: Bool
    /// How long a graceful shutdown may take before the services are cancelled; `nil` waits for ever.
    public var maximumGracefulShutdownDuration: Duration?
    /// How long cancelled services may take to end before the group gives up on them; `nil` waits for ever.
    public var maximumCancellationDuration: Duration?

    /// Creates a daemon configuration: SIGTERM and SIGINT shut down gracefully within 30 s.
    public init(
        program: String,
        pidFilePath: String? = nil,
        handlesSignals: Bool = true,
        maximumGracefulShutdownDuration: Duration? = .seconds(30),
        maximumCancellationDuration: Duration? = .seconds(5)
    ) {
        self.program = program
        self.pidFilePath = pidFilePath
        self.handlesSignals = handlesSignals
        self.maximumGracefulShutdownDuration = maximumGracefulShutdownDuration
        self.maximumCancellationDuration = maximumCancellationDuration
    }
}

/// Runs a daemon's services as one `ServiceGroup` (house style §10 rule 1).
///
/// Services are started in order and shut down in reverse order, so list a service after the ones it depends on
/// (the protocol server after the state it serves). Any service that returns or throws ends the whole group: a
/// daemon missing a part must not keep running half-alive.
public enum Daemon {
    /// The group that runs `services` with `configuration`'s signals and shutdown limits.
    ///
    /// Tests build the group with this and shut it down with ServiceLifecycleTestKit's `testGracefulShutdown` (or
    /// `ServiceGroup.triggerGracefulShutdown()`), which is what a SIGTERM does.
    public static func makeServiceGroup(
        services: [any Service],
        configuration: DaemonConfiguration,
        logger: Logger
    ) -> ServiceGroup {
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: configuration.handlesSignals ? [.sigterm, .sigint] : [],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.maximumGracefulShutdownDuration
        groupConfiguration.maximumCancellationDuration = configuration.maximumCancellationDuration
        return ServiceGroup(configuration: groupConfiguration)
    }

    /// Takes the pid file (if configured), runs `services` until a shutdown signal or a failure, and removes the pid
    /// file again however the run ends.
    ///
    /// - Throws: the pid file's ``MMMCore/MMMError`` if another instance runs (nothing is started then), or whatever
    ///   ends the group (a service that failed, or `ServiceGroupError`).
    public static func run(services: [any Service], configuration: DaemonConfiguration, logger: Logger) async throws {
        let pidFile = try configuration.pidFilePath.map { path throws(MMMError) in
            try PIDFile.acquire(path: path, program: configuration.program)
        }
        defer { pidFile?.release() }
        if let pidFile {
            logger.debug(
                "Pid file written",
                metadata: [LogKey.path: "\(pidFile.path)", LogKey.pid: "\(pidFile.pid)"]
            )
        }
        let group = Self.makeServiceGroup(services: services, configuration: configuration, logger: logger)
        logger.notice("Started")
        do {
            try await group.run()
        } catch {
            logger.error("Stopped after a failure", metadata: [LogKey.error: "\(error)"])
            throw error
        }
        logger.notice("Stopped")
    }
}
