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

    private struct State {
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
    private let state: NIOLockedValueBox<State>
    private let clock: MMMClock
    private let endpoints: any EndpointProvider
    /// Writer-IP changes and the promotion's `read_only=OFF` one at a time with a fence order's IP drop (which comes
    /// before its `read_only=ON`): a fence that arrives while the writer IP is being taken waits for that to end,
    /// then finds the IP and drops it; a promotion that reaches `read_only=OFF` after a fence order is refused.
    /// Otherwise a take could finish after the fence answered (and the next writer, handed the IP without a probe,
    /// would share it), or a promotion could undo the fence.
    private let writerIPChanges = SerialAccess()
    private let executor: MariaDBExecutor
    private let writeControl: WriteControl
    private let replication: ReplicationControl
    private let observer: LocalObserver
    private let peers: AgentClient
    private let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

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
    private func now() -> MonitorInstant {
        self.clock.now
    }

    private var uptimeMilliseconds: UInt64 {
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

    private func answer(_ request: AgentRequest, from sender: String) async throws -> AgentResponse {
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
    private func requireConfiguredRoles(_ roles: [RoleIP]) throws {
        let known = Set(self.settings.roleIPs)
        guard let unknown = roles.first(where: { !known.contains($0) }) else { return }
        throw MMMError(
            .accessDenied,
            "status refused: role IP \(unknown) is not a role of this cluster in mmm_common.conf (known: \(self.settings.roleIPs.map(\.description).joined(separator: ", "))); check that monitor and agents read the same config"
        )
    }

    private func requireMonitor(_ sender: String, for what: String) throws {
        guard sender == Self.monitorName else {
            throw MMMError(.accessDenied, "\(what) is accepted from the monitor only, not from '\(sender)'")
        }
    }

    /// Renews the lease: any monitor message proves the monitor reaches this host. Only a status gives roles
    /// (``WriterLease/monitorMessageReceived(sentAt:at:)``): a fenced writer stays fenced whatever else arrives.
    private func heardMonitor() {
        let now = self.now()
        self.state.withLockedValue { $0.machine.monitorMessageReceived(at: now) }
    }

    private func agentStatus() -> AgentStatus {
        self.state.withLockedValue { state in
            AgentStatus(
                state: state.machine.hostState, roles: state.machine.roles, activeMaster: state.machine.activeMaster,
                epoch: state.machine.epoch, uptimeMilliseconds: self.uptimeMilliseconds,
                lastError: String((state.lastError ?? "").prefix(1000)), fencedAwaitingEpoch: state.machine.fencedAwaitingEpoch
            )
        }
    }

    private func reach(_ query: ReachQuery) async throws -> ReachReport {
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
    private func reachServer(_ name: String, _ target: MariaDBConfiguration) async -> ReachReport {
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
    private func fenceNow(reason: String, epoch: UInt64) async throws -> MMMProtocol.FenceReport {
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

    // MARK: - Convergence

    /// Converges whenever the monitor's status changes, the lease turns, or `interval` passes; returns when cancelled
    /// (graceful shutdown keeps the host's roles as they are).
    public func runConvergence(interval: Duration = .seconds(1)) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    self.wake.yield()
                }
            }
            for await _ in self.wakeups {
                if Task.isCancelled { break }
                await self.convergeOnce()
            }
            group.cancelAll()
        }
    }

    /// One round: observe, plan, execute in order; the first failing step ends the round (the next one retries).
    public func convergeOnce() async {
        guard case .converge(let round) = self.state.withLockedValue({ $0.machine.roundStart() }) else { return }
        let observation: AgentObservation
        do {
            observation = try await self.observer.observe(deadline: .seconds(2)).0
        } catch {
            self.recordError("could not read the host's state: \(error)")
            self.state.withLockedValue { $0.machine.serverUnreadable() }
            // A dead or frozen mariadbd must not keep role IPs the monitor moved elsewhere: the new holder's
            // duplicate-address check would refuse them, and clients would keep reaching this host.
            await self.releaseUnwanted(round)
            // A server that must not write but may still be writable (frozen, or restarting) is tried again at once
            // rather than at the next interval: the moment it answers, it is made read-only before anything else.
            if round.mustNotWrite {
                try? await Task.sleep(for: .milliseconds(100))
                self.wake.yield()
            }
            return
        }
        let (desire, actions) = self.state.withLockedValue { $0.machine.plan(observed: observation, for: round) }
        var failure: String?
        // Planned but failed or never reached (an earlier step ended the round): false, so the next round retries.
        var followed: Bool? = actions.contains { if case .follow = $0 { return true } else { return false } } ? false : nil
        steps: for action in actions {
            do {
                try await self.execute(action, observed: observation)
                if case .follow = action { followed = true }
            } catch {
                failure = "\(action) failed: \(error)"
                self.recordError("\(action) failed: \(error)")
                switch action {
                case .fence, .acquireIP:
                    // A fence that failed must not keep the VIP on a host that may still be writable: the releases
                    // that follow it still run. One IP another host still answers for must not keep this host from
                    // taking the others (the writer IP first among them).
                    continue steps
                case .releaseIP, .promote, .follow:
                    break steps
                }
            }
        }
        self.state.withLockedValue { $0.machine.roundEnded(desire: desire, observed: observation, followed: followed) }
        // Semi-sync every round, also after a failed step: turning the master role off on a host that is not the
        // writer must never wait for the rest of the round to succeed (rule R10).
        if self.settings.failoverPolicy == .zeroLoss, let error = await self.keepSemiSync().failure { failure = error }
        if failure == nil { self.state.withLockedValue { $0.lastError = nil } }
    }

    /// Whether the server of another host that may become the writer takes a connection (500 ms connect deadline
    /// each): a host whose server is up may ACK once its IO thread connects, so the writer keeps waiting for it.
    private func promotablePeerAnswers() async -> Bool {
        for name in self.settings.promotablePeers {
            guard let peer = self.settings.host(named: name) else { continue }
            var target = self.settings.database(of: peer)
            target.connectTimeout = .milliseconds(500)
            target.readTimeout = .seconds(1)
            do {
                let connection = try await MariaDBConnection.connect(target, on: self.executor)
                await connection.close()
                return true
            } catch let error as MMMError where [.accessDenied, .tooManyConnections].contains(error.code) {
                // The server answered the handshake: it is up and may ACK, even if this account may not log in
                // there (MMM's grants often allow agent_user from localhost only).
                return true
            } catch {
                continue
            }
        }
        return false
    }

    /// One semi-sync pass (``SemiSyncPlanner``): reads the server, sets what differs, logs the state when it changed.
    /// Returns the failure (already recorded) or nil, and whether the server ends as a semi-sync master with
    /// `AFTER_SYNC`.
    private func keepSemiSync() async -> (failure: String?, writerReady: Bool) {
        let host = self.settings.this.name
        let wantsWriter = self.writerRoleWanted
        let lastRestart = self.state.withLockedValue { $0.lastSemiSyncIORestart }
        do {
            let connection = try await MariaDBConnection.connect(self.settings.database, on: self.executor)
            do {
                let readOnly = try await connection.query("SELECT @@global.read_only AS read_only").singleRow("read_only")
                let writable = !(try readOnly.bool("read_only") ?? true)
                let isWriter = wantsWriter && writable
                let before = try await connection.semiSyncObservation()
                // Asked only when it matters: a writer with a connected semi-sync replica waits for it anyway.
                let peerUp = isWriter && before.masterClients == 0 ? await self.promotablePeerAnswers() : true
                let actions = SemiSyncPlanner.plan(
                    isWriter: isWriter, mayBecomeWriter: self.settings.mayBecomeWriter, timeoutMilliseconds: self.settings.semiSyncTimeoutMilliseconds,
                    promotablePeerUp: peerUp, observed: before, lastIORestart: lastRestart, now: self.now()
                )
                for action in actions {
                    switch action {
                    case .set(let setting):
                        try await connection.setSemiSync(setting)
                    case .restartIOThread:
                        self.state.withLockedValue { $0.lastSemiSyncIORestart = self.now() }
                        try await connection.restartReplicaIOThread()
                    }
                }
                let after = actions.isEmpty ? before : try await connection.semiSyncObservation()
                await connection.close()
                if !actions.isEmpty {
                    self.logger.notice(
                        "Semi-sync adjusted for the zero-loss policy",
                        metadata: [
                            LogKey.host: "\(host)", LogKey.semiSyncRole: "\(isWriter ? "writer" : "replica")",
                            LogKey.semiSyncSteps: "\(actions)", LogKey.semiSyncBefore: "\(before)",
                        ]
                    )
                }
                let report = "\(isWriter ? "writer" : "replica"): \(after)"
                let changed = self.state.withLockedValue { state in
                    defer { state.lastSemiSyncReport = report }
                    return state.lastSemiSyncReport != report
                }
                if changed {
                    self.logger.notice(
                        "Semi-sync state", metadata: [LogKey.host: "\(host)", LogKey.semiSyncState: "\(report)"]
                    )
                }
                return (nil, isWriter && after.masterEnabled && after.waitPoint == .afterSync)
            } catch {
                await connection.close()
                throw error
            }
        } catch {
            let message = "keeping semi-sync (failover_policy zero_loss) failed: \(error)"
            self.recordError(message)
            return (message, false)
        }
    }

    /// Fences another host's mariadbd over SQL (DESIGN.md §4 step 2: its agent does not answer, but this host reaches
    /// its server): `read_only=ON` and its client sessions killed, within 3 s, with this agent's account. Its VIP cannot
    /// be dropped from here; with `read_only` on and the sessions gone, clients that still reach it get errors.
    ///
    /// - Throws: ``MMMCore/MMMError`` when the target is unknown or its server cannot be fenced (the monitor then
    ///   waits out the target's writer lease).
    private func fencePeer(_ order: FenceOrder) async throws -> MMMProtocol.FenceReport {
        guard let peer = self.settings.host(named: order.target) else {
            throw MMMError(.invalidArgument, "fence order for unknown host '\(order.target)'; it is not in the config")
        }
        var target = self.settings.database(of: peer)
        target.connectTimeout = .seconds(1)
        self.logger.warning(
            "Fencing a peer's server over SQL on the monitor's order",
            metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.peer: "\(peer.name)", LogKey.error: "\(order.reason)"]
        )
        let control = WriteControl(configuration: target, executor: self.executor, logger: self.logger)
        // The fence's own deadline bounds it (its retries included), as for a fence order on this host.
        let report = try await control.fence(FenceOptions(sparedUsers: self.settings.sparedUsers, deadline: Self.peerFenceDeadline))
        return MMMProtocol.FenceReport(
            target: peer.name, readOnly: true, sessionsKilled: UInt32(clamping: report.killedSessions.count), rolesDropped: []
        )
    }

    /// Releases the role IPs this host holds but must not: those the monitor did not give it, and the writer IP when
    /// it may not write. Used when the database cannot be read; nothing is acquired then.
    private func releaseUnwanted(_ round: AgentStateMachine.Round) async {
        guard round.known != nil, let held = try? await self.observer.heldIPs(deadline: .seconds(1)) else { return }
        let unwanted = self.state.withLockedValue { $0.machine.unwantedIPs(held: held, for: round) }
        for roleIP in unwanted {
            self.logger.notice(
                "Releasing role IP (the database cannot be read)",
                metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.role: "\(roleIP)"]
            )
            do {
                try await self.endpoints.release(role: roleIP.role, ip: roleIP.ip, deadline: .seconds(2))
            } catch {
                self.recordError("releasing \(roleIP) failed: \(error)")
            }
        }
    }

    private func recordError(_ message: String) {
        // Logged when it changes: a server that stays down is retried often and must not flood the log.
        let repeated = self.state.withLockedValue { state in
            defer { state.lastError = message }
            return state.lastError == message
        }
        guard !repeated else { return }
        self.logger.error("Convergence step failed", metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.error: "\(message)"])
    }

    private func execute(_ action: AgentAction, observed: AgentObservation) async throws {
        let host = self.settings.this.name
        switch action {
        case .fence:
            self.logger.notice("Fencing: read_only on, client sessions killed", metadata: [LogKey.host: "\(host)"])
            _ = try await self.writeControl.fence(FenceOptions(sparedUsers: self.settings.sparedUsers))
        case .releaseIP(let roleIP):
            self.logger.notice("Releasing role IP", metadata: [LogKey.host: "\(host)", LogKey.role: "\(roleIP)"])
            try await self.endpoints.release(role: roleIP.role, ip: roleIP.ip, deadline: .seconds(3))
        case .promote:
            try self.requireWriterStillWanted()
            var drain: DrainRequest?
            if let previous = observed.following.flatMap(self.settings.host(named:)) {
                drain = DrainRequest(
                    oldWriter: previous.name, oldWriterHost: previous.ip, oldWriterPort: previous.mysqlPort,
                    timeout: self.settings.drainTimeout
                )
            }
            self.logger.notice("Promoting: drain, then read_only off", metadata: [LogKey.host: "\(host)", LogKey.peer: "\(observed.following ?? "none")"])
            // read_only=OFF passes the writer-IP gate after asking again whether the role is still wanted: a fence
            // order that came during the drain set read_only=ON and answered; it must not be undone.
            let gate = WritableGate(gate: self.writerIPChanges) { [self] in try self.requireWriterStillWanted() }
            _ = try await self.writeControl.promote(PromotionRequest(drain: drain), gate: gate)
            // Promotion stopped replication on purpose: when the monitor names the peer again (the ring closes after a
            // clean rejoin), that is a source named anew, started even though it is configured (bench finding 5).
            self.state.withLockedValue { $0.machine.promoted() }
        case .acquireIP(let roleIP, let probe) where roleIP.role == self.settings.writerRole:
            try self.requireWriterStillWanted()
            // Zero loss: no client reaches the writer through its IP before its commits wait for ACKs.
            if self.settings.failoverPolicy == .zeroLoss {
                let semiSync = await self.keepSemiSync()
                guard semiSync.writerReady else {
                    throw MMMError(
                        .unexpectedResult,
                        "not taking the writer IP: semi-sync (master ON, AFTER_SYNC) is not on yet under failover_policy zero_loss: \(semiSync.failure ?? "the server is not writable")"
                    )
                }
            }
            try await self.writerIPChanges.run {
                // Again inside the gate: a fence order may have come while semi-sync was checked or a fence ran.
                try self.requireWriterStillWanted()
                self.logger.notice(
                    probe ? "Acquiring role IP" : "Acquiring role IP handed over by the monitor (no other host holds it)",
                    metadata: [LogKey.host: "\(host)", LogKey.role: "\(roleIP)"]
                )
                try await self.endpoints.acquire(role: roleIP.role, ip: roleIP.ip, probe: probe, deadline: .seconds(2))
            }
        case .acquireIP(let roleIP, let probe):
            self.logger.notice("Acquiring role IP", metadata: [LogKey.host: "\(host)", LogKey.role: "\(roleIP)"])
            try await self.endpoints.acquire(role: roleIP.role, ip: roleIP.ip, probe: probe, deadline: .seconds(2))
        case .follow(let writer):
            guard let target = self.settings.host(named: writer) else {
                throw MMMError(.invalidArgument, "the monitor named '\(writer)' as writer, which is not in the config")
            }
            self.logger.notice("Repointing replication by GTID", metadata: [LogKey.host: "\(host)", LogKey.peer: "\(writer)"])
            _ = try await self.replication.repoint(
                RepointRequest(
                    writer: target.name, writerHost: target.ip, writerPort: target.mysqlPort,
                    replicationUser: target.replicationUser, replicationPassword: target.replicationPassword
                )
            )
        }
    }

    /// The monitor's last status gave this host the writer role and the lease lets it write.
    private var writerRoleWanted: Bool {
        self.state.withLockedValue { $0.machine.writerRoleWanted }
    }

    /// A fence order (or the lease) may have taken the writer role away while this round ran: then the round must
    /// not promote or take the writer IP on the strength of its older plan.
    private func requireWriterStillWanted() throws {
        guard self.writerRoleWanted else {
            throw MMMError(.invalidTransition, "the writer role was withdrawn while this round ran (fence order or lease); not taking it")
        }
    }

    // MARK: - Lease

    /// Keeps the writer lease: when it runs out, asks the peers and fences if they say so (DESIGN.md §6).
    public func runLease() async {
        await self.armLeaseIfWritable()
        while !Task.isCancelled {
            try? await Task.sleep(for: self.settings.lease.tickInterval)
            let now = self.now()
            let action = self.state.withLockedValue { $0.machine.tick(at: now) }
            switch action {
            case .none:
                continue
            case .fence(let reason):
                await self.leaseFenced(reason)
            case .askPeers:
                let answers = await self.askPeers()
                let answered = self.now()
                let outcome = self.state.withLockedValue { $0.machine.peersAnswered(answers, at: answered) }
                switch outcome {
                case .none:
                    break
                case .keepWriting:
                    self.logger.warning(
                        "Lost the monitor, and so did every peer: keeping the writer role",
                        metadata: [LogKey.host: "\(self.settings.this.name)"]
                    )
                case .fence(let reason):
                    await self.leaseFenced(reason)
                }
            }
        }
    }

    /// An agent that starts on a writable host has no lease yet: arm one that runs out after `startupGrace`, so that
    /// a restarted agent on an isolated writer still fences itself. A monitor that reaches the host renews it within
    /// its next cycle.
    func armLeaseIfWritable(startupGrace: Duration = .seconds(1)) async {
        guard let database = try? await self.observer.readDatabase(), !database.facts.readOnly else { return }
        let now = self.now()
        let grace = min(startupGrace, self.settings.lease.timeout)
        self.state.withLockedValue { $0.machine.startedOnWritableServer(grace: grace, at: now) }
        self.logger.notice(
            "Started on a writable host: writer lease armed until the monitor speaks",
            metadata: [LogKey.host: "\(self.settings.this.name)"]
        )
    }

    /// Fences at once, within the lease's `fenceDeadline` (which the monitor's promotion bound counts on), instead of
    /// waiting for the next convergence round, in this order:
    /// 1. the writer IPs are dropped: this needs no `mariadbd`, so a hung server cannot delay it, and clients stop
    ///    reaching this host first;
    /// 2. one `read_only=ON` attempt, client sessions killed.
    ///
    /// Both run inside the writer-IP gate, which a convergence round's writer-IP take and its `read_only=OFF` also
    /// pass after asking whether the role is still wanted (the lease said no before this began): nothing a round
    /// already past its check does can land after the fence.
    private func leaseFenced(_ reason: WriterLease.FenceReason) async {
        self.logger.critical(
            "Writer lease lost: fencing this host",
            metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.error: "\(reason)"]
        )
        let started = self.clock.now
        let deadline = self.settings.lease.fenceDeadline
        let writerIPs = self.settings.roleIPs.filter { $0.role == self.settings.writerRole }
        _ = try? await self.writerIPChanges.run {
            for roleIP in writerIPs {
                let left = max(.milliseconds(200), deadline - (self.clock.now - started))
                do {
                    try await self.endpoints.release(role: roleIP.role, ip: roleIP.ip, deadline: left)
                } catch {
                    self.recordError("lease fence could not drop \(roleIP): \(error)")
                }
            }
            do {
                let left = max(.milliseconds(500), deadline - (self.clock.now - started))
                _ = try await self.writeControl.fence(
                    FenceOptions(sparedUsers: self.settings.sparedUsers, maxAttempts: 1, deadline: left)
                )
            } catch {
                self.recordError("lease fence failed: \(error)")
            }
        }
        self.logger.notice(
            "Lease fence done: it stays fenced until the monitor gives the writer role under a newer epoch",
            metadata: [
                LogKey.host: "\(self.settings.this.name)",
                LogKey.fenceMilliseconds: "\((self.clock.now - started).milliseconds)",
            ]
        )
        self.wake.yield()
    }

    /// Asks every peer at once; a peer that has not answered when `peerCheckDeadline` ends counts as silent.
    private func askPeers() async -> [WriterLease.PeerAnswer] {
        let deadline = self.settings.lease.peerCheckDeadline
        let peerCount = self.settings.peers.count
        return await withTaskGroup(of: WriterLease.PeerAnswer?.self) { group in
            group.addTask {
                try? await Task.sleep(for: deadline)
                return nil  // the deadline
            }
            for peer in self.settings.peers {
                group.addTask {
                    let target = ProtocolPeer(name: peer.name, host: peer.ip, port: peer.agentPort)
                    let query = AgentRequest.canReach(ReachQuery(host: Self.monitorName, service: .monitor))
                    guard let response = try? await self.peers.send(query, to: target, replyTimeout: deadline),
                        case .reachability(let report) = response
                    else { return .noAnswer }
                    return report.reachable ? .hearsMonitor : .lostMonitor
                }
            }
            var answers: [WriterLease.PeerAnswer] = []
            while answers.count < peerCount, let next = await group.next() {
                guard let answer = next else { break }  // deadline: the rest are silent
                answers.append(answer)
            }
            group.cancelAll()
            return answers + Array(repeating: .noAnswer, count: peerCount - answers.count)
        }
    }
}
