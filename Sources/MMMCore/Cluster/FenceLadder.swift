/// The monitor's fencing ladder for one host that may still write, while a promotion waits (DESIGN.md §4 step 2,
/// §6, §9.3): a pure state machine that takes what happened and the time, and says what to try next.
///
/// The rungs, in order:
/// 1. **Order its agent to fence** (`read_only=ON`, sessions killed, writer IP dropped). A confirmed fence ends the
///    ladder; an agent that answers but cannot fence is asked again, after `kill_host_bin` was tried once.
/// 2. **Fence its server over SQL through the candidate's agent**, when its own agent does not answer (skipped on
///    the first pass when the candidate just said it cannot reach that server).
/// 3. **`kill_host_bin`**, once.
/// 4. **Wait out its writer lease**, counted from the last monitor message that may have renewed it
///    (``WriterLease/Configuration/earliestPromotion(lastSentToOldWriter:candidateAcknowledgedAt:)``). Only when its
///    agent is *silent* (a timeout: the host is cut off, frozen or down): an agent that *refuses* the connection is
///    not running, so no lease is kept on that host, and its server may go on writing and holding the VIP (bench
///    finding 4). A refused agent is never taken for a fenced host.
///
/// Past ``Configuration/giveUpAfter`` without a positive fence the ladder is stuck: the promotion stops and the
/// cluster stays without a writer, saying why, rather than risk two.
public struct FenceLadder: Sendable, Hashable {
    /// Timings.
    public struct Configuration: Sendable, Hashable {
        /// The writer lease's timings (the monitor's side uses `earliestPromotion`).
        public var lease: WriterLease.Configuration
        /// How long to wait between two rounds of the ladder.
        public var retryInterval: Duration
        /// How long the ladder may run without a positive fence before the promotion gives up.
        public var giveUpAfter: Duration

        /// Creates the timings.
        public init(lease: WriterLease.Configuration, retryInterval: Duration = .milliseconds(250), giveUpAfter: Duration = .seconds(60)) {
            self.lease = lease
            self.retryInterval = retryInterval
            self.giveUpAfter = giveUpAfter
        }
    }

    /// What the host's agent did with a fence order.
    public enum AgentAnswer: Sendable, Hashable {
        /// It fenced: `read_only` read back ON (`readOnly`), or its server did not answer but it dropped the writer IP.
        case fenced(readOnly: Bool)
        /// It answered, but could not fence (for example it could not drop the writer IP).
        case failed
        /// The connection was refused: the host is up and its agent is not running.
        case refused
        /// No answer: the connect or the reply timed out, or the host is unreachable.
        case silent
    }

    /// How the host was made unable to write.
    public enum How: Sendable, Hashable {
        /// Its agent confirmed the fence (`readOnly`: and `read_only` reads back ON).
        case agent(readOnly: Bool)
        /// Its server was fenced over SQL through the candidate's agent.
        case sqlThroughCandidate
        /// `kill_host_bin` succeeded.
        case killed
        /// Its lease has certainly run out (only for a silent agent).
        case leaseRanOut
    }

    /// The next thing to do.
    public enum Step: Sendable, Hashable {
        /// Send the fence order to the host's agent; answer with ``agentAnswered(_:at:)``.
        case orderAgent
        /// Ask the candidate's agent to fence the host's server over SQL; answer with ``sqlFenceAnswered(_:at:)``.
        case fenceThroughCandidate
        /// Run `kill_host_bin HOST`; answer with ``killAnswered(_:at:)``.
        case killHost
        /// Sleep until the instant, then call ``resume(at:lastRenewal:)``.
        case wait(until: MonitorInstant)
        /// The host can no longer write.
        case done(How)
        /// Nothing positive within ``Configuration/giveUpAfter``: stop the promotion and say why.
        case stuck(String)
    }

    /// The timings.
    public let configuration: Configuration
    /// When the ladder began (the candidate's first answer).
    public let startedAt: MonitorInstant
    /// The candidate said, in the cross-check that began the promotion, that it cannot reach the host's server.
    private let candidateCannotReach: Bool
    /// Whether `kill_host_bin` exists.
    private let canKill: Bool
    private var killTried = false
    private var passes = 0
    private var lastAnswer: AgentAnswer?
    /// The step last returned.
    public private(set) var step: Step = .orderAgent

    /// A ladder for one host, begun at `now`.
    public init(configuration: Configuration, candidateCannotReach: Bool, canKill: Bool, at now: MonitorInstant) {
        self.configuration = configuration
        self.startedAt = now
        self.candidateCannotReach = candidateCannotReach
        self.canKill = canKill
    }

    /// The agent's answer to the fence order.
    public mutating func agentAnswered(_ answer: AgentAnswer, at now: MonitorInstant) -> Step {
        self.lastAnswer = answer
        switch answer {
        case .fenced(let readOnly):
            return self.set(.done(.agent(readOnly: readOnly)))
        case .failed:
            // It hears the monitor, so its lease is no way out; the kill is.
            if self.canKill, !self.killTried { return self.set(.killHost) }
            return self.retryOrGiveUp(at: now, why: "its agent answers but cannot fence it")
        case .refused, .silent:
            // On the first pass, a candidate that just could not reach the server goes straight to the kill; later
            // passes ask it again (the network may be back).
            if self.passes == 0, self.candidateCannotReach { return self.afterSQLFence(at: now) }
            return self.set(.fenceThroughCandidate)
        }
    }

    /// The candidate's answer to the SQL fence: `succeeded` when `read_only` was read back ON.
    public mutating func sqlFenceAnswered(_ succeeded: Bool, at now: MonitorInstant) -> Step {
        if succeeded { return self.set(.done(.sqlThroughCandidate)) }
        return self.afterSQLFence(at: now)
    }

    /// `kill_host_bin`'s result: `succeeded` when it exited 0.
    public mutating func killAnswered(_ succeeded: Bool, at now: MonitorInstant) -> Step {
        self.killTried = true
        if succeeded { return self.set(.done(.killed)) }
        return self.leaseOrRetry(at: now)
    }

    /// The wait is over. `lastRenewal` is when the monitor last sent the host a message that may have renewed its
    /// lease (its start, not its answer: a message still in flight may yet arrive).
    public mutating func resume(at now: MonitorInstant, lastRenewal: MonitorInstant) -> Step {
        if self.lastAnswer == .silent, now >= self.leaseEnd(lastRenewal: lastRenewal) {
            return self.set(.done(.leaseRanOut))
        }
        self.passes += 1
        return self.set(.orderAgent)
    }

    /// How long the next rung's I/O (the fence order, the SQL fence through the candidate) may take, given `now` and
    /// the last renewal: once the host has been silent, a rung never keeps the promotion waiting past the instant its
    /// lease has certainly run out (a frozen host accepts the connection and never answers, so each rung would wait
    /// out its whole reply timeout, issue 17). Nil while the host has not been silent: its rungs take their own time.
    public func ioBudget(at now: MonitorInstant, lastRenewal: MonitorInstant) -> Duration? {
        guard self.lastAnswer == .silent else { return nil }
        return max(.milliseconds(100), now.duration(to: self.leaseEnd(lastRenewal: lastRenewal)))
    }

    /// When a silent host's lease has certainly run out and it has fenced itself, if it is cut off.
    public func leaseEnd(lastRenewal: MonitorInstant) -> MonitorInstant {
        self.configuration.lease.earliestPromotion(lastSentToOldWriter: lastRenewal, candidateAcknowledgedAt: self.startedAt)
    }

    private mutating func afterSQLFence(at now: MonitorInstant) -> Step {
        if self.canKill, !self.killTried { return self.set(.killHost) }
        return self.leaseOrRetry(at: now)
    }

    private mutating func leaseOrRetry(at now: MonitorInstant) -> Step {
        switch self.lastAnswer {
        case .refused:
            return self.retryOrGiveUp(
                at: now,
                why: "its agent refuses connections (not running: nothing keeps a lease there) and its server could not be fenced over SQL"
                    + (self.canKill ? " nor killed by kill_host_bin" : " and no kill_host_bin is configured")
                    + "; start its agent, or make it read-only and drop the writer IP by hand"
            )
        case .failed:
            return self.retryOrGiveUp(at: now, why: "its agent answers but cannot fence it")
        case .silent, .fenced, nil:
            return self.retryOrGiveUp(at: now, why: "nothing reached its agent or its server")
        }
    }

    private mutating func retryOrGiveUp(at now: MonitorInstant, why: String) -> Step {
        // A silent host always ends by its lease (resume), which comes long before giveUpAfter with sane settings;
        // the bound is for hosts whose agent answers "failed" or refuses.
        if self.lastAnswer != .silent, self.startedAt.duration(to: now) >= self.configuration.giveUpAfter {
            return self.set(.stuck("no positive fence within \(self.configuration.giveUpAfter): \(why)"))
        }
        return self.set(.wait(until: now + self.configuration.retryInterval))
    }

    private mutating func set(_ step: Step) -> Step {
        self.step = step
        return step
    }
}
