/// What a host's peer looks like when the host is judged (MMM's `peer_state`, `peer_online_since`).
public struct PeerView: Hashable, Sendable {
    /// The peer's current state.
    public var state: HostState
    /// When the peer last became ONLINE, if it is ONLINE.
    public var onlineSince: MonitorInstant?
    /// The peer's `ping && mysql`.
    public var isReachable: Bool

    /// Creates a peer view.
    public init(state: HostState, onlineSince: MonitorInstant? = nil, isReachable: Bool) {
        self.state = state
        self.onlineSince = onlineSince
        self.isReachable = isReachable
    }
}

/// Everything one evaluation of a host needs besides the host's own memory (MMM §3.2).
public struct HostEvaluation: Hashable, Sendable {
    /// The host's debounced checks.
    public var checks: HostCheckStatus
    /// The host holds (or is being promoted to) the active-master role: its replication is not judged.
    public var isActiveMaster: Bool
    /// The peer (the configured peer; for a slave, the active master), if there is one.
    public var peer: PeerView?
    /// Some host holds the active-master role.
    public var activeMasterExists: Bool
    /// The host is listed in the active-master role's hosts.
    public var canBeActiveMaster: Bool

    /// Creates an evaluation input.
    public init(
        checks: HostCheckStatus,
        isActiveMaster: Bool = false,
        peer: PeerView? = nil,
        activeMasterExists: Bool = true,
        canBeActiveMaster: Bool = false
    ) {
        self.checks = checks
        self.isActiveMaster = isActiveMaster
        self.peer = peer
        self.activeMasterExists = activeMasterExists
        self.canBeActiveMaster = canBeActiveMaster
    }
}

/// What the monitor persists per host, and what a restarted monitor starts from.
public struct HostSnapshot: Hashable, Sendable, Codable {
    /// The state.
    public var state: HostState
    /// The flapping flag (cleared only by `set_online`).
    public var flapping: Bool
    /// Errant GTIDs last found on the host (empty when clean).
    public var errantTransactions: [String]

    /// Creates a snapshot.
    public init(state: HostState, flapping: Bool = false, errantTransactions: [String] = []) {
        self.state = state
        self.flapping = flapping
        self.errantTransactions = errantTransactions
    }
}

/// The monitor's view of one database host: MMM's host state table (§3.3) plus swift-mmm's rules.
///
/// A plain value: no I/O, no clock. The cluster machine feeds it debounced checks, agent answers and
/// GTID findings, and applies the transitions it returns to roles.
///
/// Differences from MMM 2.2, each deliberate:
/// - flap detection uses a sliding window (MMM anchors a fixed window at the first drop);
/// - a host with errant transactions never turns ONLINE by itself: every automatic path to ONLINE
///   (and AWAITING_RECOVERY, HARD_OFFLINE recovery) leads to REPLICATION_FAIL instead, and an ONLINE
///   host that is found errant leaves ONLINE. Only a clean GTID comparison lets MMM's rules apply again;
/// - at a first start (see ``isFirstStart``) a host in AWAITING_RECOVERY goes ONLINE as soon as its four
///   checks pass (MMM waits for `auto_set_online` or `set_online`); after any other transition MMM's rules
///   govern it.
public struct HostStateMachine: Hashable, Sendable {
    /// The current state.
    public private(set) var state: HostState
    /// When the state last changed (MMM's `last_state_change`).
    public private(set) var stateSince: MonitorInstant
    /// When the host last became ONLINE, while it is ONLINE.
    public var onlineSince: MonitorInstant? { self.state == .online ? self.stateSince : nil }
    /// The host is flapping: automatic recovery waits for `flap_duration` of quiet, or for `set_online`.
    public private(set) var flapping: Bool
    /// Drops from ONLINE inside the current flap window.
    public private(set) var flapDrops: [MonitorInstant]
    /// The agent host's uptime from its last answer.
    public private(set) var uptime: Duration?
    /// The agent host's uptime at its last answer while the host was ONLINE (MMM's `last_uptime`).
    public private(set) var lastOnlineUptime: Duration?
    /// Errant GTIDs last found (empty: clean or never compared).
    public private(set) var errantTransactions: [String]
    /// The host takes part in a first start: in AWAITING_RECOVERY it goes ONLINE
    /// (``HostTransitionRule/firstStart``) once ping, mysql, rep_threads and rep_backlog are all OK, without
    /// waiting for `auto_set_online`. Cleared by every transition, so a host that failed (or was set
    /// ONLINE or offline) before that is governed by MMM's rules from then on. Never persisted.
    public private(set) var isFirstStart: Bool

    private let policy: ClusterPolicy

    /// Creates a machine in `state` (a restored or startup-resolved state) since `now`.
    public init(state: HostState, policy: ClusterPolicy, since now: MonitorInstant) {
        self.state = state
        self.stateSince = now
        self.flapping = false
        self.flapDrops = []
        self.uptime = nil
        self.lastOnlineUptime = nil
        self.errantTransactions = []
        self.isFirstStart = false
        self.policy = policy
    }

    /// Creates a machine from a persisted snapshot, as of `now`.
    public init(restoring snapshot: HostSnapshot, policy: ClusterPolicy, at now: MonitorInstant) {
        self.init(state: snapshot.state, policy: policy, since: now)
        self.flapping = snapshot.flapping
        self.errantTransactions = snapshot.errantTransactions
    }

    /// What to persist.
    public var snapshot: HostSnapshot {
        HostSnapshot(state: self.state, flapping: self.flapping, errantTransactions: self.errantTransactions)
    }

    /// Why the host is in REPLICATION_FAIL, when it is.
    public var replicationFailReason: ReplicationFailReason? {
        switch self.state {
        case .replicationFail:
            return self.errantTransactions.isEmpty ? .replicationBroken : .errantTransactions(self.errantTransactions)
        case .online, .adminOffline, .hardOffline, .awaitingRecovery, .replicationDelay:
            return nil
        }
    }

    // MARK: - Inputs that only update memory

    /// The host's agent answered; `uptime` is the agent host's uptime from the reply.
    public mutating func agentAnswered(uptime: Duration) {
        self.uptime = uptime
        if self.state == .online {
            self.lastOnlineUptime = uptime
        }
    }

    /// The cluster found this a first start of a consistent cluster (no status file, no agent state): see
    /// ``isFirstStart``. Only a host in AWAITING_RECOVERY without errant transactions can take part; the call
    /// is ignored otherwise.
    public mutating func firstStartDeclared() {
        guard self.state == .awaitingRecovery, self.errantTransactions.isEmpty, !self.flapping else { return }
        self.isFirstStart = true
    }

    /// A GTID comparison with the writer finished: `errant` lists the host's transactions the writer
    /// lacks (empty when clean). Takes effect at the next evaluation.
    public mutating func gtidCompared(errant: [String]) {
        self.errantTransactions = errant
    }

    // MARK: - Evaluation (MMM's `_check_host_states`, one host)

    /// The result of one evaluation.
    public enum ChecksEvaluatedAction: Hashable, Sendable {
        /// No rule fired.
        case stay
        /// The host changed state.
        case transition(HostTransition)
    }

    /// The monitor evaluated the host with `input` at `now`: applies the first matching rule of the
    /// state table.
    public mutating func checksEvaluated(_ input: HostEvaluation, at now: MonitorInstant) -> ChecksEvaluatedAction {
        let checks = input.checks
        let reachable = checks.isReachable
        let errant = !self.errantTransactions.isEmpty && !input.isActiveMaster
        switch self.state {
        case .adminOffline:
            return .stay

        case .online:
            if !reachable {
                return .transition(self.enter(.hardOffline, rule: .checksFailed, at: now))
            }
            if input.isActiveMaster {
                return .stay
            }
            if errant {
                return .transition(self.enter(.replicationFail, rule: .errantTransactions, at: now))
            }
            guard let peer = input.peer, peer.state == .online else {
                return .stay
            }
            if let since = peer.onlineSince, since.duration(to: now) <= self.policy.peerOnlineGrace {
                return .stay
            }
            if checks.repThreads == false, peer.isReachable {
                return .transition(self.enter(.replicationFail, rule: .replicationBroken, at: now))
            }
            if checks.repBacklog == false, checks.repThreads != false, peer.isReachable {
                return .transition(self.enter(.replicationDelay, rule: .replicationLagging, at: now))
            }
            return .stay

        case .awaitingRecovery:
            if !reachable {
                return .transition(self.enter(.hardOffline, rule: .checksFailed, notify: false, at: now))
            }
            if errant {
                return .transition(self.enter(.replicationFail, rule: .errantTransactions, at: now))
            }
            guard checks.repThreads == true, checks.repBacklog == true else {
                return .stay
            }
            if self.isFirstStart {
                return .transition(self.enter(.online, rule: .firstStart, at: now))
            }
            if self.flapping {
                guard self.policy.autoSetOnline != nil else { return .stay }
                let quietSince = checks.lastChange ?? self.stateSince
                guard quietSince.duration(to: now) >= self.policy.flapDuration else { return .stay }
                return .transition(self.enter(.online, rule: .flapQuietPeriodElapsed, at: now))
            }
            if let last = self.lastOnlineUptime, last > .zero, let uptime = self.uptime {
                let down = uptime - last
                if down > .zero, down < self.policy.quickRecoveryWindow {
                    return .transition(self.enter(.online, rule: .quickRecovery, at: now))
                }
            }
            if let auto = self.policy.autoSetOnline, self.stateSince.duration(to: now) >= auto {
                return .transition(self.enter(.online, rule: .autoSetOnline, at: now))
            }
            return .stay

        case .hardOffline:
            guard reachable else { return .stay }
            if errant {
                return .transition(self.enter(.replicationFail, rule: .errantTransactions, at: now))
            }
            let judgeReplication = input.activeMasterExists || !input.canBeActiveMaster
            if judgeReplication, checks.repThreads == false {
                return .transition(self.enter(.replicationFail, rule: .replicationBroken, at: now))
            }
            if judgeReplication, checks.repBacklog == false {
                return .transition(self.enter(.replicationDelay, rule: .replicationLagging, at: now))
            }
            return .transition(self.enter(.awaitingRecovery, rule: .reachableAgain, at: now))

        case .replicationFail, .replicationDelay:
            if !reachable {
                return .transition(self.enter(.hardOffline, rule: .checksFailed, at: now))
            }
            if errant {
                guard self.state == .replicationDelay else { return .stay }
                return .transition(self.enter(.replicationFail, rule: .errantTransactions, at: now))
            }
            if self.state == .replicationFail, checks.repBacklog == false, checks.repThreads == true {
                return .transition(self.enter(.replicationDelay, rule: .replicationLagging, notify: false, at: now))
            }
            if self.state == .replicationDelay, checks.repThreads == false {
                return .transition(self.enter(.replicationFail, rule: .replicationBroken, notify: false, at: now))
            }
            // Unknown is not healthy here: after a monitor restart ping and mysql may arrive before the
            // replication checks, and a REPLICATION_* host must not go ONLINE on their absence.
            let healthy = checks.repThreads == true && checks.repBacklog == true
            let peerOnline = input.peer?.state == .online
            guard healthy || !peerOnline else { return .stay }
            let target: HostState = self.flapping ? .awaitingRecovery : .online
            return .transition(self.enter(target, rule: .replicationRecovered, at: now))
        }
    }

    // MARK: - Commands (validated by the cluster machine, which owns the reply texts)

    /// `set_online` was accepted: ONLINE, and the flapping flag is cleared (drops already counted in the
    /// window stay counted, as in MMM; the window restarted when the flag was raised).
    public mutating func setOnlineAccepted(at now: MonitorInstant) -> HostTransition {
        self.flapping = false
        return self.enter(.online, rule: .adminSetOnline, at: now)
    }

    /// `set_offline` was accepted: ADMIN_OFFLINE (not a flap).
    public mutating func setOfflineAccepted(at now: MonitorInstant) -> HostTransition {
        self.enter(.adminOffline, rule: .adminSetOffline, at: now)
    }

    /// `move_role --force` made this REPLICATION_* host ONLINE.
    public mutating func forcedOnline(at now: MonitorInstant) -> HostTransition {
        self.enter(.online, rule: .forcedOnline, at: now)
    }

    /// `move_role --force` took the writer from this host, whose own replication checks fail.
    public mutating func forcedDemotion(to state: HostState, at now: MonitorInstant) -> HostTransition {
        self.enter(state, rule: .forcedDemotion, at: now)
    }

    // MARK: - Private

    private mutating func enter(
        _ target: HostState,
        rule: HostTransitionRule,
        notify: Bool = true,
        at now: MonitorInstant
    ) -> HostTransition {
        let from = self.state
        var flapDetected = false
        if from == .online, target != .adminOffline, self.policy.flapCount > 0 {
            // Sliding window: only drops younger than flap_duration count (MMM anchors a fixed window).
            self.flapDrops.removeAll { $0.duration(to: now) >= self.policy.flapDuration }
            self.flapDrops.append(now)
            if self.flapDrops.count > self.policy.flapCount {
                self.flapping = true
                self.flapDrops = []
                flapDetected = true
            }
        }
        self.state = target
        self.stateSince = now
        self.isFirstStart = false
        return HostTransition(from: from, to: target, rule: rule, notifiesAgent: notify, flapDetected: flapDetected)
    }
}
