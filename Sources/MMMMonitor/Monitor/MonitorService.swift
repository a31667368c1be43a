import Foundation
import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMSystem
import MMMTransport
import MariaDBClient
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `mmm_mond`'s work: checks every host, decides with the ``MMMCore/ClusterStateMachine``, tells the agents, answers
/// `mmm_control`, and persists the status.
///
/// One decision loop owns the state machine; every other task (the check scheduler, the ticker, the network
/// self-check, the per-agent status pushers and system-info pollers, promotions, control requests) posts
/// ``MonitorInput``s to it. After each input the loop executes the machine's actions, saves the status file if the
/// persisted state changed (write, fsync, rename, on a thread pool), and publishes each agent's status; a pusher per
/// agent sends it at once and then every ``MonitorSettings/statusInterval`` (each message is also the agent's
/// writer-lease renewal).
///
/// Start: the status file (if any) and what every agent reports (its state and roles, `read_only`, the role IPs on
/// its interface, its GTID state) go into the machine's startup resolution; then every agent gets its full status.
/// Graceful shutdown (SIGTERM) stops the loops and leaves every host's roles as they are.
public final class MonitorService: Service, ControlHandling, Sendable {
    /// The resolved configuration.
    public let settings: MonitorSettings
    /// The monitor's logger.
    let logger: Logger
    /// The state the decision loop shares with the background tasks.
    let shared = MonitorShared()
    /// The decision loop's control inbox while the loop runs.
    let controlLock = Mutex<ControlQueue?>(nil)

    /// The decision loop's control inbox (set while the loop runs).
    struct ControlQueue: Sendable {
        var post: @Sendable (MonitorInput) -> Void
    }

    /// The one clock the monitor reads.
    let clock: MMMClock

    /// Creates the service; `clock` is the one clock it reads (the system's in `mmm_mond`).
    public init(settings: MonitorSettings, logger: Logger, clock: MMMClock = .system) {
        self.settings = settings
        self.logger = logger
        self.clock = clock
    }

    /// Answers one `mmm_control` request through the decision loop.
    ///
    /// Returns an error response when the monitor is not running its loop (starting or stopping).
    public func handle(_ request: ControlRequest, from sender: String) async -> ControlResponse {
        guard let queue = self.controlLock.withLock({ $0 }) else {
            return ControlResponse(isError: true, text: "ERROR: the monitor is starting or stopping; try again.")
        }
        let response = await withCheckedContinuation { continuation in
            queue.post(.control(request, reply: { continuation.resume(returning: $0) }))
        }
        if request.verb == "errant", !response.isError, request.arguments.count == 1, let host = request.arguments.first {
            return ControlResponse(isError: false, text: response.text + (await self.binlogLocations(of: host)))
        }
        return response
    }

    /// Where `host`'s errant transactions are in its binlog, as lines for `errant HOST` (empty when it has none).
    func binlogLocations(of host: String) async -> String {
        let (ranges, executor) = self.shared.state.withLock { ($0.errant[host] ?? [], $0.executor) }
        guard !ranges.isEmpty, let executor, let target = self.settings.monitoredHosts.first(where: { $0.name == host })
        else { return "" }
        let gtids = BinlogLocator.lastGTIDs(of: ranges)
        do {
            let connection = try await MariaDBConnection.connect(
                MariaDBConfiguration(
                    name: host, host: target.ip, port: target.mysqlPort, user: target.monitorUser,
                    password: target.monitorPassword.revealed(), connectTimeout: .seconds(1), readTimeout: .seconds(5)
                ),
                on: executor
            )
            let found: [GTID: BinlogLocator.Location]
            do {
                found = try await BinlogLocator.locate(Set(gtids), on: connection, deadline: .seconds(5))
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            var lines = ["", "Last transaction of each range in \(host)'s binary log:"]
            for gtid in gtids {
                if let location = found[gtid] {
                    lines.append("  \(gtid)  \(location.file) at \(location.position)  (mysqlbinlog --start-position=\(location.position) \(location.file))")
                } else {
                    lines.append("  \(gtid)  not found in the last \(BinlogLocator.maximumFiles) binlog files")
                }
            }
            return lines.joined(separator: "\n") + "\n"
        } catch {
            return "\n(could not read \(host)'s binary logs: \(error))\n"
        }
    }

    /// Runs until graceful shutdown or cancellation.
    public func run() async throws {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        // Three kept connections per host (mysql, rep_threads, rep_backlog), capped: connects to hosts that do not
        // answer hold no thread (HostProber), so 1,000 hosts need no 6,000 threads (each costs its stack).
        let executor = MariaDBExecutor(
            numberOfThreads: MariaDBExecutor.boundedThreads(forConnections: self.settings.monitoredHosts.count * 3)
        )
        do {
            try await self.run(pool: pool, executor: executor)
        } catch {
            try? await executor.shutdownGracefully()
            try? await pool.shutdownGracefully()
            throw error
        }
        try await executor.shutdownGracefully()
        try await pool.shutdownGracefully()
    }

    /// Runs the monitor on `pool` (status file) and `executor` (MariaDB client calls) until cancelled.
    func run(pool: NIOThreadPool, executor: MariaDBExecutor) async throws {
        let statusDirectory = (self.settings.statusPath as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: statusDirectory.isEmpty ? "." : statusDirectory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw MMMError(
                .invalidConfiguration,
                "the directory of status_path \(self.settings.statusPath) does not exist; create it (mode 700) or set "
                    + "status_path in <monitor>"
            )
        }
        let tls = try self.settings.tls.map { try ProtocolTLS(files: $0) }
        let signingKey = try self.settings.loadSigningKey()
        if let signingKey {
            self.logger.notice("Orders to the agents are signed", metadata: [LogKey.monitorPublicKey: "\(signingKey.publicKey)"])
        } else if self.settings.sharedSecret {
            self.logger.warning(
                "monitor_public_key is not set: any host that holds agent_secret can give the agents orders as the monitor; run `mmm_mond --generate-signing-key <file>` and set monitor_signing_key and monitor_public_key (docs/configuration.md)"
            )
        }
        var links: [String: AgentLink] = [:]
        for (name, agent) in self.settings.agents {
            let client = ProtocolClient(
                configuration: ProtocolClientConfiguration(
                    name: MonitorSettings.protocolName,
                    key: agent.key,
                    connectTimeout: .seconds(1),
                    replyTimeout: .seconds(3),
                    tls: tls,
                    signingKey: signingKey
                ),
                logger: self.logger
            )
            links[name] = AgentLink(
                peer: agent.peer, client: AgentClient(client: client), writerRole: self.settings.topology.activeMasterRole,
                clock: self.clock
            )
        }
        self.shared.state.withLock { $0.executor = executor }
        defer { self.shared.state.withLock { $0.executor = nil } }
        // One socket and one thread for every host's pings: a thread per ping in flight would let hosts that do not
        // answer (each holds its thread for the whole deadline) delay the pings of those that do.
        let pinger = ICMPPinger(multiplexer: ICMPEchoMultiplexer())
        let runner = CommandRunner(pool: pool)
        let store = StatusStore<MonitorStatus>(path: self.settings.statusPath, clock: self.clock)
        let clock = self.clock

        let stored: MonitorStatus?
        do {
            stored = try await pool.runIfActive { try store.load() }
        } catch {
            self.logger.critical(
                "Status file unusable; starting as if there were none",
                metadata: [LogKey.error: "\(error)"]
            )
            stored = nil
        }
        for name in stored?.agentsRefusing ?? [] {
            // An agent that was not running when the last monitor process saw it is not waited out as a silent one.
            links[name]?.rememberRefused()
        }
        let observations = await self.observeAgents(links)
        var loop = DecisionLoop(
            settings: self.settings,
            stored: stored,
            observations: observations,
            clock: clock,
            logger: self.logger
        )
        for (host, observation) in observations.sorted(by: { $0.key < $1.key }) {
            self.logger.info(
                "Agent at startup",
                metadata: [
                    LogKey.host: "\(host)",
                    LogKey.state: "\(observation.startup.agentState?.rawValue ?? "unknown")",
                    LogKey.writable: "\(observation.startup.writable)",
                    LogKey.ips: "\(observation.startup.configuredIPs.joined(separator: ","))",
                ]
            )
        }

        let scheduler = CheckScheduler(
            probers: self.settings.monitoredHosts.map {
                HostProber(host: $0, checks: self.settings.checks, executor: executor, pinger: pinger, clock: self.clock)
            },
            checks: self.settings.checks,
            logger: self.logger,
            clock: self.clock
        )
        let (inputs, post) = AsyncStream.makeStream(of: MonitorInput.self)
        let wakes = Dictionary(uniqueKeysWithValues: self.settings.hostNames.map { host in
            (host, AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1)))
        })
        let postInput: @Sendable (MonitorInput) -> Void = { post.yield($0) }
        self.controlLock.withLock { $0 = ControlQueue(post: postInput) }
        defer { self.controlLock.withLock { $0 = nil } }

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await scheduler.run() }
                group.addTask {
                    for await event in scheduler.events {
                        if event.check == .mysql { self.noteMySQLCheck(event) }
                        post.yield(.check(event))
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.tickInterval)
                        post.yield(.tick)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.statusInterval)
                        for wake in wakes.values { wake.continuation.yield() }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.cadenceReportInterval)
                        if Task.isCancelled { break }
                        for report in scheduler.cadenceReport() { self.log(report) }
                    }
                }
                if !self.settings.pingIPs.isEmpty {
                    group.addTask { await self.runNetworkCheck(pinger: pinger, post: postInput) }
                }
                group.addTask { [links] in await self.runGTIDChecks(links: links, post: postInput) }
                for host in self.settings.hostNames {
                    guard let link = links[host], let wake = wakes[host] else { continue }
                    group.addTask { await self.runPusher(host: host, link: link, wakes: wake.stream, post: postInput) }
                    group.addTask { await self.runSystemInfoPoller(host: host, link: link, post: postInput) }
                    group.addTask { await self.runPositionPoller(host: host, link: link, post: postInput) }
                }

                // The decision loop: the only owner of the machine.
                let started = loop.started(at: clock.now)
                await self.execute(started, loop: &loop, links: links, runner: runner, group: &group, post: postInput)
                await self.persistAndPublish(loop: &loop, store: store, pool: pool, wakes: wakes)
                for await input in inputs {
                    if Task.isCancelled { break }
                    let actions = loop.apply(input, now: clock.now, shared: self.shared)
                    await self.execute(actions, loop: &loop, links: links, runner: runner, group: &group, post: postInput)
                    // Probe results and ticks are most inputs; without actions they changed nothing persisted or
                    // published (host states and roles change only through actions).
                    if !actions.isEmpty || !(input.isRoutine || loop.lastInputChangedNothing) {
                        await self.persistAndPublish(loop: &loop, store: store, pool: pool, wakes: wakes)
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.logger.notice("Shutting down: roles stay as they are")
            post.finish()
        }
        // Requests still queued get an answer rather than waiting forever.
        for await input in inputs {
            if case .control(_, let reply) = input {
                reply(ControlResponse(isError: true, text: "ERROR: the monitor is stopping."))
            }
        }
    }

    // MARK: - Startup

    /// What one agent reported at startup, with what the monitor's delivery bookkeeping needs.
    struct AgentObservation: Sendable {
        var startup: StartupObservation
        var answered: Bool
    }

    /// Asks every agent, concurrently and each within 3 s, for its state, its host's system facts and GTID state.
    func observeAgents(_ links: [String: AgentLink]) async -> [String: AgentObservation] {
        await withTaskGroup(of: (String, AgentObservation).self) { group in
            for (host, link) in links {
                group.addTask {
                    var observation = StartupObservation()
                    var answered = false
                    if case .agentStatus(let status)? = try? await link.send(.getAgentStatus, replyTimeout: .seconds(3)) {
                        observation.agentState = status.state
                        observation.agentRoles = status.roles
                        answered = true
                    }
                    if case .systemInfo(let info)? = try? await link.send(.getSystemInfo, replyTimeout: .seconds(3)) {
                        observation.writable = info.writable
                        observation.configuredIPs = info.rolesOnInterface.map(\.ip)
                        answered = true
                    } else {
                        // Unknown: it may be writable; the writer role is fenced or waited out before it moves.
                        observation.writable = false
                    }
                    if case .gtidPositions(let positions)? = try? await link.send(.getGTIDPositions, replyTimeout: .seconds(3)) {
                        observation.gtidBinlogState = try? GTIDBinlogState(parsing: positions.binlogState)
                    }
                    return (host, AgentObservation(startup: observation, answered: answered))
                }
            }
            var result: [String: AgentObservation] = [:]
            for await (host, observation) in group { result[host] = observation }
            return result
        }
    }
}

/// State the decision loop publishes for the other tasks of ``MonitorService``.
struct MonitorSharedState: Sendable {
    /// The status each agent is to be sent.
    var desired: [String: SetStatus] = [:]
    /// The token of the promotion in progress (any other token is stale).
    var promotionToken: UInt64 = 0
    /// Hosts being fenced or waited out: nothing that renews their writer lease is sent to them.
    var fencing: Set<String> = []
    /// ``StatusPlan/writerToldCount`` as last published (a system-info poll sends it along with its answer).
    var writerToldCount: [String: Int] = [:]
    /// Hosts whose last `mysql` check failed. Their agents would spend a request waiting on the server (a frozen
    /// `mariadbd` holds a system-info read for its full deadline), and an agent answers one request at a time: the
    /// pollers leave them alone so that a fence order is not queued behind such a wait.
    var mysqlFailing: Set<String> = []
    /// The writer and the hosts to compare with it (see ``DecisionLoop/cleared``).
    var gtidChecks: (writer: String, hosts: [String])?
    /// Each host's errant transactions as the machine knows them (for `errant HOST`).
    var errant: [String: [String]] = [:]
    /// The MariaDB executor while the service runs (for `errant HOST`'s binlog lookup).
    var executor: MariaDBExecutor?
}

/// The ``MonitorSharedState`` behind a lock, shared by reference.
final class MonitorShared: Sendable {
    /// The state.
    let state = Mutex(MonitorSharedState())
}
