import Foundation
import Logging
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMSystem
import MMMTransport

/// One promotion of a writer candidate, as ``MMMCore/ClusterAction/drainThenPromote(host:previousWriter:)`` asks:
/// make sure nobody else can write, then wait until the candidate has applied everything.
///
/// 1. The candidate's agent must answer (its first answer is the lease clock's `candidateAcknowledgedAt`).
/// 2. Every other host that may hold the writer role is fenced, as ``MMMCore/FenceLadder`` decides: through its
///    agent (`read_only=ON`, sessions killed, writer IP dropped), else over SQL through the candidate's agent, else
///    `kill_host_bin`, else, only for an agent that is silent (not one that refuses connections), by waiting out its
///    writer lease. A host that cannot be fenced stops the promotion, saying why.
/// 3. The positions of the other hosts that may have sent semi-sync ACKs (``peersThatMayHaveACKed``) are read
///    again: if one received a transaction the candidate did not, the candidate is given up and the choice is made
///    again with those positions (``MMMCore/RolePlanner/hostsAhead(of:among:positions:)``).
/// 4. The candidate drains, bounded by `drain_timeout`: its relay log is applied, and it has every fenced host's
///    `gtid_binlog_pos` and everything those other hosts received (nothing acknowledged is left behind).
///
/// Results are posted to the decision loop, tagged with the promotion's token; a promotion called off
/// (``isCurrent`` false) stops at its next step and its late results are ignored.
struct PromotionRun: Sendable {
    /// The candidate.
    var candidate: String
    /// This promotion's token.
    var token: UInt64
    /// Hosts other than the candidate that may hold the writer role.
    var claimed: [String]
    /// Claimed hosts whose mysqld the candidate's agent could not reach in the cross-check that began this promotion
    /// (a second or two ago): fencing them over SQL through the candidate would only wait out its connect timeout
    /// again, so a silent agent leads straight to `kill_host_bin`.
    var candidateCannotReach: Set<String> = []
    /// The epoch the fence orders carry.
    var epoch: UInt64
    /// Other hosts that may have sent semi-sync ACKs and may become writer (masters of the writer role that are
    /// ONLINE or REPLICATION_DELAY, the old writer and the candidate excepted): the candidate must have everything
    /// they received.
    var peersThatMayHaveACKed: [String] = []
    /// Every agent's link.
    var links: [String: AgentLink]
    /// The lease timings.
    var lease: WriterLease.Configuration
    /// The drain bound.
    var drainTimeout: Duration
    /// `kill_host_bin`, run when it exists and a claimed host cannot be reached.
    var killHostBin: String
    /// Runs `kill_host_bin`.
    var runner: CommandRunner
    /// Where progress is logged.
    var logger: Logger
    /// The monitor's clock (the only source of time here).
    var clock: MMMClock
    /// Whether this promotion is still wanted.
    var isCurrent: @Sendable (UInt64) -> Bool
    /// Posts a result to the decision loop.
    var post: @Sendable (MonitorInput) -> Void

    private static let pollInterval = Duration.milliseconds(50)

    /// Runs the promotion to its end (a result posted) or until it is called off.
    func run() async {
        guard let candidateLink = self.links[self.candidate] else { return }
        let fenced = self.claimed.filter { $0 != self.candidate }.compactMap { self.links[$0] }
        for link in fenced { link.holdRenewals() }
        defer { for link in fenced { link.releaseRenewals() } }
        do {
            _ = try await self.drainStatus(candidateLink)
        } catch {
            self.fail("the candidate's agent does not answer: \(error)")
            return
        }
        let acknowledgedAt = self.clock.now
        var oldPositions: [String: GTIDPosition] = [:]
        var failures: [String] = []
        await withTaskGroup(of: (String, FenceResult).self) { group in
            for host in self.claimed where host != self.candidate {
                group.addTask {
                    (host, await self.fence(host, acknowledgedAt: acknowledgedAt))
                }
            }
            for await (host, result) in group {
                switch result {
                case .position(let position): oldPositions[host] = position
                case .noPosition: break
                case .failed(let reason): failures.append("\(host): \(reason)")
                }
            }
        }
        guard self.isCurrent(self.token) else { return }
        guard failures.isEmpty else {
            self.fail(failures.sorted().joined(separator: "; "))
            return
        }
        let received = await self.receivedByPeers(candidateLink)
        guard self.isCurrent(self.token) else { return }
        let ahead = RolePlanner.hostsAhead(of: self.candidate, among: self.peersThatMayHaveACKed, positions: received)
        guard ahead.isEmpty else {
            let mine = received[self.candidate].map { "\($0.received)" } ?? "unknown"
            self.fail(
                ahead.map { "\($0) received \(received[$0]!.received)" }.joined(separator: ", ")
                    + ", more than \(self.candidate) (\(mine)): choosing again with these positions"
            )
            return
        }
        for host in self.peersThatMayHaveACKed {
            if let position = received[host]?.received, !position.isEmpty { oldPositions[host] = position }
        }
        await self.drain(candidateLink, catchingUpWith: oldPositions)
    }

    /// Reads the candidate's and ``peersThatMayHaveACKed``' replication positions now (the polled ones can be
    /// older than the old writer's last transactions) and posts them to the decision loop, so that a choice made
    /// again uses them. A host whose agent does not answer is left out: with one failure (the old writer's), they
    /// all answer.
    private func receivedByPeers(_ candidateLink: AgentLink) async -> [String: ReplicationPositions] {
        var read: [String: ReplicationPositions] = [:]
        await withTaskGroup(of: (String, ReplicationPositions?).self) { group in
            for host in [self.candidate] + self.peersThatMayHaveACKed {
                guard let link = self.links[host] else { continue }
                group.addTask {
                    do {
                        let reported = try await self.positions(of: link)
                        return (
                            host,
                            try reported.replicationPositions()
                        )
                    } catch {
                        self.logger.warning(
                            "Could not read a host's replication positions before the promotion",
                            metadata: [LogKey.host: "\(host)", LogKey.error: "\(error)"]
                        )
                        return (host, nil)
                    }
                }
            }
            for await (host, positions) in group {
                guard let positions else { continue }
                read[host] = positions
                self.post(.positions(host: host, positions))
            }
        }
        return read
    }

    // MARK: - Fencing

    /// How the fencing of one host ended.
    enum FenceResult: Sendable {
        /// Fenced by its agent, which also told its `gtid_binlog_pos`: the candidate must have all of it.
        case position(GTIDPosition)
        /// Made unable to write in a way that cannot tell its position (its server is down, or it was fenced over
        /// SQL, killed, or waited out); the report says what was skipped.
        case noPosition
        /// Not fenced, or fenced while its position could not be read although its agent answers: no promotion.
        case failed(String)
    }

    /// Walks ``MMMCore/FenceLadder`` for `host`: its decisions, this run's I/O.
    private func fence(_ host: String, acknowledgedAt: MonitorInstant) async -> FenceResult {
        guard let link = self.links[host] else { return .failed("no agent link") }
        var ladder = FenceLadder(
            configuration: FenceLadder.Configuration(lease: self.lease),
            candidateCannotReach: self.candidateCannotReach.contains(host),
            canKill: FileManager.default.isExecutableFile(atPath: self.killHostBin),
            at: acknowledgedAt
        )
        var step = FenceLadder.Step.orderAgent
        var lastFenceReport: MMMProtocol.FenceReport?
        var logged: FenceLadder.Step?
        while self.isCurrent(self.token) {
            if step != logged, step != .orderAgent || logged != nil {
                // Progress of a fence that takes long (a silent host waits out its lease): what comes next, and when
                // the lease certainly ends as of now.
                logged = step
                let endsIn = self.clock.now.duration(to: ladder.leaseEnd(lastRenewal: link.lastRenewalStarted))
                self.logger.notice(
                    "Fencing a host that may still write",
                    metadata: [LogKey.host: "\(host)", LogKey.fenceStep: "\(step)", LogKey.leaseEndsInMilliseconds: "\(Int64((endsIn / .milliseconds(1)).rounded()))"]
                )
            }
            switch step {
            case .orderAgent:
                let budget = ladder.ioBudget(at: self.clock.now, lastRenewal: link.lastRenewalStarted)
                let (answer, report) = await self.orderFence(host, link, replyTimeout: min(.seconds(3), budget ?? .seconds(3)))
                lastFenceReport = report
                step = ladder.agentAnswered(answer, at: self.clock.now)
            case .fenceThroughCandidate:
                let budget = ladder.ioBudget(at: self.clock.now, lastRenewal: link.lastRenewalStarted)
                let fenced = await self.fenceThroughCandidate(host, replyTimeout: min(.seconds(4), budget ?? .seconds(4)))
                step = ladder.sqlFenceAnswered(fenced, at: self.clock.now)
            case .killHost:
                step = ladder.killAnswered(await self.killHost(host), at: self.clock.now)
            case .wait(let until):
                let left = self.clock.now.duration(to: until)
                if left > .zero { try? await Task.sleep(for: left) }
                // Read each time: a renewal still in flight when fencing began moves the lease's end.
                step = ladder.resume(at: self.clock.now, lastRenewal: link.lastRenewalStarted)
            case .done(let how):
                return await self.fenced(host, link, how: how, report: lastFenceReport)
            case .stuck(let reason):
                self.logger.error("Cannot fence a host that may still write: no promotion", metadata: [LogKey.host: "\(host)", LogKey.error: "\(reason)"])
                return .failed(reason)
            }
        }
        return .noPosition
    }

    /// Sends the fence order; the answer as the ladder sees it, with the agent's report when it fenced.
    private func orderFence(
        _ host: String, _ link: AgentLink, replyTimeout: Duration
    ) async -> (FenceLadder.AgentAnswer, MMMProtocol.FenceReport?) {
        do {
            let answer = try await link.send(
                .fence(FenceOrder(target: host, epoch: self.epoch, reason: "the writer role moves to \(self.candidate)")),
                replyTimeout: replyTimeout
            )
            switch answer {
            case .fenced(let report):
                return (.fenced(readOnly: report.readOnly), report)
            case .failed(let failure):
                self.logger.warning(
                    "Agent could not fence its host",
                    metadata: [LogKey.host: "\(host)", LogKey.error: "\(failure.code): \(failure.message)"]
                )
                return (.failed, nil)
            default:
                return (.failed, nil)
            }
        } catch {
            // A connect that timed out after its agent refused connections (and never answered since) is no
            // better: the agent may still not be running.
            let refused = ProtocolClient.wasRefused(error) || link.agentRefusing
            self.logger.warning(
                refused
                    ? "The agent of a host that may still write refuses connections (not running): its lease cannot be counted on"
                    : "Could not reach the agent of a host that may still write",
                metadata: [LogKey.host: "\(host)", LogKey.error: "\(error)"]
            )
            return (refused ? .refused : .silent, nil)
        }
    }

    /// `host` can no longer write: posts how, and reads its `gtid_binlog_pos` when its agent fenced it.
    private func fenced(_ host: String, _ link: AgentLink, how: FenceLadder.How, report: MMMProtocol.FenceReport?) async -> FenceResult {
        if case .agent = how { link.releaseRenewals() }
        switch how {
        case .agent(readOnly: true):
            // Its agent answers: what it has, the candidate must have (invariant 2). A read that keeps failing stops
            // the promotion; it is never skipped silently.
            var lastError = ""
            for attempt in 0..<3 {
                guard self.isCurrent(self.token) else { return .noPosition }
                do {
                    let position = try await self.binlogPosition(of: link)
                    self.post(
                        .writerFenced(
                            host: host, token: self.token,
                            how: "fenced by its agent (read_only ON, sessions killed: \(report?.sessionsKilled ?? 0))", fencedBy: how
                        )
                    )
                    return .position(position)
                } catch {
                    lastError = "\(error)"
                    if attempt < 2 { try? await Task.sleep(for: .milliseconds(200)) }
                }
            }
            return .failed("fenced by its agent, but its gtid_binlog_pos could not be read (\(lastError)): the candidate could not be checked to have everything it acknowledged")
        case .agent(readOnly: false):
            // mariadbd is down or frozen: nobody can write through the VIP, which its agent dropped; when the server
            // comes back, the agent makes it read-only at once. A frozen server would still resume writable for that
            // moment: kill_host_bin, when there is one, makes sure it does not resume.
            let killed = await self.killHost(host)
            let dropped = report?.rolesDropped.map(\.description).joined(separator: ", ") ?? ""
            self.post(
                .writerFenced(
                    host: host, token: self.token,
                    how: "its agent dropped the writer IP (\(dropped.isEmpty ? "none held" : dropped)); mariadbd could not be made read-only (down or frozen)"
                        + (killed ? "; kill_host_bin stopped it" : ""),
                    skipped: "read_only on \(host) and the catch-up to its gtid_binlog_pos (its server did not answer): the drain covered the relay log only",
                    fencedBy: how
                )
            )
        case .sqlThroughCandidate:
            self.post(
                .writerFenced(
                    host: host, token: self.token,
                    how: "read_only set and sessions killed over SQL by \(self.candidate)'s agent (its own agent does not answer)",
                    skipped: "dropping \(host)'s writer IP (its agent did not answer) and the catch-up to its gtid_binlog_pos",
                    fencedBy: how
                )
            )
        case .killed:
            self.post(
                .writerFenced(
                    host: host, token: self.token,
                    how: "killed by \(self.killHostBin) (the new writer takes the writer IP without waiting for the host to give it up)",
                    fencedBy: how
                )
            )
        case .leaseRanOut:
            self.post(
                .writerFenced(
                    host: host, token: self.token,
                    how: "its writer lease has certainly run out (the new writer takes the writer IP without waiting for the host to give it up)",
                    skipped: "fencing \(host) (nothing reached its agent or its server) and the catch-up to its gtid_binlog_pos",
                    fencedBy: how
                )
            )
        }
        return .noPosition
    }

    /// Asks the candidate's agent to fence `host`'s server over SQL; true (and the fencing posted) when it did. The
    /// drain then waits for the candidate's relay log only: `host`'s own binlog position is not read this way.
    private func fenceThroughCandidate(_ host: String, replyTimeout: Duration) async -> Bool {
        guard let candidateLink = self.links[self.candidate] else { return false }
        let order = FenceOrder(target: host, epoch: self.epoch, reason: "its agent does not answer; the writer role moves to \(self.candidate)")
        guard case .fenced(let report)? = try? await candidateLink.send(.fence(order), replyTimeout: replyTimeout) else { return false }
        return report.readOnly
    }

    /// Runs `kill_host_bin HOST` (no shell) if the program exists; true when it exited 0.
    private func killHost(_ host: String) async -> Bool {
        guard FileManager.default.isExecutableFile(atPath: self.killHostBin) else { return false }
        do {
            let result = try await self.runner.run(self.killHostBin, [host], deadline: .seconds(10))
            self.logger.notice(
                "kill_host_bin ran",
                metadata: [LogKey.host: "\(host)", LogKey.exitStatus: "\(result.status)"]
            )
            return result.status == 0
        } catch {
            self.logger.error("kill_host_bin failed", metadata: [LogKey.host: "\(host)", LogKey.error: "\(error)"])
            return false
        }
    }

    // MARK: - Draining

    /// Waits until the candidate has applied all it received and every position in `positions`.
    private func drain(_ link: AgentLink, catchingUpWith positions: [String: GTIDPosition]) async {
        let deadline = self.clock.now + self.drainTimeout
        var last = "no answer yet"
        var appliedAtStart: String?
        while self.isCurrent(self.token) {
            do {
                let status = try await self.drainStatus(link)
                if appliedAtStart == nil { appliedAtStart = status.appliedPosition }
                var caughtUp = true
                if !positions.isEmpty, status.drained {
                    let current = try await self.currentPosition(of: link)
                    let missing = positions.filter { !current.contains($0.value) }
                    caughtUp = missing.isEmpty
                    if !caughtUp {
                        last = "it lacks \(missing.map { "\($0.key)'s \($0.value)" }.joined(separator: ", "))"
                    }
                } else if !status.drained {
                    last = "received \(status.receivedPosition), applied \(status.appliedPosition)"
                        + (status.lastSQLErrorNumber != 0 ? ", SQL error \(status.lastSQLErrorNumber)" : "")
                }
                if status.drained, caughtUp {
                    var window: String?
                    if let start = appliedAtStart, start != status.appliedPosition {
                        window = "applied \(start.isEmpty ? "nothing" : start) -> \(status.appliedPosition) from the relay log"
                    }
                    self.post(.drained(host: self.candidate, token: self.token, window: window))
                    return
                }
            } catch is CancellationError {
                return
            } catch {
                last = "\(error)"
            }
            if self.clock.now >= deadline {
                self.fail("not drained within drain_timeout (\(self.drainTimeout)): \(last)")
                return
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
    }

    private func drainStatus(_ link: AgentLink) async throws -> DrainStatus {
        let answer = try await link.send(.getDrainStatus(DrainQuery()), replyTimeout: .seconds(3))
        switch answer {
        case .drainStatus(let status):
            return status
        case .failed(let failure):
            throw MMMError(.commandFailed, "\(link.peer.name): \(failure.message)")
        default:
            throw MMMError(.unexpectedResult, "\(link.peer.name) answered a drain query with something else")
        }
    }

    private func positions(of link: AgentLink) async throws -> GTIDPositions {
        let answer = try await link.send(.getGTIDPositions, replyTimeout: .seconds(3))
        switch answer {
        case .gtidPositions(let positions):
            return positions
        case .failed(let failure):
            throw MMMError(.commandFailed, "\(link.peer.name): \(failure.message)")
        default:
            throw MMMError(.unexpectedResult, "\(link.peer.name) answered a GTID query with something else")
        }
    }

    private func binlogPosition(of link: AgentLink) async throws -> GTIDPosition {
        try GTIDPosition(parsing: try await self.positions(of: link).binlogPosition)
    }

    private func currentPosition(of link: AgentLink) async throws -> GTIDPosition {
        try GTIDPosition(parsing: try await self.positions(of: link).currentPosition)
    }

    private func fail(_ reason: String) {
        guard self.isCurrent(self.token) else { return }
        self.post(.drainFailed(host: self.candidate, token: self.token, reason: reason))
    }
}
