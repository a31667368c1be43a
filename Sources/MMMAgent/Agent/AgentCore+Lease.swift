import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMTransport
import MariaDBClient
import NIOConcurrencyHelpers
import MMMSystem

/// The writer lease's clock and its fence (DESIGN.md §6): ticks ``MMMCore/AgentStateMachine`` and carries out what it says.
extension AgentCore {
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

    /// Runs before anything else the agent does (a request, a convergence round): a writer whose lease ticks stopped
    /// for a whole lease timeout (stopped with its server: SIGSTOP, a frozen VM, a live migration) fences at once, before
    /// it acts on or answers anything, rather than at its next tick (issue 17). The monitor may have promoted another
    /// host meanwhile; whoever notices first fences, the others find the lease fenced.
    func fenceIfStalled() async {
        let now = self.now()
        guard self.state.withLockedValue({ $0.machine.stallNoticed(at: now) }) else { return }
        await self.leaseFenced(.stalled)
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
    func leaseFenced(_ reason: WriterLease.FenceReason) async {
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
                guard self.settings.failoverPolicy == .zeroLoss else {
                    self.recordError("lease fence failed: \(error)")
                    return
                }
                // Under zero_loss a woken old writer's replication SQL thread may be waiting for an ACK with a
                // transaction of the new writer's, holding read_only back. The fence killed every client session that
                // waited; the semi-sync pass now switches the master side off (it does so only once no client commit
                // waits), which lets that transaction finish, and read_only is tried once more (issue 17).
                _ = await self.keepSemiSync()
                do {
                    let left = max(.milliseconds(500), deadline - (self.clock.now - started))
                    _ = try await self.writeControl.fence(
                        FenceOptions(sparedUsers: self.settings.sparedUsers, maxAttempts: 1, deadline: left)
                    )
                } catch {
                    self.recordError("lease fence failed: \(error)")
                }
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
    func askPeers() async -> [WriterLease.PeerAnswer] {
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
