import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMTransport
import MariaDBClient
import NIOConcurrencyHelpers
import MMMSystem

/// The convergence round: observe the server and the interface, plan with ``MMMCore/AgentStateMachine``, act.
extension AgentCore {
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
        await self.fenceIfStalled()
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
    func promotablePeerAnswers() async -> Bool {
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
    func keepSemiSync() async -> (failure: String?, writerReady: Bool) {
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
                    case .releaseWaitingCommits:
                        // Inside the writer gate, asked again: the lease's fence also runs there, so a host whose lease
                        // ran out (it may be an old writer) never returns an un-ACKed commit to its client.
                        try await self.writerIPChanges.run {
                            guard self.writerRoleWanted else { return }
                            try await connection.releaseSemiSyncWaiters()
                            self.logger.warning(
                                "Released commits waiting for a semi-sync ACK: they return to their clients without one",
                                metadata: [LogKey.host: "\(host)", LogKey.semiSyncBefore: "\(before)"]
                            )
                        }
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

    /// Under zero_loss, a new writer stops sending its binlog to the old writer. In the master-master ring the old
    /// writer replicates from this host with its ACK side on; frozen or hung (issue 17: a frozen host's kernel keeps
    /// the connection open), it stays counted as a semi-sync replica that never ACKs, so every commit here waited for
    /// it and writes through the VIP did not resume until it woke. Cut, the writer has no semi-sync replica, finds
    /// the old writer's server silent, and commits without waiting (``MMMCore/SemiSyncPlanner``). The old writer
    /// reconnects by itself when it runs again; its ACKs count again from then on.
    func cutOldWriterReplication(_ oldWriterIP: String) async {
        do {
            let connection = try await MariaDBConnection.connect(self.settings.database, on: self.executor)
            do {
                let killed = try await connection.killBinlogDumps(to: oldWriterIP)
                await connection.close()
                if killed > 0 {
                    self.logger.notice(
                        "Stopped sending the binlog to the old writer: it no longer counts as a semi-sync replica until it reconnects",
                        metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.peer: "\(oldWriterIP)"]
                    )
                }
            } catch {
                await connection.close()
                throw error
            }
        } catch {
            self.recordError("could not stop sending the binlog to the old writer \(oldWriterIP): \(error)")
        }
    }

    /// Fences another host's mariadbd over SQL (DESIGN.md §4 step 2: its agent does not answer, but this host reaches
    /// its server): `read_only=ON` and its client sessions killed, within 3 s, with this agent's account. Its VIP cannot
    /// be dropped from here; with `read_only` on and the sessions gone, clients that still reach it get errors.
    ///
    /// - Throws: ``MMMCore/MMMError`` when the target is unknown or its server cannot be fenced (the monitor then
    ///   waits out the target's writer lease).
    func fencePeer(_ order: FenceOrder) async throws -> MMMProtocol.FenceReport {
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
    func releaseUnwanted(_ round: AgentStateMachine.Round) async {
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

    /// Keeps `message` as the agent's last error (reported in its status) and logs it.
    func recordError(_ message: String) {
        // Logged when it changes: a server that stays down is retried often and must not flood the log.
        let repeated = self.state.withLockedValue { state in
            defer { state.lastError = message }
            return state.lastError == message
        }
        guard !repeated else { return }
        self.logger.error("Convergence step failed", metadata: [LogKey.host: "\(self.settings.this.name)", LogKey.error: "\(message)"])
    }

    /// Carries out one planned step of a round.
    func execute(_ action: AgentAction, observed: AgentObservation) async throws {
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
            if self.settings.failoverPolicy == .zeroLoss, let oldWriter = drain?.oldWriterHost {
                await self.cutOldWriterReplication(oldWriter)
            }
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
    var writerRoleWanted: Bool {
        self.state.withLockedValue { $0.machine.writerRoleWanted }
    }

    /// A fence order (or the lease) may have taken the writer role away while this round ran: then the round must
    /// not promote or take the writer IP on the strength of its older plan.
    func requireWriterStillWanted() throws {
        guard self.writerRoleWanted else {
            throw MMMError(.invalidTransition, "the writer role was withdrawn while this round ran (fence order or lease); not taking it")
        }
    }
}
