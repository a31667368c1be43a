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
    private let logger: Logger
    private let shared = MonitorShared()
    private let controlLock = Mutex<ControlQueue?>(nil)

    /// The decision loop's control inbox (set while the loop runs).
    private struct ControlQueue: Sendable {
        var post: @Sendable (MonitorInput) -> Void
    }

    private let clock: MMMClock

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
    private func binlogLocations(of host: String) async -> String {
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

    private func run(pool: NIOThreadPool, executor: MariaDBExecutor) async throws {
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
    private func observeAgents(_ links: [String: AgentLink]) async -> [String: AgentObservation] {
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

    // MARK: - Executing actions

    private func execute(
        _ actions: [ClusterAction],
        loop: inout DecisionLoop,
        links: [String: AgentLink],
        runner: CommandRunner,
        group: inout ThrowingDiscardingTaskGroup<any Error>,
        post: @escaping @Sendable (MonitorInput) -> Void
    ) async {
        for action in actions {
            switch action {
            case .hostStateChanged(let host, let transition):
                let metadata: Logger.Metadata = [
                    LogKey.host: "\(host)", LogKey.from: "\(transition.from.rawValue)",
                    LogKey.to: "\(transition.to.rawValue)", LogKey.rule: "\(transition.rule)",
                ]
                if transition.flapDetected {
                    self.logger.critical("Host is flapping", metadata: metadata)
                }
                self.logger.notice(
                    "State of host '\(host)' changed from \(transition.from.rawValue) to \(transition.to.rawValue)",
                    metadata: metadata
                )
            case .removeRoles(let host, let roles):
                self.logger.notice(
                    "Removing roles from host",
                    metadata: [LogKey.host: "\(host)", LogKey.role: "\(roles.map(\.description).joined(separator: ","))"]
                )
            case .addRoles(let host, let roles):
                self.logger.notice(
                    "Adding roles to host",
                    metadata: [LogKey.host: "\(host)", LogKey.role: "\(roles.map(\.description).joined(separator: ","))"]
                )
            case .drainThenPromote(let host, let previousWriter):
                let run = loop.beginPromotion(
                    of: host, previousWriter: previousWriter,
                    cause: Self.promotionCause(previousWriter: previousWriter, actions: actions, command: loop.lastCommand),
                    links: links, shared: self.shared, runner: runner, post: post
                )
                self.logger.notice(
                    "Promoting host to writer: fencing the others, then draining it",
                    metadata: [
                        LogKey.host: "\(host)", LogKey.previous: "\(previousWriter ?? "none")",
                        LogKey.fencing: "\(run.claimed.joined(separator: ","))",
                    ]
                )
                Failpoint.promotionStarted.hit()
                group.addTask { await run.run() }
            case .cancelDrain(let host):
                loop.cancelPromotion(of: host, shared: self.shared)
                self.logger.notice("Promotion called off", metadata: [LogKey.host: "\(host)"])
            case .promote(let host, let role):
                loop.promoted(host, role: role)
                Failpoint.promoted.hit()
                self.logger.notice("Host is the writer", metadata: [LogKey.host: "\(host)", LogKey.role: "\(role)"])
            case .repointReplicas(let writer, let replicas):
                self.logger.notice(
                    "Replicas follow the new writer",
                    metadata: [LogKey.host: "\(writer)", LogKey.replicas: "\(replicas.joined(separator: ","))"]
                )
            case .crossCheckWriter(let host, let via):
                self.logger.warning(
                    "The monitor cannot reach the writer: asking other hosts whether they can",
                    metadata: [LogKey.host: "\(host)", LogKey.via: "\(via.joined(separator: ","))"]
                )
                // A writer that has heard nothing from the monitor for longer than its lease has fenced itself (its
                // peers hear the monitor): peers that still reach its server must not keep the cluster without one.
                if let link = links[host] {
                    // Attempts still connecting do not count here (one is nearly always in flight to a cut-off
                    // host); the promotion still waits for the lease by every attempt that may yet arrive.
                    let silent = self.clock.now - link.lastRenewalDelivered
                    // An agent that refuses connections is not running: nothing on that host keeps a lease, so its
                    // silence proves no fence (bench finding 4); the cross-check decides as for any writer.
                    if !link.agentRefusing, silent >= self.settings.lease.timeout + self.settings.lease.maximumClockSkew {
                        self.logger.warning(
                            "The writer's lease has run out (no monitor message reached it): failing over whatever its peers see",
                            metadata: [LogKey.host: "\(host)", LogKey.silentMilliseconds: "\(silent.components.seconds * 1000)"]
                        )
                        post(.writerCrossChecked(host: host, reachableFrom: [], unreachableFrom: via, leaseRanOut: true))
                        continue
                    }
                }
                let askers = via.compactMap { name in links[name].map { (name, $0) } }
                group.addTask { await Self.crossCheck(host, via: askers, post: post) }
            case .crossCheckVetoed(let host, let by):
                self.logger.warning(
                    "The monitor cannot reach the writer but \(by.joined(separator: ", ")) can: no failover",
                    metadata: [LogKey.host: "\(host)"]
                )
            case .modeChanged(let from, let to):
                self.logger.notice("Monitor mode changed from \(from.rawValue) to \(to.rawValue)")
            case .sendStatusToAll(let hosts):
                self.logger.info("Sending every agent its status", metadata: [LogKey.hosts: "\(hosts.joined(separator: ","))"])
            }
        }
    }

    /// Asks each agent of `via`, concurrently and each within 3 s, whether it can reach `host`'s mysqld (a fresh
    /// connection and `SELECT 1` from that host), and posts all the answers at once; a silent agent is in neither list.
    static func crossCheck(
        _ host: String,
        via: [(String, AgentLink)],
        post: @escaping @Sendable (MonitorInput) -> Void
    ) async {
        let answers = await withTaskGroup(of: (String, ReachReport?).self) { group in
            for (name, link) in via {
                group.addTask {
                    let answer = try? await link.send(.canReach(ReachQuery(host: host, service: .mysql)), replyTimeout: .seconds(3))
                    guard case .reachability(let report)? = answer, report.host == host else { return (name, nil) }
                    return (name, report)
                }
            }
            var answers: [(String, ReachReport?)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        // Only a writer that takes writes vetoes: one found read-only fenced itself under its lease (it stopped
        // hearing the monitor while its peers did), and keeping it would leave the cluster without a writer.
        post(
            .writerCrossChecked(
                host: host,
                reachableFrom: answers.filter { $0.1.map { $0.reachable && $0.readOnly != true } == true }.map(\.0).sorted(),
                unreachableFrom: answers.filter { $0.1?.reachable == false }.map(\.0).sorted(),
                readOnlyFrom: answers.filter { $0.1.map { $0.reachable && $0.readOnly == true } == true }.map(\.0).sorted()
            )
        )
    }

    /// Why a promotion began: the previous writer's state change in the same batch, else the operator's command.
    static func promotionCause(previousWriter: String?, actions: [ClusterAction], command: String?) -> String {
        for action in actions {
            if case .hostStateChanged(let host, let transition) = action, host == previousWriter {
                return "\(host) went from \(transition.from.rawValue) to \(transition.to.rawValue) (\(transition.rule))"
            }
        }
        if let command { return "mmm_control \(command)" }
        return previousWriter.map { "the writer role left \($0)" } ?? "the writer role had no holder"
    }

    private func persistAndPublish(
        loop: inout DecisionLoop,
        store: StatusStore<MonitorStatus>,
        pool: NIOThreadPool,
        wakes: [String: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)]
    ) async {
        if let status = loop.statusToSave() {
            do {
                try await pool.runIfActive { try store.save(status) }
                loop.saved(status)
            } catch {
                self.logger.error("Could not save the status file", metadata: [LogKey.error: "\(error)"])
            }
        }
        let changed = loop.publishDesiredStatuses(into: self.shared)
        for host in changed { wakes[host]?.continuation.yield() }
    }

    // MARK: - Background tasks

    /// Sends `host` its current status whenever it changes and every status interval.
    ///
    /// An agent that could not even be connected to is retried less often while its status stays the same and does
    /// not let it write: after each such failure the wait doubles, from the status interval up to
    /// ``AgentBackoff/maximum``. A changed status is sent at once, and a status with the writer role every interval
    /// whatever happened (each one renews the writer's lease). So dead hosts cost the monitor little.
    private func runPusher(
        host: String,
        link: AgentLink,
        wakes: AsyncStream<Void>,
        post: @escaping @Sendable (MonitorInput) -> Void
    ) async {
        var backoff = AgentBackoff(base: self.settings.statusInterval)
        var lastTried: SetStatus?
        for await _ in wakes {
            if Task.isCancelled { return }
            guard let status = self.shared.state.withLock({ $0.desired[host] }) else { continue }
            let now = self.clock.now
            if status == lastTried, !link.renewsWriterLease(.setStatus(status)), !backoff.mayTry(at: now) { continue }
            lastTried = status
            do {
                let answer = try await link.send(.setStatus(status), replyTimeout: .seconds(2))
                backoff.succeeded()
                switch answer {
                case .statusApplied(let applied):
                    post(.delivered(host: host, sent: status, answer: applied))
                case .failed(let failure):
                    post(.deliveryFailed(host: host, reason: "\(failure.code): \(failure.message)"))
                default:
                    post(.deliveryFailed(host: host, reason: "unexpected answer"))
                }
            } catch is CancellationError {
                return
            } catch {
                if ProtocolClient.failedBeforeSending(error) { backoff.failed(at: now) } else { backoff.succeeded() }
                post(.deliveryFailed(host: host, reason: "\(error)"))
            }
        }
    }

    /// Records whether `event`'s host answered its last `mysql` check (``MonitorSharedState/mysqlFailing``).
    private func noteMySQLCheck(_ event: CheckEvent) {
        // Only a failed probe counts; an unknown one (error 1040, too many connections) clears it, so that one slow
        // probe cannot leave the host unpolled for good.
        let failing: Bool
        switch event.outcome {
        case .ok, .unknown: failing = false
        case .failed: failing = true
        }
        self.shared.state.withLock { state in
            if failing { state.mysqlFailing.insert(event.host) } else { state.mysqlFailing.remove(event.host) }
        }
    }

    /// Asks `host` every few seconds which role IPs it really holds and whether its server is writable.
    private func runSystemInfoPoller(host: String, link: AgentLink, post: @escaping @Sendable (MonitorInput) -> Void) async {
        await self.poll(host, link, every: self.settings.systemInfoInterval, .getSystemInfo) { answer, toldCount in
            guard case .systemInfo(let info) = answer else { return }
            post(.systemInfo(host: host, info, toldCount: toldCount))
        }
    }

    /// Asks `host` every second for its replication positions (`Gtid_IO_Pos`, `gtid_slave_pos`, `gtid_binlog_pos`),
    /// which rank writer candidates (DESIGN.md §4 step 3).
    private func runPositionPoller(host: String, link: AgentLink, post: @escaping @Sendable (MonitorInput) -> Void) async {
        await self.poll(host, link, every: self.settings.positionsInterval, .getGTIDPositions) { answer, _ in
            guard case .gtidPositions(let reported) = answer else { return }
            do {
                let positions = try ReplicationPositions(
                    receivedPosition: reported.receivedPosition, slavePosition: reported.slavePosition,
                    binlogPosition: reported.binlogPosition
                )
                post(.positions(host: host, positions))
            } catch {
                self.logger.debug("Could not read a host's replication positions", metadata: [LogKey.host: "\(host)", LogKey.error: "\(error)"])
            }
        }
    }

    /// Sends `request` to `host` every `interval` and hands the answer (with the writer-told count read before it was
    /// sent) to `handle`. Not while the host is being fenced (a query renews the agent's writer lease, which must be
    /// allowed to run out), nor while its `mysql` check fails (the agent would wait on the server). An agent that
    /// cannot be connected to is asked less often (up to ``AgentBackoff/maximum`` apart).
    private func poll(
        _ host: String,
        _ link: AgentLink,
        every interval: Duration,
        _ request: AgentRequest,
        handle: (AgentResponse, Int) -> Void
    ) async {
        var backoff = AgentBackoff(base: interval)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = self.clock.now
            guard !self.shared.state.withLock({ $0.fencing.contains(host) || $0.mysqlFailing.contains(host) }),
                backoff.mayTry(at: now)
            else { continue }
            let toldCount = self.shared.state.withLock { $0.writerToldCount[host] ?? 0 }
            do {
                handle(try await link.send(request, replyTimeout: .seconds(3)), toldCount)
                backoff.succeeded()
            } catch {
                if ProtocolClient.failedBeforeSending(error) { backoff.failed(at: now) } else { backoff.succeeded() }
            }
        }
    }

    /// Compares, every second, each host the decision loop names with the writer: the host's `gtid_binlog_state`
    /// first, then the writer's (read after, it has every transaction of its own that the host has), so that a
    /// transaction only the host has is errant, never the writer's own newer ones (fact R1: per domain and server_id).
    private func runGTIDChecks(links: [String: AgentLink], post: @escaping @Sendable (MonitorInput) -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard let (writer, hosts, failing) = self.shared.state.withLock({ state in state.gtidChecks.map { ($0.writer, $0.hosts, state.mysqlFailing) } }),
                !failing.contains(writer), let writerLink = links[writer]
            else { continue }
            // Every host first, then the writer once: read after them, the writer has every transaction of its own
            // that any of them has (one request to the writer per sweep, not one per host).
            var hostStates: [(String, GTIDBinlogState)] = []
            for host in hosts where !failing.contains(host) {
                guard let link = links[host], let hostState = try? await Self.binlogState(of: link) else { continue }
                hostStates.append((host, hostState))
            }
            guard !hostStates.isEmpty, let writerState = try? await Self.binlogState(of: writerLink) else { continue }
            for (host, hostState) in hostStates {
                post(.gtidChecked(writer: writer, host: host, errant: hostState.ranges(notIn: writerState).map(\.description)))
            }
        }
    }

    private static func binlogState(of link: AgentLink) async throws -> GTIDBinlogState {
        guard case .gtidPositions(let positions) = try await link.send(.getGTIDPositions, replyTimeout: .seconds(3)) else {
            throw MMMError(.unexpectedResult, "\(link.peer.name) did not report its GTID positions")
        }
        return try GTIDBinlogState(parsing: positions.binlogState)
    }

    /// Logs one check's cadence: `info`, or `warning` when the checks of hosts that answer fell behind (the monitor
    /// itself is too slow).
    private func log(_ report: CheckCadenceReport) {
        func milliseconds(_ duration: Duration) -> String {
            let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
            return String(format: "%.1f", value)
        }
        var metadata: Logger.Metadata = [
            LogKey.check: "\(report.check.rawValue)",
            LogKey.periodMilliseconds: "\(milliseconds(report.period))",
            LogKey.windowSeconds: "\(report.window.components.seconds)",
        ]
        for (name, group) in [("passing", report.passing), ("failing", report.failing)] {
            metadata["mmm.\(name).hosts"] = "\(group.hosts)"
            metadata["mmm.\(name).intervals"] = "\(group.intervals)"
            metadata["mmm.\(name).median_ms"] = "\(milliseconds(group.median))"
            metadata["mmm.\(name).p99_ms"] = "\(milliseconds(group.p99))"
            metadata["mmm.\(name).max_ms"] = "\(milliseconds(group.maximum))"
            metadata["mmm.\(name).skipped_ticks"] = "\(group.skippedTicks)"
            metadata["mmm.\(name).guard_expired"] = "\(group.guardExpired)"
        }
        if report.passingFellBehind {
            self.logger.warning("Check cadence: the checks of answering hosts fell behind their period", metadata: metadata)
        } else {
            self.logger.info("Check cadence", metadata: metadata)
        }
    }

    /// The network self-check: the monitor has network while any of `ping_ips` answers.
    private func runNetworkCheck(pinger: ICMPPinger, post: @escaping @Sendable (MonitorInput) -> Void) async {
        let deadline = min(self.settings.pingInterval, .seconds(1))
        while !Task.isCancelled {
            let available = await withTaskGroup(of: Bool.self) { group in
                for ip in self.settings.pingIPs {
                    group.addTask { (try? await pinger.ping(ip, deadline: deadline)) != nil }
                }
                var any = false
                for await answered in group where answered { any = true }
                return any
            }
            post(.network(available: available))
            try? await Task.sleep(for: self.settings.pingInterval)
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
