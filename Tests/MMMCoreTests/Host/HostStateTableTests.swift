import MMMCore
import Testing

/// One row of MMM's transition table (behaviour reference §3.3), as a scripted evaluation.
struct TransitionRow: Sendable, CustomTestStringConvertible {
    /// What the row exercises, for the test report.
    var name: String
    var from: HostState
    var flapping: Bool = false
    var checks: HostCheckStatus = .allOK
    var isActiveMaster: Bool = false
    var peer: PeerView? = PeerView(state: .online, onlineSince: .seconds(0), isReachable: true)
    var activeMasterExists: Bool = true
    var canBeActiveMaster: Bool = true
    /// Time in `from` before the evaluation.
    var stateAge: Duration = .seconds(1000)
    /// Age of the last check change (for the flap quiet period).
    var lastCheckChangeAge: Duration = .seconds(1000)
    /// For AWAITING_RECOVERY: uptime at the last answer while ONLINE, and now (quick-recovery rule).
    var uptimes: (lastOnline: Duration, now: Duration)? = nil
    var errant: [String] = []
    var policy = ClusterPolicy(autoSetOnline: nil)
    /// nil: no transition.
    var expected: HostState?
    var rule: HostTransitionRule? = nil
    var notifies: Bool = true

    var testDescription: String { self.name }
}

/// Every rule of MMM's table, including the no-transition guards, plus swift-mmm's errant-GTID rows.
let mmmTransitionTable: [TransitionRow] = [
    // ONLINE
    TransitionRow(name: "ONLINE, ping fails -> HARD_OFFLINE", from: .online,
                  checks: HostCheckStatus(ping: false, mysql: true, repThreads: true, repBacklog: true),
                  expected: .hardOffline, rule: .checksFailed),
    TransitionRow(name: "ONLINE, mysql fails -> HARD_OFFLINE", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: false, repThreads: true, repBacklog: true),
                  expected: .hardOffline, rule: .checksFailed),
    TransitionRow(name: "ONLINE active master, mysql fails -> HARD_OFFLINE", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: false, repThreads: true, repBacklog: true),
                  isActiveMaster: true, expected: .hardOffline, rule: .checksFailed),
    TransitionRow(name: "ONLINE active master, rep_threads fails -> stays (replication not judged)", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  isActiveMaster: true, expected: nil),
    TransitionRow(name: "ONLINE, peer ONLINE for under 5 s (the grace), rep_threads fails -> stays", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  peer: PeerView(state: .online, onlineSince: .seconds(996), isReachable: true), expected: nil),
    TransitionRow(name: "ONLINE, rep_threads fails, peer ONLINE and reachable -> REPLICATION_FAIL", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  expected: .replicationFail, rule: .replicationBroken),
    TransitionRow(name: "ONLINE, rep_threads fails, peer ONLINE but unreachable -> stays", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  peer: PeerView(state: .online, onlineSince: .seconds(0), isReachable: false), expected: nil),
    TransitionRow(name: "ONLINE, rep_threads fails, peer HARD_OFFLINE -> stays", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  peer: PeerView(state: .hardOffline, isReachable: false), expected: nil),
    TransitionRow(name: "ONLINE, rep_threads fails, no peer -> stays", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  peer: nil, expected: nil),
    TransitionRow(name: "ONLINE, rep_backlog fails, peer ONLINE and reachable -> REPLICATION_DELAY", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false),
                  expected: .replicationDelay, rule: .replicationLagging),
    TransitionRow(name: "ONLINE, both rep checks fail -> REPLICATION_FAIL (threads first)", from: .online,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: false),
                  expected: .replicationFail, rule: .replicationBroken),
    TransitionRow(name: "ONLINE, all OK -> stays", from: .online, expected: nil),
    TransitionRow(name: "ONLINE, errant GTIDs -> REPLICATION_FAIL (swift-mmm)", from: .online,
                  errant: ["0-1-5"], expected: .replicationFail, rule: .errantTransactions),
    TransitionRow(name: "ONLINE active master, errant list ignored -> stays", from: .online,
                  isActiveMaster: true, errant: ["0-1-5"], expected: nil),

    // AWAITING_RECOVERY
    TransitionRow(name: "AWAITING_RECOVERY, ping fails -> HARD_OFFLINE without notify", from: .awaitingRecovery,
                  checks: HostCheckStatus(ping: false, mysql: true, repThreads: true, repBacklog: true),
                  expected: .hardOffline, rule: .checksFailed, notifies: false),
    TransitionRow(name: "AWAITING_RECOVERY, flapping, auto_set_online, quiet for flap_duration -> ONLINE",
                  from: .awaitingRecovery, flapping: true, lastCheckChangeAge: .seconds(3600),
                  policy: ClusterPolicy(autoSetOnline: .seconds(10)), expected: .online, rule: .flapQuietPeriodElapsed),
    TransitionRow(name: "AWAITING_RECOVERY, flapping, auto_set_online, not quiet long enough -> stays",
                  from: .awaitingRecovery, flapping: true, lastCheckChangeAge: .seconds(3599),
                  policy: ClusterPolicy(autoSetOnline: .seconds(10)), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, flapping, auto_set_online off -> stays", from: .awaitingRecovery,
                  flapping: true, lastCheckChangeAge: .seconds(99999), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, flapping, quick-recovery uptime -> stays (flapping wins)",
                  from: .awaitingRecovery, flapping: true, uptimes: (.seconds(1000), .seconds(1030)), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, down 30 s without reboot -> ONLINE (quick recovery)",
                  from: .awaitingRecovery, uptimes: (.seconds(1000), .seconds(1030)),
                  expected: .online, rule: .quickRecovery),
    TransitionRow(name: "AWAITING_RECOVERY, down 60 s -> stays (window is under 60 s)", from: .awaitingRecovery,
                  uptimes: (.seconds(1000), .seconds(1060)), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, rebooted (uptime went down) -> stays", from: .awaitingRecovery,
                  uptimes: (.seconds(1000), .seconds(20)), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, quick recovery but rep_threads fails -> stays (all 4 OK needed)",
                  from: .awaitingRecovery,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  uptimes: (.seconds(1000), .seconds(1030)), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, auto_set_online elapsed -> ONLINE", from: .awaitingRecovery,
                  stateAge: .seconds(10), policy: ClusterPolicy(autoSetOnline: .seconds(10)),
                  expected: .online, rule: .autoSetOnline),
    TransitionRow(name: "AWAITING_RECOVERY, auto_set_online not yet elapsed -> stays", from: .awaitingRecovery,
                  stateAge: .seconds(9), policy: ClusterPolicy(autoSetOnline: .seconds(10)), expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, auto_set_online off -> stays", from: .awaitingRecovery, expected: nil),
    TransitionRow(name: "AWAITING_RECOVERY, errant GTIDs -> REPLICATION_FAIL, never ONLINE (swift-mmm)",
                  from: .awaitingRecovery, stateAge: .seconds(10), errant: ["1-2-7"],
                  policy: ClusterPolicy(autoSetOnline: .seconds(10)), expected: .replicationFail, rule: .errantTransactions),

    // HARD_OFFLINE
    TransitionRow(name: "HARD_OFFLINE, still unreachable -> stays", from: .hardOffline,
                  checks: HostCheckStatus(ping: true, mysql: false, repThreads: true, repBacklog: true), expected: nil),
    TransitionRow(name: "HARD_OFFLINE, reachable, active master exists, rep_threads fails -> REPLICATION_FAIL",
                  from: .hardOffline, checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  expected: .replicationFail, rule: .replicationBroken),
    TransitionRow(name: "HARD_OFFLINE, reachable, no active master, cannot be master, rep_threads fails -> REPLICATION_FAIL",
                  from: .hardOffline, checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  activeMasterExists: false, canBeActiveMaster: false, expected: .replicationFail, rule: .replicationBroken),
    TransitionRow(name: "HARD_OFFLINE, reachable, no active master, can be master, rep_threads fails -> AWAITING_RECOVERY",
                  from: .hardOffline, checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  activeMasterExists: false, canBeActiveMaster: true, expected: .awaitingRecovery, rule: .reachableAgain),
    TransitionRow(name: "HARD_OFFLINE, reachable, active master exists, rep_backlog fails -> REPLICATION_DELAY",
                  from: .hardOffline, checks: HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false),
                  expected: .replicationDelay, rule: .replicationLagging),
    TransitionRow(name: "HARD_OFFLINE, reachable and healthy -> AWAITING_RECOVERY", from: .hardOffline,
                  expected: .awaitingRecovery, rule: .reachableAgain),
    TransitionRow(name: "HARD_OFFLINE, reachable with errant GTIDs -> REPLICATION_FAIL (swift-mmm)", from: .hardOffline,
                  errant: ["0-1-9"], expected: .replicationFail, rule: .errantTransactions),

    // REPLICATION_FAIL / REPLICATION_DELAY
    TransitionRow(name: "REPLICATION_FAIL, threads back but backlog too big -> REPLICATION_DELAY without notify",
                  from: .replicationFail, checks: HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false),
                  expected: .replicationDelay, rule: .replicationLagging, notifies: false),
    TransitionRow(name: "REPLICATION_DELAY, threads fail -> REPLICATION_FAIL without notify", from: .replicationDelay,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: false),
                  expected: .replicationFail, rule: .replicationBroken, notifies: false),
    TransitionRow(name: "REPLICATION_FAIL, healthy again -> ONLINE", from: .replicationFail,
                  expected: .online, rule: .replicationRecovered),
    TransitionRow(name: "REPLICATION_DELAY, healthy again -> ONLINE", from: .replicationDelay,
                  expected: .online, rule: .replicationRecovered),
    TransitionRow(name: "REPLICATION_FAIL, healthy again, flapping -> AWAITING_RECOVERY", from: .replicationFail,
                  flapping: true, expected: .awaitingRecovery, rule: .replicationRecovered),
    TransitionRow(name: "REPLICATION_DELAY, healthy again, flapping -> AWAITING_RECOVERY", from: .replicationDelay,
                  flapping: true, expected: .awaitingRecovery, rule: .replicationRecovered),
    TransitionRow(name: "REPLICATION_FAIL, still broken, peer not ONLINE -> ONLINE (MMM's peer clause)",
                  from: .replicationFail, checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true),
                  peer: PeerView(state: .hardOffline, isReachable: false), expected: .online, rule: .replicationRecovered),
    TransitionRow(name: "REPLICATION_DELAY, still lagging, peer not ONLINE -> ONLINE (MMM's peer clause)",
                  from: .replicationDelay, checks: HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false),
                  peer: PeerView(state: .awaitingRecovery, isReachable: true), expected: .online, rule: .replicationRecovered),
    TransitionRow(name: "REPLICATION_FAIL, still broken, peer ONLINE -> stays", from: .replicationFail,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true), expected: nil),
    TransitionRow(name: "REPLICATION_DELAY, still lagging, peer ONLINE -> stays", from: .replicationDelay,
                  checks: HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false), expected: nil),
    TransitionRow(name: "REPLICATION_FAIL, replication checks not known yet, peer ONLINE -> stays", from: .replicationFail,
                  checks: HostCheckStatus(ping: true, mysql: true), expected: nil),
    TransitionRow(name: "REPLICATION_FAIL, backlog fails, threads not known yet -> stays", from: .replicationFail,
                  checks: HostCheckStatus(ping: true, mysql: true, repBacklog: false), expected: nil),
    TransitionRow(name: "REPLICATION_FAIL, unreachable -> HARD_OFFLINE", from: .replicationFail,
                  checks: HostCheckStatus(ping: false, mysql: false, repThreads: false, repBacklog: true),
                  expected: .hardOffline, rule: .checksFailed),
    TransitionRow(name: "REPLICATION_DELAY, unreachable -> HARD_OFFLINE", from: .replicationDelay,
                  checks: HostCheckStatus(ping: true, mysql: false, repThreads: true, repBacklog: false),
                  expected: .hardOffline, rule: .checksFailed),
    TransitionRow(name: "REPLICATION_FAIL, healthy but errant -> stays (swift-mmm)", from: .replicationFail,
                  errant: ["0-2-3"], expected: nil),
    TransitionRow(name: "REPLICATION_DELAY, errant -> REPLICATION_FAIL (swift-mmm)", from: .replicationDelay,
                  errant: ["0-2-3"], expected: .replicationFail, rule: .errantTransactions),

    // ADMIN_OFFLINE is skipped by the state machine, whatever the checks say.
    TransitionRow(name: "ADMIN_OFFLINE, all OK -> stays", from: .adminOffline, expected: nil),
    TransitionRow(name: "ADMIN_OFFLINE, unreachable -> stays", from: .adminOffline,
                  checks: HostCheckStatus(ping: false, mysql: false), expected: nil),
]

@Suite struct HostStateTableTests {
    @Test(arguments: mmmTransitionTable)
    func transitionTableRow(_ row: TransitionRow) {
        let now = MonitorInstant.seconds(1000)
        var machine = HostStateMachine.make(row, now: now)
        var checks = row.checks
        for check in CheckKind.allCases {
            checks.lastChanges[check] = MonitorInstant(sinceOrigin: now.sinceOrigin - row.lastCheckChangeAge)
        }
        let input = HostEvaluation(
            checks: checks,
            isActiveMaster: row.isActiveMaster,
            peer: row.peer,
            activeMasterExists: row.activeMasterExists,
            canBeActiveMaster: row.canBeActiveMaster
        )
        let action = machine.checksEvaluated(input, at: now)
        if let expected = row.expected {
            let transition = HostTransition(
                from: row.from,
                to: expected,
                rule: try! #require(row.rule, "row names its rule"),  // table rows with a target name a rule
                notifiesAgent: row.notifies
            )
            #expect(action == .transition(transition))
            #expect(machine.state == expected)
            #expect(machine.stateSince == now)
        } else {
            #expect(action == .stay)
            #expect(machine.state == row.from)
        }
    }

    /// The table covers every state as a source and every state MMM's table can reach.
    @Test func tableCoversEveryState() {
        let sources = Set(mmmTransitionTable.map(\.from))
        let targets = Set(mmmTransitionTable.compactMap(\.expected))
        #expect(sources == Set(HostState.allCases))
        #expect(targets == Set(HostState.allCases).subtracting([.adminOffline]))
    }
}

extension HostStateMachine {
    /// A machine in `row.from` since `row.stateAge` before `now`, with the row's flapping, errant and uptime memory.
    static func make(_ row: TransitionRow, now: MonitorInstant) -> HostStateMachine {
        let since = MonitorInstant(sinceOrigin: now.sinceOrigin - row.stateAge)
        guard let uptimes = row.uptimes else {
            return HostStateMachine(
                restoring: HostSnapshot(state: row.from, flapping: row.flapping, errantTransactions: row.errant),
                policy: row.policy,
                at: since
            )
        }
        // Build the uptime memory the way it happens: an answer while ONLINE, then a drop and a return.
        var machine = HostStateMachine(
            restoring: HostSnapshot(state: .online, flapping: row.flapping, errantTransactions: row.errant),
            policy: row.policy,
            at: .zero
        )
        machine.agentAnswered(uptime: uptimes.lastOnline)
        _ = machine.checksEvaluated(HostEvaluation(checks: HostCheckStatus(ping: false, mysql: false)), at: .zero)
        _ = machine.checksEvaluated(HostEvaluation(checks: .allOK), at: .zero)
        machine.agentAnswered(uptime: uptimes.now)
        precondition(machine.state == .awaitingRecovery, "setup reaches AWAITING_RECOVERY, got \(machine.state)")
        return machine
    }
}
