import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMTransport
import MMMSystem
import MariaDBClient
import NIOPosix
import ServiceLifecycle

/// `mmm_agentd` as one `Service`: the protocol listener, the endpoint provider's announcements, the convergence loop
/// and the writer lease, in one task group. Graceful shutdown stops them all and leaves the host's roles, VIPs and
/// `read_only` as they are (the monitor decides what happens to them).
public struct AgentService: Service {
    /// The resolved settings.
    public let settings: AgentSettings
    private let logger: Logger
    private let replayWindow: Duration
    private let clock: MMMClock

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - settings: the resolved configuration.
    ///   - logger: the agent's logger.
    ///   - replayWindow: how old (or far ahead) a monitor frame may be; it bounds how late a delayed message can
    ///     renew the lease, so it must stay below the lease's `maximumClockSkew`.
    ///   - clock: the one clock the agent reads (the system's in `mmm_agentd`).
    public init(settings: AgentSettings, logger: Logger, replayWindow: Duration = .seconds(1), clock: MMMClock = .system) {
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.replayWindow = replayWindow
    }

    /// Runs until graceful shutdown or cancellation.
    public func run() async throws {
        let settings = self.settings
        let executor = MariaDBExecutor(numberOfThreads: MariaDBExecutor.recommendedThreads(forServers: settings.allHosts.count))
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let runner = CommandRunner(pool: pool)
        let key = ProtocolKey(secret: settings.secret)
        // Loaded before anything listens, so a missing or wrong certificate file stops the start with its name.
        let tls = try settings.tls.map { try ProtocolTLS(files: $0) }

        var vip: VIPEndpointProvider?
        let endpoints: any EndpointProvider
        switch settings.endpointProvider {
        case .vip:
            let provider = try VIPEndpointProvider(
                configuration: VIPEndpointConfiguration(interface: settings.clusterInterface), runner: runner,
                logger: self.logger, clock: self.clock
            )
            vip = provider
            endpoints = provider
        case .exec:
            guard let program = settings.endpointExec else {
                throw MMMError(.invalidConfiguration, "endpoint_provider exec needs endpoint_exec PROGRAM for \(settings.this.name)")
            }
            endpoints = try ExecEndpointProvider(
                configuration: ExecEndpointConfiguration(program: program), runner: runner, logger: self.logger
            )
        }
        let client = ProtocolClient(
            configuration: ProtocolClientConfiguration(
                name: settings.this.name, key: key, connectTimeout: settings.lease.peerCheckDeadline, replyTimeout: .seconds(5),
                tls: tls
            ),
            logger: self.logger
        )
        let core = AgentCore(
            settings: settings, endpoints: endpoints, executor: executor, peers: AgentClient(client: client),
            logger: self.logger,
            clock: self.clock
        )
        // The connection limit and the first-frame deadline are the configuration's defaults (64, 2 s). No
        // allow-list (`allowedPeers`): the agent does not know the monitor's address. `<monitor>` is in
        // mmm_mon.conf, which the agent does not read, and its `ip` is where the monitor listens for mmm_control,
        // not necessarily where it connects from; a wrong list would cut the monitor off the writer it must fence.
        let server = AgentServer(
            configuration: ProtocolServerConfiguration(
                name: settings.this.name, host: settings.this.ip, port: settings.this.agentPort, key: key,
                replayWindow: self.replayWindow, tls: tls, monitorKey: settings.monitorKey
            ),
            handler: core,
            logger: self.logger
        )
        if settings.monitorKey == nil, settings.sharedSecret {
            self.logger.warning(
                "monitor_public_key is not set: any host that holds agent_secret can give this agent orders as the monitor; set monitor_public_key in mmm_common.conf (docs/configuration.md)",
                metadata: [LogKey.host: "\(settings.this.name)"]
            )
        }
        self.logger.notice(
            "Agent starting",
            metadata: [
                LogKey.host: "\(settings.this.name)", LogKey.address: "\(settings.this.ip):\(settings.this.agentPort)",
            ]
        )
        let privileges = PrivilegeGate(settings: settings, executor: executor)
        var checkedAtStart = true
        switch await privileges.check() {
        case .sufficient:
            break
        case .missing(let problems):
            try? await executor.shutdownGracefully()
            throw MMMError(
                .accessDenied,
                "\(settings.this.name): refusing to start: \(problems.joined(separator: "; ")) (docs/agent.md, \"Grants\")"
            )
        case .unchecked(let reason):
            // The agent must run even while its server is down (it drops VIPs and fences when the server returns).
            checkedAtStart = false
            self.logger.warning(
                "Could not check the accounts' privileges at start; checked again when the server answers",
                metadata: [LogKey.host: "\(settings.this.name)", LogKey.error: "\(reason)"]
            )
        }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.run() }
                if !checkedAtStart {
                    group.addTask { await cancelWhenGracefulShutdown { await Self.recheckPrivileges(privileges, logger: self.logger) } }
                }
                if let vip {
                    group.addTask { await cancelWhenGracefulShutdown { await vip.run() } }
                }
                group.addTask { await cancelWhenGracefulShutdown { await core.runConvergence() } }
                group.addTask { await cancelWhenGracefulShutdown { await core.runLease() } }
            }
        } catch {
            try? await executor.shutdownGracefully()
            throw error
        }
        try await executor.shutdownGracefully()
        self.logger.notice("Agent stopped; roles left as they are", metadata: [LogKey.host: "\(settings.this.name)"])
    }
}

extension AgentService {
    /// Until the privileges could be checked once (the server was down at start): every 5 s; a missing privilege is
    /// then logged as critical with the GRANT to run (the agent keeps running: it may be the only thing that can
    /// fence this host).
    static func recheckPrivileges(_ gate: PrivilegeGate, logger: Logger) async {
        while !Task.isCancelled {
            switch await gate.check() {
            case .sufficient:
                return
            case .missing(let problems):
                for problem in problems {
                    logger.critical("Missing privileges: promotion, fencing or repointing will fail", metadata: [LogKey.host: "\(gate.settings.this.name)", LogKey.error: "\(problem)"])
                }
                return
            case .unchecked:
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }
}

extension AgentService: CustomStringConvertible {
    /// What ServiceLifecycle logs when it starts the service: no secret.
    public var description: String { "AgentService(\(self.settings))" }
}
