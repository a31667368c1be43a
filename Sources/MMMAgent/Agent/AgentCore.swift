import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMTransport
import MariaDBClient
import NIOConcurrencyHelpers
import MMMSystem

extension AgentRequest {
    /// True for `setStatus`, which renews the lease with the roles it carries.
    fileprivate var isSetStatus: Bool {
        if case .setStatus = self { return true }
        return false
    }
}

/// The agent itself: answers the monitor and its peers, keeps the writer lease, and converges its host to the roles
/// the monitor asked for (``AgentPlanner``), one step at a time, each with a deadline.
///
/// State shared between the request handler, the convergence loop and the lease loop sits in one lock; no I/O is
/// done while holding it.
public final class AgentCore: AgentRequestHandling, Sendable {
    /// The protocol name the monitor uses as sender.
    public static let monitorName = "monitor"

    /// What the agent knows and decided, behind ``state``'s lock.
    struct State {
        /// The agent's decisions (MMMCore): status, lease, fence orders, what a round may do.
        var machine: AgentStateMachine
        var lastError: String?
        /// When the IO thread was last restarted to pick up `rpl_semi_sync_slave_enabled`.
        var lastSemiSyncIORestart: MonitorInstant?
        /// The semi-sync state last logged, so that it is logged when it changes only.
        var lastSemiSyncReport: String?
    }

    /// The resolved settings.
    public let settings: AgentSettings
    /// The agent's state, locked: read and changed by requests, rounds and the lease's ticks.
    let state: NIOLockedValueBox<State>
    /// The one clock the agent reads.
    let clock: MMMClock
    /// Adds, drops and reads the role IPs.
    let endpoints: any EndpointProvider
    /// Writer-IP changes and the promotion's `read_only=OFF` one at a time with a fence order's IP drop (which comes
    /// before its `read_only=ON`): a fence that arrives while the writer IP is being taken waits for that to end,
    /// then finds the IP and drops it; a promotion that reaches `read_only=OFF` after a fence order is refused.
    /// Otherwise a take could finish after the fence answered (and the next writer, handed the IP without a probe,
    /// would share it), or a promotion could undo the fence.
    let writerIPChanges = SerialAccess()
    /// Runs the blocking MariaDB client calls.
    let executor: MariaDBExecutor
    /// Fences, drains and promotes the local server.
    let writeControl: WriteControl
    /// Repoints the local server's replication.
    let replication: ReplicationControl
    /// Reads the local server and interface for a round.
    let observer: LocalObserver
    /// Asks the peer agents (the lease's question, fence orders to a peer's server).
    let peers: AgentClient
    /// The agent's logger.
    let logger: Logger
    /// Wakes the convergence loop (a new status, a fence, the lease).
    let wakeups: AsyncStream<Void>
    /// Sends to ``wakeups``.
    let wake: AsyncStream<Void>.Continuation

    /// Creates the agent from its settings and the parts it drives; `clock` is the one clock it reads.
    public init(
        settings: AgentSettings,
        endpoints: any EndpointProvider,
        executor: MariaDBExecutor,
        peers: AgentClient,
        logger: Logger,
        clock: MMMClock = .system
    ) {
        self.clock = clock
        self.settings = settings
        self.state = NIOLockedValueBox(
            State(
                machine: AgentStateMachine(
                    identity: AgentStateMachine.Identity(this: settings.this.name, writerRole: settings.writerRole, roleIPs: settings.roleIPs),
                    lease: settings.lease
                )
            )
        )
        self.endpoints = endpoints
        self.executor = executor
        self.writeControl = WriteControl(configuration: settings.database, executor: executor, logger: logger, clock: clock)
        self.replication = ReplicationControl(configuration: settings.database, executor: executor, logger: logger, clock: clock)
        self.observer = LocalObserver(
            roleIPs: settings.roleIPs,
            hostNamesByIP: Dictionary(settings.allHosts.map { ($0.ip, $0.name) }, uniquingKeysWith: { first, _ in first }),
            endpoints: endpoints,
            database: settings.database,
            executor: executor
        )
        self.peers = peers
        self.logger = logger
        (self.wakeups, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The agent's monotonic time as the core's instants.
    func now() -> MonitorInstant {
        self.clock.now
    }

    /// Milliseconds since the agent started (its answer to a ping).
    var uptimeMilliseconds: UInt64 {
        UInt64(max(0, self.clock.now.sinceOrigin.milliseconds))
    }

    // MARK: - Requests

    /// Answers one protocol request (see ``AgentRequestHandling``).
    public func handle(_ request: AgentRequest, from sender: String) async -> AgentResponse {
        do {
            return try await self.answer(request, from: sender)
        } catch let error as MMMError {
            return .failed(AgentFailure(error))
        } catch {
            return .failed(AgentFailure(MMMError(.commandFailed, "\(error)")))
        }
    }

    /// Answers one request; errors become the `failed` answer in ``handle(_:from:)``.
    func answer(_ request: AgentRequest, from sender: String) async throws -> AgentResponse {
        await self.fenceIfStalled()
        // Every monitor message proves the monitor reaches this host (DESIGN §6); set status renews with its roles.
        if sender == Self.monitorName, !request.isSetStatus { self.heardMonitor() }
        switch request {
        case .ping:
            return .pong(AgentPong(uptimeMilliseconds: self.uptimeMilliseconds))
        case .setStatus(let status):
            try self.requireMonitor(sender, for: "set status")
            try self.requireConfiguredRoles(status.roles + status.handedOver)
            let now = self.now()
            let order = AgentStateMachine.Status(
                state: status.state, roles: status.roles, activeMaster: status.activeMaster, epoch: status.epoch,
                handedOver: Set(status.handedOver.map(\.ip))
            )
            self.state.withLockedValue { _ = $0.machine.statusReceived(order, at: now) }
            self.wake.yield()
            return .statusApplied(self.agentStatus())
        case .getAgentStatus:
            return .agentStatus(self.agentStatus())
        case .getSystemInfo:
            let database = try await self.observer.readDatabase()
            // The interface and the intent to hold the writer role are read together while no writer-IP take or fence
            // runs, so that "not wanted and not held" cannot hide a take in progress (the monitor hands the IP over on
            // that word).
            let (wantsWriter, heldIPs) = try await self.writerIPChanges.run { () -> (Bool, Set<String>) in
                (self.writerRoleWanted, try await self.observer.heldIPs(deadline: .seconds(2)))
            }
            // The wire carries a host name or an IP (the protocol's field), not host:port.
            let source = database.replicas.first { $0.connectionName.isEmpty }.map(\.masterHost)
            return .systemInfo(
                SystemInfo(
                    writable: !database.facts.readOnly, rolesOnInterface: self.settings.roleIPs.filter { heldIPs.contains($0.ip) },
                    replicationSource: source, uptimeMilliseconds: self.uptimeMilliseconds, wantsWriterRole: wantsWriter
                )
            )
        case .clearBadRoles:
            return .badRolesCleared([])
        case .getDrainStatus:
            let database = try await self.observer.readDatabase()
            let source = database.replicas.first { $0.connectionName.isEmpty }
            return .drainStatus(
                DrainStatus(
                    drained: source?.isDrained ?? true,
                    receivedPosition: source?.gtidIOPos.description ?? "",
                    appliedPosition: database.facts.gtidSlavePos.description,
                    ioThreadRunning: source?.ioThread == .yes,
                    sqlThreadRunning: source?.sqlThreadRunning ?? false,
                    lastSQLErrorNumber: UInt32(clamping: source?.lastSQLErrno ?? 0)
                )
            )
        case .getGTIDPositions:
            let database = try await self.observer.readDatabase()
            let source = database.replicas.first { $0.connectionName.isEmpty }
            return .gtidPositions(
                GTIDPositions(
                    binlogPosition: database.facts.gtidBinlogPos.description,
                    binlogState: database.facts.gtidBinlogState.description,
                    currentPosition: database.facts.gtidCurrentPos.description,
                    slavePosition: database.facts.gtidSlavePos.description,
                    receivedPosition: source?.gtidIOPos.description ?? ""
                )
            )
        case .canReach(let query):
            return .reachability(try await self.reach(query))
        case .fence(let order):
            try self.requireMonitor(sender, for: "fence")
            guard order.target == self.settings.this.name else {
                return .fenced(try await self.fencePeer(order))
            }
            return .fenced(try await self.fenceNow(reason: order.reason, epoch: order.epoch))
        }
    }

    /// Every role IP a status names must be one the config gives this cluster: whoever can sign a status could
    /// otherwise make this host `ip addr add` and announce any address (a review item of issue 11). Nothing of a
    /// refused status is applied.
    func requireConfiguredRoles(_ roles: [RoleIP]) throws {
        let known = Set(self.settings.roleIPs)
        guard let unknown = roles.first(where: { !known.contains($0) }) else { return }
        throw MMMError(
            .accessDenied,
            "status refused: role IP \(unknown) is not a role of this cluster in mmm_common.conf (known: \(self.settings.roleIPs.map(\.description).joined(separator: ", "))); check that monitor and agents read the same config"
        )
    }

    /// Refuses `what` unless the monitor sent it.
    func requireMonitor(_ sender: String, for what: String) throws {
        guard sender == Self.monitorName else {
            throw MMMError(.accessDenied, "\(what) is accepted from the monitor only, not from '\(sender)'")
        }
    }

    /// Renews the lease: any monitor message proves the monitor reaches this host. Only a status gives roles
    /// (``WriterLease/monitorMessageReceived(sentAt:at:)``): a fenced writer stays fenced whatever else arrives.
    func heardMonitor() {
        let now = self.now()
        self.state.withLockedValue { $0.machine.monitorMessageReceived(at: now) }
    }

    /// The agent's status as it reports it.
    func agentStatus() -> AgentStatus {
        self.state.withLockedValue { state in
            AgentStatus(
                state: state.machine.hostState, roles: state.machine.roles, activeMaster: state.machine.activeMaster,
                epoch: state.machine.epoch, uptimeMilliseconds: self.uptimeMilliseconds,
                lastError: String((state.lastError ?? "").prefix(1000)), fencedAwaitingEpoch: state.machine.fencedAwaitingEpoch
            )
        }
    }

    /// Answers a peer's or the monitor's question whether this host reaches a server or the monitor.
    func reach(_ query: ReachQuery) async throws -> ReachReport {
        switch query.service {
        case .monitor:
            let now = self.now()
            let (lastHeard, answer) = self.state.withLockedValue { ($0.machine.lastHeardMonitor, $0.machine.peerAnswer(at: now)) }
            return ReachReport(
                host: query.host, service: .monitor, reachable: answer == .hearsMonitor,
                lastContactMilliseconds: lastHeard.map { UInt64(max(0, $0.duration(to: now).milliseconds)) },
                detail: answer == .hearsMonitor ? "heard the monitor within the lease" : "lost the monitor"
            )
        case .mysql:
            guard let host = self.settings.host(named: query.host) else {
                throw MMMError(.invalidArgument, "unknown host '\(query.host)'")
            }
            var target = self.settings.database(of: host)
            target.connectTimeout = Self.reachDeadline
            return await self.reachServer(host.name, target)
        case .agent:
            guard let host = self.settings.host(named: query.host) else {
                throw MMMError(.invalidArgument, "unknown host '\(query.host)'")
            }
            do {
                _ = try await self.peers.send(.ping, to: ProtocolPeer(name: host.name, host: host.ip, port: host.agentPort), replyTimeout: .seconds(1))
                return ReachReport(host: host.name, service: .agent, reachable: true, lastContactMilliseconds: nil, detail: "ping answered")
            } catch {
                return ReachReport(host: host.name, service: .agent, reachable: false, lastContactMilliseconds: nil, detail: "\(error)")
            }
        }
    }

    /// The cross-check's question about `name`'s server: does it take a connection, and is `read_only` ON?
    ///
    /// Only a failed connect (twice when the first failed fast) is "unreachable" (the monitor may then skip fencing it
    /// over SQL through this host). A server that took a connection but whose query failed (a fence killing
    /// sessions, a statement timeout) is reachable with `read_only` unknown: alive, so it vetoes the failover until
    /// the next cross-check.
    func reachServer(_ name: String, _ target: MariaDBConfiguration) async -> ReachReport {
        var failure = ""
        let started = self.clock.now
        for attempt in 0..<2 {
            let connection: MariaDBConnection
            do {
                connection = try await MariaDBConnection.connect(target, on: self.executor)
            } catch {
                // A connect that failed fast may have been a session killed in its handshake (a writer fencing itself
                // kills client sessions): once more. One that timed out is not repeated.
                if attempt == 0, self.clock.now - started < .milliseconds(500) {
                    failure = "\(error)"
                    continue
                }
                self.logger.notice(
                    "Cross-check: cannot connect to a peer's server",
                    metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.peer: "\(name)", LogKey.error: "\(error)"]
                )
                return ReachReport(host: name, service: .mysql, reachable: false, detail: "\(error)")
            }
            do {
                // NULL (never seen) stays unknown: alive, so it vetoes.
                let readOnly = try await connection.query("SELECT @@read_only AS ro", deadline: Self.reachDeadline)
                    .singleRow("read_only").bool("ro")
                await connection.close()
                return ReachReport(
                    host: name, service: .mysql, reachable: true,
                    detail: "it answers with read_only \(readOnly.map { $0 ? "ON" : "OFF" } ?? "unknown")", readOnly: readOnly
                )
            } catch {
                await connection.close()
                failure = "\(error)"
            }
        }
        return ReachReport(host: name, service: .mysql, reachable: true, detail: "connected, but read_only could not be read: \(failure)")
    }

    /// Fences at once (monitor order). The writer role leaves the desire, so that convergence never takes it back and
    /// fences the server (`read_only=ON`) as soon as it answers again; then, in this order:
    /// 1. every writer IP this host holds is dropped, bounded by ``fenceOrderIPDeadline`` each; this does not depend
    ///    on `mariadbd`, so it works when the server is dead or hung;
    /// 2. `read_only=ON` and the client sessions killed, one attempt bounded by ``fenceOrderSQLDeadline``.
    ///
    /// The answer says what holds (docs/agent.md, "Fence order"): `readOnly` is true only when `read_only` was read
    /// back ON; false with the writer IP dropped means nobody can write through the VIP, but the server itself could
    /// not be made read-only (it is down or hung). Only a writer IP that could not be dropped makes it fail.
    func fenceNow(reason: String, epoch: UInt64) async throws -> MMMProtocol.FenceReport {
        let now = self.now()
        self.state.withLockedValue { $0.machine.fenceOrderReceived(epoch: epoch, at: now) }
        self.logger.warning("Fencing on the monitor's order", metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.error: "\(reason)"])
        let writerIPs = self.settings.roleIPs.filter { $0.role == self.settings.writerRole }
        let (dropped, dropFailures) = try await self.writerIPChanges.run { () -> ([RoleIP], [String]) in
            var dropped: [RoleIP] = []
            var dropFailures: [String] = []
            for roleIP in writerIPs {
                do {
                    // When the provider cannot say, the release runs anyway (it is idempotent).
                    let held = (try? await self.endpoints.holds(role: roleIP.role, ip: roleIP.ip, deadline: Self.fenceOrderIPDeadline)) ?? true
                    guard held else { continue }
                    try await self.endpoints.release(role: roleIP.role, ip: roleIP.ip, deadline: Self.fenceOrderIPDeadline)
                    dropped.append(roleIP)
                } catch {
                    dropFailures.append("\(roleIP.ip): \(error)")
                }
            }
            return (dropped, dropFailures)
        }
        self.wake.yield()
        guard dropFailures.isEmpty else {
            let message = "fence of \(self.settings.this.name): could not drop the writer IP (\(dropFailures.joined(separator: "; "))); clients may still reach this host through it"
            self.recordError(message)
            throw MMMError(.commandFailed, message)
        }
        let sqlStarted = self.clock.now
        do {
            let report: MMMAgent.FenceReport
            do {
                report = try await self.writeControl.fence(
                    FenceOptions(sparedUsers: self.settings.sparedUsers, maxAttempts: 1, deadline: Self.fenceOrderSQLDeadline)
                )
            } catch let error as MMMError where [.connectionLost, .connectionFailed].contains(error.code)
                && self.clock.now - sqlStarted < Self.fenceOrderSQLDeadline / 2
            {
                // A connection lost in its handshake is most often this host's own convergence round fencing at the
                // same moment (the status without the writer role came first): it kills every client session, ours
                // included. Once more with what is left; a server that is really down fails again at once.
                report = try await self.writeControl.fence(
                    FenceOptions(
                        sparedUsers: self.settings.sparedUsers, maxAttempts: 1,
                        deadline: Self.fenceOrderSQLDeadline - (self.clock.now - sqlStarted)
                    )
                )
            }
            return MMMProtocol.FenceReport(
                target: self.settings.this.name, readOnly: true, sessionsKilled: UInt32(clamping: report.killedSessions.count),
                rolesDropped: dropped
            )
        } catch {
            self.logger.critical(
                "Fence order: writer IP dropped, but the local server could not be made read-only; convergence fences it when it answers again",
                metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.error: "\(error)"]
            )
            self.recordError("fence order: read_only=ON failed (writer IP dropped): \(error)")
            return MMMProtocol.FenceReport(target: self.settings.this.name, readOnly: false, sessionsKilled: 0, rolesDropped: dropped)
        }
    }

    /// The bound of a fence of another host's server over SQL.
    static let peerFenceDeadline: Duration = .seconds(3)

    /// The bound of the cross-check's connect and `read_only` read of another host's server: within the monitor's
    /// 3 s wait for the answer even when the query is retried once.
    static let reachDeadline: Duration = .seconds(1)

    /// The bound of each writer IP check and release in a fence order.
    static let fenceOrderIPDeadline: Duration = .seconds(1)
    /// The bound of the SQL part of a fence order (connect, kill sessions, `read_only=ON`, read back): short, because
    /// the monitor waits for the answer before it promotes another host.
    static let fenceOrderSQLDeadline: Duration = .milliseconds(1500)
}
