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

/// Carrying out the decision loop's actions: statuses, promotions, cross-checks, persistence.
extension MonitorService {
    /// Carries out the decision loop's actions in order (statuses, promotions, cross-checks), then persists.
    func execute(
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

    /// Saves the status file when the cluster changed and publishes the statuses the agents are to be sent.
    func persistAndPublish(
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
}
