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

/// The monitor's background tasks: status pushes, the system-info, position and GTID pollers, the network check.
extension MonitorService {
    /// Sends `host` its current status whenever it changes and every status interval.
    ///
    /// An agent that could not even be connected to is retried less often while its status stays the same and does
    /// not let it write: after each such failure the wait doubles, from the status interval up to
    /// ``AgentBackoff/maximum``. A changed status is sent at once, and a status with the writer role every interval
    /// whatever happened (each one renews the writer's lease). So dead hosts cost the monitor little.
    ///
    /// Except: a status with the writer role is not sent while the host's `mysql` check fails and its agent left the
    /// last request unanswered (``AgentLink/agentSilent``): a frozen host accepts the connection and takes nothing, and
    /// each renewal started would push back the instant its lease has certainly run out, which is when a promotion may
    /// go on without it (issue 17: the promotion waited for the wake). A writer that only lost the monitor for a moment
    /// is renewed again as soon as either answers.
    func runPusher(
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
            // Held by a promotion that fences this host: pushed again once it is released (the next interval).
            if link.renewalsHeld { continue }
            if link.renewsWriterLease(.setStatus(status)), link.agentSilent,
                self.shared.state.withLock({ $0.mysqlFailing.contains(host) })
            {
                continue
            }
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
                post(.deliveryFailed(host: host, reason: "\(error)", refused: link.agentRefusing))
            }
        }
    }

    /// Records whether `event`'s host answered its last `mysql` check (``MonitorSharedState/mysqlFailing``).
    func noteMySQLCheck(_ event: CheckEvent) {
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
    func runSystemInfoPoller(host: String, link: AgentLink, post: @escaping @Sendable (MonitorInput) -> Void) async {
        await self.poll(host, link, every: self.settings.systemInfoInterval, .getSystemInfo) { answer, toldCount in
            guard case .systemInfo(let info) = answer else { return }
            post(.systemInfo(host: host, info, toldCount: toldCount))
        }
    }

    /// Asks `host` every second for its replication positions (`Gtid_IO_Pos`, `gtid_slave_pos`, `gtid_binlog_pos`),
    /// which rank writer candidates (DESIGN.md §4 step 3).
    func runPositionPoller(host: String, link: AgentLink, post: @escaping @Sendable (MonitorInput) -> Void) async {
        await self.poll(host, link, every: self.settings.positionsInterval, .getGTIDPositions) { answer, _ in
            guard case .gtidPositions(let reported) = answer else { return }
            do {
                let positions = try reported.replicationPositions()
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
    func poll(
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
    func runGTIDChecks(links: [String: AgentLink], post: @escaping @Sendable (MonitorInput) -> Void) async {
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

    /// A host's `gtid_binlog_state`, asked of its agent.
    static func binlogState(of link: AgentLink) async throws -> GTIDBinlogState {
        guard case .gtidPositions(let positions) = try await link.send(.getGTIDPositions, replyTimeout: .seconds(3)) else {
            throw MMMError(.unexpectedResult, "\(link.peer.name) did not report its GTID positions")
        }
        return try GTIDBinlogState(parsing: positions.binlogState)
    }

    /// Logs one check's cadence: `info`, or `warning` when the checks of hosts that answer fell behind (the monitor
    /// itself is too slow).
    func log(_ report: CheckCadenceReport) {
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
    func runNetworkCheck(pinger: ICMPPinger, post: @escaping @Sendable (MonitorInput) -> Void) async {
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
