import Foundation
import Logging
import MMMControl
import MMMCore
import MMMDaemon
import MMMProtocol
import MMMSystem
import Synchronization

/// The decision loop's state: the machine, the delivery bookkeeping, the epoch and the promotion in progress.
///
/// Owned by one task (``MonitorService``'s loop); it does no I/O itself. Inputs become machine events; the actions
/// the machine returns are executed by the service.
struct DecisionLoop {
    /// The cluster's decisions.
    private(set) var machine: ClusterStateMachine
    /// Which role IPs each host may hold, and the status each is sent.
    private(set) var plan: StatusPlan
    /// The epoch every status carries; raised at each promotion, never lower than a previous run's.
    private(set) var epoch: UInt64
    /// The promotion in progress: its candidate and token.
    private(set) var promotion: (host: String, token: UInt64)?
    /// Hosts whose GTID state was compared with the current writer's and found clean since they last could have
    /// diverged (monitor start, HARD_OFFLINE, losing the writer role): only they are told to replicate from the writer,
    /// and the writer replicates from its peer only when the peer is one of them (rule R2: compare before any START
    /// SLAVE of a returning host).
    private(set) var cleared: Set<String> = []
    private var lastErrantLogged: [String: [String]] = [:]
    private var writerSeen: String?
    /// The report of the promotion in progress.
    private(set) var recorder: FailoverRecorder?
    /// The last finished report (restored from the status file).
    private(set) var lastReport: FailoverReport?
    /// The last state-changing control command, as typed (a promotion's cause when no host failed).
    private(set) var lastCommand: String?
    /// The last cross-check that confirmed a writer unreachable: the writer and what the others said.
    private(set) var lastCrossCheck: (host: String, text: String, unreachableFrom: [String])?
    private var nextToken: UInt64 = 0
    private var lastSaved: MonitorStatus?
    private var published: [String: SetStatus] = [:]
    private var lastAgentError: [String: String] = [:]
    /// Hosts whose agent refused connections and has not answered since, persisted (``MonitorStatus/agentsRefusing``).
    private(set) var refusing: Set<String>
    private var unreachableSince: [String: String] = [:]
    private var hasNetwork = true
    private let settings: MonitorSettings
    private let clock: MMMClock
    private let logger: Logger

    /// Resolves the startup state from the status file and the agents' reports.
    init(
        settings: MonitorSettings,
        stored: MonitorStatus?,
        observations: [String: MonitorService.AgentObservation],
        clock: MMMClock,
        logger: Logger
    ) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.machine = ClusterStateMachine(
            topology: settings.topology,
            policy: settings.policy,
            checkPolicies: settings.checkPolicies,
            restoring: stored?.cluster,
            observations: observations.mapValues(\.startup),
            at: clock.now
        )
        let writerIP = settings.topology.writerRoleIP
        var claims: [String: Set<RoleIP>] = [:]
        let roleIPs = settings.topology.roles.flatMap { role in role.effectiveIPs.map { RoleIP(role: role.name, ip: $0) } }
        for host in settings.hostNames {
            guard let observation = observations[host], observation.answered else {
                // Nothing known: it may be the writer until fenced or its lease has run out.
                claims[host] = [writerIP]
                continue
            }
            var held = Set(roleIPs.filter { observation.startup.configuredIPs.contains($0.ip) })
            held.formUnion(observation.startup.agentRoles)
            if observation.startup.writable { held.insert(writerIP) }
            claims[host] = held
        }
        self.plan = StatusPlan(writerRoleIP: writerIP, claims: claims)
        self.epoch = max((stored?.epoch ?? 0) + 1, UInt64(max(0, clock.wallMilliseconds)))
        self.lastSaved = stored
        self.lastReport = stored?.lastFailover
        self.refusing = Set(stored?.agentsRefusing ?? [])
    }

    // MARK: - Inputs

    /// The first pass after startup.
    mutating func started(at now: MonitorInstant) -> [ClusterAction] {
        if let cause = self.machine.passiveCause, self.machine.mode == .passive {
            self.logger.critical("Monitor starts in PASSIVE mode", metadata: [LogKey.error: "\(cause)"])
        }
        return self.machine.started(at: now)
    }

    /// Whether the input last applied changed nothing that is persisted or published (a dead agent's repeated failed
    /// status push), so that the service can skip the persist-and-publish pass over every host.
    private(set) var lastInputChangedNothing = false

    /// Applies one input; returns the machine's actions.
    mutating func apply(_ input: MonitorInput, now: MonitorInstant, shared: MonitorShared) -> [ClusterAction] {
        self.lastInputChangedNothing = false
        switch input {
        case .check(let event):
            return self.machine.probeCompleted(
                host: event.host, check: event.check, outcome: event.outcome, at: event.at
            )
        case .tick:
            return self.machine.tick(at: now)
        case .network(let available):
            guard available != self.hasNetwork else { return [] }
            self.hasNetwork = available
            if available {
                self.logger.notice("Network self-check passes again: decisions resume")
            } else {
                self.logger.critical("No ping_ips answer: the monitor may be cut off; decisions are frozen")
            }
            return self.machine.networkChanged(available: available, at: now)
        case .delivered(let host, let sent, let answer):
            self.plan.acknowledged(roles: sent.roles, by: host)
            if var recorder = self.recorder, recorder.report.candidate == host, self.promotion == nil,
                sent.roles.contains(self.settings.topology.writerRoleIP)
            {
                recorder.step("\(host)'s agent took the writer status (it drains once more, turns read_only off, takes the VIP)")
                recorder.finish("completed")
                self.lastReport = recorder.report
                self.recorder = nil
            }
            self.refusing.remove(host)
            if self.unreachableSince.removeValue(forKey: host) != nil {
                self.logger.notice("Agent answers again", metadata: [LogKey.host: "\(host)"])
            }
            self.writerReportsFenced(host, sent: sent, answer: answer)
            var taking: [ClusterAction] = []
            if !answer.lastError.isEmpty, sent.roles.contains(self.settings.topology.writerRoleIP) {
                // A promoted writer whose agent keeps failing (a refused promotion, a VIP another host answers for):
                // after writer_take_timeout the role goes to the next eligible host (bench finding 3).
                taking = self.machine.writerTakeFailing(host: host, error: answer.lastError, at: now)
                if !taking.isEmpty {
                    self.logger.error(
                        "The new writer could not take the role: trying the next eligible host",
                        metadata: [LogKey.host: "\(host)", LogKey.error: "\(answer.lastError)"]
                    )
                }
            }
            if answer.lastError != (self.lastAgentError[host] ?? "") {
                self.lastAgentError[host] = answer.lastError
                if !answer.lastError.isEmpty {
                    self.logger.error(
                        "Agent reports a failed step",
                        metadata: [LogKey.host: "\(host)", LogKey.error: "\(answer.lastError)"]
                    )
                }
            }
            return taking + self.machine.agentAnswered(
                host: host, uptime: .milliseconds(Int64(clamping: answer.uptimeMilliseconds)), at: now
            )
        case .deliveryFailed(let host, let reason, let refused):
            let planBefore = self.plan
            // Sticky like the link's flag: a timeout after a refusal proves the agent runs no more than the refusal did.
            let newlyRefusing = refused && self.refusing.insert(host).inserted
            let known = self.unreachableSince[host] != nil
            self.plan.unreachable(host)
            if self.unreachableSince[host] == nil {
                self.unreachableSince[host] = reason
                self.logger.warning("Agent does not take its status", metadata: [LogKey.host: "\(host)", LogKey.error: "\(reason)"])
            }
            let actions = self.machine.agentUnreachable(host: host, at: now)
            self.lastInputChangedNothing = known && actions.isEmpty && self.plan == planBefore && !newlyRefusing
            return actions
        case .systemInfo(let host, let info, let toldCount):
            let writerIP = self.settings.topology.writerRoleIP
            let holdsWriterIP = info.rolesOnInterface.contains(writerIP)
            // Told while the question was out (even if untold since), or still meaning to hold the role: the answer
            // may predate a take.
            let toldMeanwhile = toldCount != (self.plan.writerToldCount[host] ?? 0)
            let mayTake = (self.published[host]?.roles.contains(writerIP) ?? false) || toldMeanwhile || info.wantsWriterRole
                || self.promotion?.host == host
            self.plan.interfaceRead(of: host, holdsWriterIP: holdsWriterIP, told: mayTake)
            if info.writable, holdsWriterIP { self.machine.writerTaken(host: host, at: now) }
            if !info.writable, !holdsWriterIP, self.published[host] != nil, !mayTake {
                // Read-only, without the writer IP, and told not to write: it cannot become a writer by itself.
                self.plan.writerFenced(host)
            }
            return self.machine.rolesObserved(host: host, roleIPs: info.rolesOnInterface.map(\.ip), at: now)
        case .writerFenced(let host, let token, let how, let skipped, let fencedBy):
            guard self.promotion?.token == token else { return [] }
            self.plan.writerFenced(host, by: fencedBy)
            self.recorder?.step("\(host) can no longer write: \(how)")
            if let skipped { self.recorder?.skipped(skipped) }
            Failpoint.writerFenced.hit()
            self.logger.notice("Host can no longer write", metadata: [LogKey.host: "\(host)", LogKey.how: "\(how)"])
            return []
        case .drained(let host, let token, let window):
            guard self.promotion?.token == token else { return [] }
            self.recorder?.step("\(host) has applied everything it received\(window.map { " (\($0))" } ?? "")")
            Failpoint.drained.hit()
            if let window { self.recorder?.inFlight(window) }
            let remaining = self.plan.writerClaims(except: host)
            guard remaining.isEmpty else {
                // A writer claim appeared after the fencing pass; never promote over it.
                self.logger.error(
                    "Promotion refused: another host may still write",
                    metadata: [LogKey.host: "\(host)", LogKey.claims: "\(remaining.joined(separator: ","))"]
                )
                self.endPromotion(shared: shared)
                self.finishReport("failed: another host may still write (\(remaining.joined(separator: ", ")))")
                return self.machine.drainFailed(host: host, reason: "another host may still write", at: now)
            }
            self.endPromotion(shared: shared)
            return self.machine.promotionDrained(host: host, at: now)
        case .drainFailed(let host, let token, let reason):
            guard self.promotion?.token == token else { return [] }
            self.logger.error("Promotion failed", metadata: [LogKey.host: "\(host)", LogKey.error: "\(reason)"])
            self.endPromotion(shared: shared)
            self.finishReport("failed: \(reason)")
            return self.machine.drainFailed(host: host, reason: reason, at: now)
        case .gtidChecked(let writer, let host, let errant):
            guard self.machine.writer == writer, host != writer, self.machine.hosts[host] != nil else { return [] }
            guard errant.isEmpty else {
                self.cleared.remove(host)
                if errant != self.lastErrantLogged[host] {
                    self.lastErrantLogged[host] = errant
                    self.logger.error(
                        "Host has transactions the writer lacks: it stays out until repaired",
                        metadata: [LogKey.host: "\(host)", LogKey.writer: "\(writer)", LogKey.errant: "\(errant.joined(separator: ","))"]
                    )
                }
                return self.machine.gtidCompared(host: host, errant: errant, at: now)
            }
            self.lastErrantLogged[host] = nil
            if self.cleared.insert(host).inserted {
                self.logger.notice(
                    "Host's GTID state is contained in the writer's: it may replicate from the writer",
                    metadata: [LogKey.host: "\(host)", LogKey.writer: "\(writer)"]
                )
            }
            if !(self.machine.hosts[host]?.errantTransactions.isEmpty ?? true) {
                self.logger.notice("Host no longer has errant transactions", metadata: [LogKey.host: "\(host)"])
                return self.machine.gtidCompared(host: host, errant: [], at: now)
            }
            return []
        case .writerCrossChecked(let host, let reachableFrom, let unreachableFrom, let readOnlyFrom, let leaseRanOut):
            self.logger.notice(
                "Cross-check of the writer answered",
                metadata: [
                    LogKey.host: "\(host)", LogKey.reachableFrom: "\(reachableFrom.joined(separator: ","))",
                    LogKey.unreachableFrom: "\(unreachableFrom.joined(separator: ","))",
                    LogKey.readOnlyFrom: "\(readOnlyFrom.joined(separator: ","))",
                ]
            )
            if leaseRanOut {
                self.lastCrossCheck = (
                    host, "no monitor message has reached \(host) for longer than its lease: it has fenced itself", []
                )
            } else if !(unreachableFrom + readOnlyFrom).isEmpty, reachableFrom.isEmpty {
                var text: [String] = []
                if !unreachableFrom.isEmpty { text.append("\(unreachableFrom.joined(separator: ", ")) cannot reach \(host)'s mysqld either") }
                if !readOnlyFrom.isEmpty {
                    text.append("\(readOnlyFrom.joined(separator: ", ")) found it read-only (it fenced itself): it takes no writes")
                }
                self.lastCrossCheck = (host, text.joined(separator: "; "), unreachableFrom)
            }
            // To the machine, a writer that takes no writes is as unreachable as one that does not answer.
            return self.machine.writerCrossChecked(
                host: host, reachableFrom: reachableFrom, unreachableFrom: unreachableFrom + readOnlyFrom, at: now
            )
        case .positions(let host, let positions):
            return self.machine.positionsObserved(
                host: host, received: positions.received, applied: positions.applied, at: now
            )
        case .control(let request, let reply):
            let reachable = Set(self.settings.hostNames).subtracting(self.machine.agentDown)
            let clock = self.clock
            let outcome = ControlDispatcher.handle(
                verb: request.verb,
                arguments: request.arguments,
                machine: &self.machine,
                reachableAgents: reachable,
                now: now,
                time: { instant in MMMClock.text(of: clock.date(instant)) },
                failoverReport: self.recorder?.report ?? self.lastReport
            )
            if !outcome.actions.isEmpty {
                self.lastCommand = ([request.verb] + request.arguments).joined(separator: " ")
            }
            self.logger.info(
                "Control command",
                metadata: [LogKey.request: "\(request.verb) \(request.arguments.joined(separator: " "))", LogKey.errorReply: "\(outcome.isError)"]
            )
            reply(ControlResponse(isError: outcome.isError, text: outcome.text))
            return outcome.actions
        }
    }

    // MARK: - Promotion bookkeeping

    /// Starts tracking a promotion of `host`; returns the run that fences the others and drains it.
    mutating func beginPromotion(
        of host: String,
        previousWriter: String? = nil,
        cause: String = "the writer role had no holder",
        links: [String: AgentLink],
        shared: MonitorShared,
        runner: CommandRunner,
        post: @escaping @Sendable (MonitorInput) -> Void
    ) -> PromotionRun {
        self.nextToken += 1
        let token = self.nextToken
        self.promotion = (host, token)
        let claimed = self.plan.writerClaims(except: host)
        shared.state.withLock {
            $0.promotionToken = token
            $0.fencing = Set(claimed)
        }
        if let running = self.recorder {
            // A promotion replaced another before it finished.
            self.lastReport = running.report
        }
        var recorder = FailoverRecorder(cause: cause, previousWriter: previousWriter, candidate: host, clock: self.clock)
        var candidateCannotReach: Set<String> = []
        if let check = self.lastCrossCheck, check.host == previousWriter {
            recorder.step("cross-check: \(check.text)")
            if check.unreachableFrom.contains(host) { candidateCannotReach.insert(check.host) }
            self.lastCrossCheck = nil
        }
        recorder.step(
            claimed.isEmpty
                ? "no other host may write: nothing to fence"
                : "fencing \(claimed.joined(separator: ", ")) (may still write), then draining \(host)"
        )
        self.recorder = recorder
        let peersThatMayHaveACKed = self.machine.peersThatMayHaveACKed(except: host, previousWriter: previousWriter)
        return PromotionRun(
            candidate: host,
            token: token,
            claimed: claimed,
            candidateCannotReach: candidateCannotReach,
            epoch: self.epoch,
            peersThatMayHaveACKed: peersThatMayHaveACKed,
            links: links,
            lease: self.settings.lease,
            drainTimeout: self.settings.drainTimeout,
            killHostBin: self.settings.killHostBin,
            runner: runner,
            logger: self.logger,
            clock: self.clock,
            isCurrent: { token in shared.state.withLock { $0.promotionToken == token } },
            post: post
        )
    }

    /// The promotion of `host` was called off.
    mutating func cancelPromotion(of host: String, shared: MonitorShared) {
        guard self.promotion?.host == host else { return }
        self.endPromotion(shared: shared)
        self.finishReport("called off (the candidate left ONLINE, the role moved elsewhere, or the monitor went PASSIVE)")
    }

    /// The writer's agent took a status that gives it the writer role but answered that it is fenced (its lease ran
    /// out during a cut that healed before any failover, or a fence order of a promotion that did not happen): it
    /// takes the role again only under a newer epoch (DESIGN.md §9.2). While no promotion runs and the machine still
    /// means it to write, the monitor, which reaches it now, raises the epoch; every status is sent again with it.
    private mutating func writerReportsFenced(_ host: String, sent: SetStatus, answer: AgentStatus) {
        guard answer.fencedAwaitingEpoch, self.promotion == nil, self.machine.writer == host,
            sent.roles.contains(self.settings.topology.writerRoleIP), sent.epoch == self.epoch
        else { return }
        self.epoch = max(self.epoch + 1, UInt64(max(0, self.clock.wallMilliseconds)))
        self.logger.warning(
            "The writer fenced itself while the monitor could not reach it; it is given the role again under a new epoch",
            metadata: [LogKey.host: "\(host)", LogKey.epoch: "\(self.epoch)"]
        )
    }

    /// `host` became the writer: a new epoch.
    mutating func promoted(_ host: String, role: RoleIP) {
        self.epoch = max(self.epoch + 1, UInt64(max(0, self.clock.wallMilliseconds)))
        self.recorder?.step("\(host) is the writer (epoch \(self.epoch)): its status is sent")
    }

    private mutating func finishReport(_ outcome: String) {
        guard var recorder = self.recorder else { return }
        recorder.finish(outcome)
        self.lastReport = recorder.report
        self.recorder = nil
    }

    private mutating func endPromotion(shared: MonitorShared) {
        self.promotion = nil
        self.nextToken += 1
        let token = self.nextToken
        shared.state.withLock {
            $0.promotionToken = token
            $0.fencing = []
        }
    }

    // MARK: - Persistence and publication

    /// The status to save, when it differs from the last one saved.
    func statusToSave() -> MonitorStatus? {
        let status = MonitorStatus(
            cluster: self.machine.snapshot, epoch: self.epoch, lastFailover: self.recorder?.report ?? self.lastReport,
            agentsRefusing: self.refusing.isEmpty ? nil : self.refusing.sorted()
        )
        return status == self.lastSaved ? nil : status
    }

    /// `status` was saved.
    mutating func saved(_ status: MonitorStatus) {
        self.lastSaved = status
    }

    /// The writer's master-master peer when it is ONLINE and cleared: the writer replicates from it (the ring is
    /// closed).
    var writerSource: String? {
        guard let writer = self.machine.writer,
            let peer = self.settings.topology.hosts.first(where: { $0.name == writer })?.peer,
            self.settings.topology.hosts.contains(where: { $0.name == peer && $0.mode == .master }),
            self.machine.state(of: peer) == .online, self.cleared.contains(peer)
        else { return nil }
        return peer
    }

    /// The hosts to compare with the writer now: those not cleared that can be reached, and those held for errant
    /// transactions (to see them repaired).
    var hostsToCompare: [String] {
        guard let writer = self.machine.writer else { return [] }
        return self.settings.hostNames.filter { host in
            guard host != writer, let machine = self.machine.hosts[host], machine.state != .hardOffline else { return false }
            return !self.cleared.contains(host) || !machine.errantTransactions.isEmpty
        }
    }

    /// Computes every agent's status and publishes it; returns the hosts whose status changed.
    mutating func publishDesiredStatuses(into shared: MonitorShared) -> [String] {
        // A host that was unreachable, or that lost the writer role, may have transactions the writer lacks.
        let writer = self.machine.writer
        if writer != self.writerSeen {
            if let previous = self.writerSeen { self.cleared.remove(previous) }
            if let writer { self.cleared.remove(writer) }
            self.writerSeen = writer
        }
        for (host, machine) in self.machine.hosts where machine.state == .hardOffline {
            self.cleared.remove(host)
        }
        let compare = writer.map { (writer: $0, hosts: self.hostsToCompare) }
        let errant = self.machine.hosts.compactMapValues { $0.errantTransactions.isEmpty ? nil : $0.errantTransactions }
        shared.state.withLock {
            $0.gtidChecks = compare
            $0.errant = errant
        }
        // PASSIVE: agents hear nothing new (MMM); they keep the status they had, renewed as it was.
        guard self.machine.mode != .passive else { return [] }
        let writerSource = self.writerSource
        var changed: [String] = []
        for host in self.settings.hostNames {
            let status = SetStatus(
                self.plan.status(
                    for: host, machine: self.machine, epoch: self.epoch, writerSource: writerSource, cleared: self.cleared
                )
            )
            guard status != self.published[host] else { continue }
            self.plan.publishing(status.roles, to: host)
            self.published[host] = status
            changed.append(host)
        }
        let published = self.published
        let toldCount = self.plan.writerToldCount
        shared.state.withLock {
            $0.desired = published
            $0.writerToldCount = toldCount
        }
        return changed
    }
}

extension MMMClock {
    /// `checks`' time format, in the local time zone: `2026/11/26 05:12:01`.
    static func text(of date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let offset = TimeZone.current.secondsFromGMT(for: date)
        return ChecksFormatter.timestamp(unixSeconds: seconds, utcOffsetSeconds: offset)
    }
}
