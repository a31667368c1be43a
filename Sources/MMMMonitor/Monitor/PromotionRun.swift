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
/// 2. Every other host that may hold the writer role is fenced through its agent (`read_only=ON`, sessions killed,
///    writer IP dropped). One whose agent cannot be reached is given up on only when its writer lease has certainly
///    run out (``MMMCore/WriterLease/Configuration/earliestPromotion(lastSentToOldWriter:candidateAcknowledgedAt:)``,
///    counted from the last message that could have renewed it), or when `kill_host_bin` succeeded on it.
/// 3. The candidate drains, bounded by `drain_timeout`: its relay log is applied, and it has every fenced host's
///    `gtid_binlog_pos` (nothing acknowledged on the old writer is left behind).
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
    /// Whether this promotion is still wanted.
    var isCurrent: @Sendable (UInt64) -> Bool
    /// Posts a result to the decision loop.
    var post: @Sendable (MonitorInput) -> Void

    private static let pollInterval = Duration.milliseconds(50)

    /// Runs the promotion to its end (a result posted) or until it is called off.
    func run() async {
        guard let candidateLink = self.links[self.candidate] else { return }
        do {
            _ = try await self.drainStatus(candidateLink)
        } catch {
            self.fail("the candidate's agent does not answer: \(error)")
            return
        }
        let acknowledgedAt = ContinuousClock.now
        var oldPositions: [String: GTIDPosition] = [:]
        await withTaskGroup(of: (String, GTIDPosition?).self) { group in
            for host in self.claimed where host != self.candidate {
                group.addTask {
                    (host, await self.fence(host, acknowledgedAt: acknowledgedAt))
                }
            }
            for await (host, position) in group {
                if let position { oldPositions[host] = position }
            }
        }
        guard self.isCurrent(self.token) else { return }
        await self.drain(candidateLink, catchingUpWith: oldPositions)
    }

    // MARK: - Fencing

    /// Fences `host` or waits its lease out; returns its `gtid_binlog_pos` when its agent could tell it.
    private func fence(_ host: String, acknowledgedAt: ContinuousClock.Instant) async -> GTIDPosition? {
        guard let link = self.links[host] else { return nil }
        var killTried = false
        while self.isCurrent(self.token) {
            // An agent that answers hears the monitor: its lease is no way out; it must drop the writer IP.
            var agentAnswered = false
            do {
                let answer = try await link.send(
                    .fence(FenceOrder(target: host, epoch: self.epoch, reason: "the writer role moves to \(self.candidate)")),
                    replyTimeout: .seconds(3)
                )
                switch answer {
                case .fenced(let report) where report.readOnly:
                    self.post(
                        .writerFenced(
                            host: host, token: self.token,
                            how: "fenced by its agent (read_only ON, sessions killed: \(report.sessionsKilled))", confirmedByAgent: true
                        )
                    )
                    return try? await self.binlogPosition(of: link)
                case .fenced(let report):
                    // mariadbd is down or frozen: nobody can write through the VIP, which its agent dropped; when the
                    // server comes back, the agent makes it read-only at once. A frozen server would still resume
                    // writable for that moment: kill_host_bin, when there is one, makes sure it does not resume.
                    let killed = await self.killHost(host)
                    let dropped = report.rolesDropped.map(\.description).joined(separator: ", ")
                    self.post(
                        .writerFenced(
                            host: host, token: self.token,
                            how: "its agent dropped the writer IP (\(dropped.isEmpty ? "none held" : dropped)); mariadbd could not be made read-only (down or frozen)"
                                + (killed ? "; kill_host_bin stopped it" : ""),
                            skipped: "read_only on \(host) and the catch-up to its gtid_binlog_pos (its server did not answer): the drain covered the relay log only",
                            confirmedByAgent: true
                        )
                    )
                    return nil
                case .failed(let failure):
                    agentAnswered = true
                    self.logger.warning(
                        "Agent could not fence its host",
                        metadata: [LogKey.host: "\(host)", LogKey.error: "\(failure.code): \(failure.message)"]
                    )
                default:
                    break
                }
            } catch is CancellationError {
                return nil
            } catch {
                self.logger.warning(
                    "Could not reach the agent of a host that may still write",
                    metadata: [LogKey.host: "\(host)", LogKey.error: "\(error)"]
                )
                // Its agent is silent, but the candidate may reach its server (DESIGN.md §4 step 2); only when it
                // cannot, kill_host_bin.
                // On the first pass, a candidate that just could not reach the server goes straight to the kill;
                // later passes ask it again (the network may be back).
                let skipSQL = !killTried && self.candidateCannotReach.contains(host)
                if !skipSQL, await self.fenceThroughCandidate(host) { return nil }
                if !killTried {
                    killTried = true
                    if await self.killHost(host) {
                        self.post(.writerFenced(host: host, token: self.token, how: "killed by \(self.killHostBin)"))
                        return nil
                    }
                }
            }
            // Read each time: a renewal still in flight when fencing began moves the lease's end.
            let lastRenewal = link.lastRenewalStarted
            let leaseEnd = self.lease.earliestPromotion(
                lastSentToOldWriter: .zero,
                candidateAcknowledgedAt: MonitorInstant(sinceOrigin: acknowledgedAt - lastRenewal)
            )
            if !agentAnswered, ContinuousClock.now >= lastRenewal + leaseEnd.sinceOrigin {
                self.post(
                    .writerFenced(
                        host: host, token: self.token, how: "its writer lease has certainly run out",
                        skipped: "fencing \(host) (nothing reached its agent or its server) and the catch-up to its gtid_binlog_pos"
                    )
                )
                return nil
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }

    /// Asks the candidate's agent to fence `host`'s server over SQL; true (and the fencing posted) when it did. The
    /// drain then waits for the candidate's relay log only: `host`'s own binlog position is not read this way.
    private func fenceThroughCandidate(_ host: String) async -> Bool {
        guard let candidateLink = self.links[self.candidate] else { return false }
        let order = FenceOrder(target: host, epoch: self.epoch, reason: "its agent does not answer; the writer role moves to \(self.candidate)")
        guard case .fenced(let report)? = try? await candidateLink.send(.fence(order), replyTimeout: .seconds(4)), report.readOnly else {
            return false
        }
        self.post(
            .writerFenced(
                host: host, token: self.token,
                how: "read_only set and \(report.sessionsKilled) sessions killed over SQL by \(self.candidate)'s agent (its own agent does not answer; its lease drops its VIP)",
                skipped: "dropping \(host)'s writer IP (its agent did not answer) and the catch-up to its gtid_binlog_pos"
            )
        )
        return true
    }

    /// Runs `kill_host_bin HOST` (no shell) if the program exists; true when it exited 0.
    private func killHost(_ host: String) async -> Bool {
        guard FileManager.default.isExecutableFile(atPath: self.killHostBin) else { return false }
        do {
            let result = try await self.runner.run(self.killHostBin, [host], deadline: .seconds(10))
            self.logger.notice(
                "kill_host_bin ran",
                metadata: [LogKey.host: "\(host)", "mmm.exit": "\(result.status)"]
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
        let deadline = ContinuousClock.now + self.drainTimeout
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
            if ContinuousClock.now >= deadline {
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
