import Foundation
import Logging
import MMMConfig
import MMMCore
import MMMProtocol
import MMMSystem
import MMMTestSupport
import Synchronization
import Testing

@testable import MMMMonitor

/// The decision loop's bookkeeping as values: no agents, no sockets; inputs are posted by hand.
@Suite("DecisionLoop")
struct DecisionLoopTests {
    static let writer = RoleIP(role: "writer", ip: "198.18.0.200")
    static let reader = RoleIP(role: "reader", ip: "198.18.0.201")
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Settings for db1/db2 masters with an exclusive writer and one balanced reader; `commonExtra` is added to
    /// mmm_common.conf's top level, `monitorExtra` to `<monitor>`, and `files` (name → text) are written beside them.
    static func settings(
        commonExtra: String = "",
        monitorExtra: String = "",
        files: [String: String] = [:]
    ) async throws -> MonitorSettings {
        try await withTemporaryDirectory(prefix: "mmm-loop") { directory in
            let common = """
                active_master_role writer
                agent_secret loop-test-secret-0123456789
                \(commonExtra)
                <host default>
                    agent_user agent
                    agent_password agent_pw
                    monitor_user monitor
                    monitor_password monitor_pw
                    replication_user repl
                    replication_password repl_pw
                </host>
                <host db1>
                    ip 198.18.0.101
                    mode master
                    peer db2
                </host>
                <host db2>
                    ip 198.18.0.102
                    mode master
                    peer db1
                </host>
                <role writer>
                    hosts db1, db2
                    ips 198.18.0.200
                    mode exclusive
                </role>
                <role reader>
                    hosts db1, db2
                    ips 198.18.0.201
                    mode balanced
                </role>

                """
            let monitor = """
                include mmm_common.conf
                <monitor>
                    ip 127.0.0.1
                    pid_path \(directory)/mmm_mond.pid
                    bin_path /usr/libexec/mysql-mmm
                    status_path \(directory)/status
                    ping_ips 198.18.0.1
                    \(monitorExtra.replacing("DIR", with: directory))
                </monitor>

                """
            for (name, text) in [("mmm_common.conf", common), ("mmm_mon.conf", monitor)] + files.map({ ($0.key, $0.value) }) {
                let path = "\(directory)/\(name)"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o600)
            }
            return try MonitorSettings(configuration: ConfigDirectory(path: directory).loadMonitor())
        }
    }

    static func answered(writable: Bool = false, ips: [String] = [], state: HostState? = nil) -> MonitorService.AgentObservation {
        MonitorService.AgentObservation(
            startup: StartupObservation(agentState: state, writable: writable, configuredIPs: ips),
            answered: true
        )
    }

    static func silent() -> MonitorService.AgentObservation {
        MonitorService.AgentObservation(startup: StartupObservation(), answered: false)
    }

    @Test("a host whose agent did not answer at startup may be the writer; one that answered read-only may not")
    func startupClaims() async throws {
        let settings = try await Self.settings()
        let loop = DecisionLoop(
            settings: settings, stored: nil, observations: ["db1": Self.silent(), "db2": Self.answered()],
            clock: MMMClock.system, logger: Self.quiet
        )
        #expect(loop.plan.writerClaims(except: "db2") == ["db1"])
        #expect(loop.plan.writerClaims(except: "db1").isEmpty)
    }

    @Test("only the first failed push to a dead agent can change anything; repeats are marked as changing nothing")
    func repeatedDeliveryFailuresChangeNothing() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.answered()])
        _ = loop.apply(.deliveryFailed(host: "db2", reason: "refused"), now: clock.now, shared: shared)
        #expect(!loop.lastInputChangedNothing, "the first failure marks the agent down")
        _ = loop.apply(.deliveryFailed(host: "db2", reason: "refused"), now: clock.now, shared: shared)
        #expect(loop.lastInputChangedNothing)
        _ = loop.apply(.tick, now: clock.now, shared: shared)
        #expect(!loop.lastInputChangedNothing, "only a repeated failure is marked")
    }

    /// Found by the agent model at 100,000 histories: an agent stopped (refusing), then its host cut off, then the
    /// monitor restarted. The new process saw only silence, waited out a lease nobody kept, and promoted over a server
    /// that still wrote. The refusal is persisted until the agent answers, and a restarted monitor starts from it.
    @Test("an agent's refusal is persisted until it answers, and a restarted monitor starts from it")
    func refusingAgentsSurviveARestart() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.answered()])
        _ = loop.apply(.deliveryFailed(host: "db2", reason: "timed out"), now: clock.now, shared: shared)
        #expect(loop.statusToSave()?.agentsRefusing == nil, "a timeout is not a refusal")
        _ = loop.apply(.deliveryFailed(host: "db2", reason: "refused", refused: true), now: clock.now, shared: shared)
        #expect(!loop.lastInputChangedNothing, "a new refusal must be saved")
        let saved = try #require(loop.statusToSave())
        #expect(saved.agentsRefusing == ["db2"])
        loop.saved(saved)
        // Cut off now: timeouts do not clear it.
        _ = loop.apply(.deliveryFailed(host: "db2", reason: "timed out"), now: clock.now, shared: shared)
        #expect(loop.refusing == ["db2"])
        // Restarted from the file.
        var restarted = DecisionLoop(settings: settings, stored: saved, observations: [:], clock: clock, logger: Self.quiet)
        #expect(restarted.refusing == ["db2"])
        #expect(restarted.statusToSave()?.agentsRefusing == ["db2"])
        // The agent answers again: forgotten.
        let sent = SetStatus(state: .online, roles: [], activeMaster: "db1", epoch: restarted.epoch)
        let answer = AgentStatus(state: .online, roles: [], activeMaster: "db1", epoch: restarted.epoch, uptimeMilliseconds: 1)
        _ = restarted.apply(.delivered(host: "db2", sent: sent, answer: answer), now: clock.now, shared: shared)
        #expect(restarted.refusing.isEmpty)
        #expect(restarted.statusToSave()?.agentsRefusing == nil)
    }

    @Test("the epoch continues above the stored one")
    func epochNeverGoesBack() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let future = UInt64(clock.wallMilliseconds) + 10_000_000
        var snapshotSource = DecisionLoop(
            settings: settings, stored: nil, observations: [:], clock: clock, logger: Self.quiet
        )
        _ = snapshotSource.started(at: clock.now)
        let stored = MonitorStatus(cluster: snapshotSource.machine.snapshot, epoch: future)
        let loop = DecisionLoop(settings: settings, stored: stored, observations: [:], clock: clock, logger: Self.quiet)
        #expect(loop.epoch == future + 1)
    }

    @Test("a drain confirmation is refused while another host may still hold the writer role")
    func noPromotionOverAWriterClaim() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.silent()])
        let run = try await withRunner { runner in
            loop.beginPromotion(of: "db1", links: [:], shared: shared, runner: runner, post: { _ in })
        }
        #expect(run.claimed == ["db2"], "db2 is to be fenced first")
        #expect(shared.state.withLock { $0.fencing } == ["db2"])
        let actions = loop.apply(.drained(host: "db1", token: run.token, window: nil), now: clock.now, shared: shared)
        #expect(!actions.contains { if case .promote = $0 { return true } else { return false } })
        #expect(loop.promotion == nil, "the promotion ended")
        #expect(shared.state.withLock { $0.fencing }.isEmpty)
    }

    @Test(
        "only a candidate that failed to connect to the old writer skips fencing it over SQL; read-only or a lapsed lease does not",
        arguments: [
            (unreachable: ["db1"], readOnly: [String](), leaseRanOut: false, skips: true),
            (unreachable: [], readOnly: ["db1"], leaseRanOut: false, skips: false),
            (unreachable: ["db1"], readOnly: [], leaseRanOut: true, skips: false),
        ]
    )
    func candidateSkipsSQLFenceOnlyOnConnectFailure(case: (unreachable: [String], readOnly: [String], leaseRanOut: Bool, skips: Bool)) async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.silent()])
        _ = loop.apply(
            .writerCrossChecked(
                host: "db2", reachableFrom: [], unreachableFrom: `case`.unreachable, readOnlyFrom: `case`.readOnly,
                leaseRanOut: `case`.leaseRanOut
            ),
            now: clock.now, shared: shared
        )
        let run = try await withRunner { runner in
            loop.beginPromotion(of: "db1", previousWriter: "db2", links: [:], shared: shared, runner: runner, post: { _ in })
        }
        #expect(run.candidateCannotReach == (`case`.skips ? ["db2"] : []))
        #expect(loop.recorder?.report.steps.first?.text.hasPrefix("cross-check: ") == true)
    }

    @Test("a late result of a called-off promotion is ignored")
    func staleTokensIgnored() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.answered()])
        let run = try await withRunner { runner in
            loop.beginPromotion(of: "db1", links: [:], shared: shared, runner: runner, post: { _ in })
        }
        #expect(run.isCurrent(run.token))
        loop.cancelPromotion(of: "db1", shared: shared)
        #expect(!run.isCurrent(run.token))
        let actions = loop.apply(.drained(host: "db1", token: run.token, window: nil), now: clock.now, shared: shared)
        #expect(actions.isEmpty)
    }

    @Test("system info clears a writer claim only for a read-only host without the VIP that was told not to write")
    func systemInfoClearsClaims() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.silent(), "db2": Self.answered()])
        let info = SystemInfo(writable: false, rolesOnInterface: [], replicationSource: nil, uptimeMilliseconds: 1)
        // Nothing published to db1 yet: its claim stays.
        _ = loop.apply(.systemInfo(host: "db1", info, toldCount: 0), now: clock.now, shared: shared)
        #expect(loop.plan.writerClaims(except: "db2") == ["db1"])
        _ = loop.publishDesiredStatuses(into: shared)
        let count = loop.plan.writerToldCount["db1"] ?? 0
        let writable = SystemInfo(writable: true, rolesOnInterface: [], replicationSource: nil, uptimeMilliseconds: 1)
        _ = loop.apply(.systemInfo(host: "db1", writable, toldCount: count), now: clock.now, shared: shared)
        #expect(loop.plan.writerClaims(except: "db2") == ["db1"], "a writable host keeps its claim")
        _ = loop.apply(.systemInfo(host: "db1", info, toldCount: count), now: clock.now, shared: shared)
        #expect(loop.plan.writerClaims(except: "db2").isEmpty)
    }

    @Test("a system-info answer vouches that a host lacks the writer IP only if it was not told to take it while the question was out and does not want it")
    func staleSystemInfoVouchesForNothing() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.silent(), "db2": Self.answered()])
        _ = loop.publishDesiredStatuses(into: shared)
        let count = loop.plan.writerToldCount["db1"] ?? 0
        #expect(shared.state.withLock { $0.writerToldCount["db1"] ?? 0 } == count, "published for the pollers")
        let empty = SystemInfo(writable: false, rolesOnInterface: [], replicationSource: nil, uptimeMilliseconds: 1)
        // Its agent still means to take the role (a promotion in progress there): an empty interface proves nothing.
        var wanting = empty
        wanting.wantsWriterRole = true
        _ = loop.apply(.systemInfo(host: "db1", wanting, toldCount: count), now: clock.now, shared: shared)
        #expect(!loop.plan.withoutWriterIP.contains("db1"))
        #expect(loop.plan.writerClaims(except: "db2") == ["db1"], "nor does it clear the claim")
        // Told the writer IP after the question was sent (and perhaps untold since): the answer may predate the take.
        _ = loop.apply(.systemInfo(host: "db1", empty, toldCount: count - 1), now: clock.now, shared: shared)
        #expect(!loop.plan.withoutWriterIP.contains("db1"))
        #expect(loop.plan.writerClaims(except: "db2") == ["db1"])
        // Neither: it vouches.
        _ = loop.apply(.systemInfo(host: "db1", empty, toldCount: count), now: clock.now, shared: shared)
        #expect(loop.plan.withoutWriterIP.contains("db1"))
        #expect(loop.plan.writerClaims(except: "db2").isEmpty)
    }

    /// A loop started without a status file, from the agents' startup `observations`.
    static func startedLoop(
        _ settings: MonitorSettings, clock: MMMClock, observations: [String: MonitorService.AgentObservation]
    ) -> DecisionLoop {
        var loop = DecisionLoop(settings: settings, stored: nil, observations: observations, clock: clock, logger: Self.quiet)
        _ = loop.started(at: clock.now)
        return loop
    }

    /// A loop restored with db1 writer and both hosts ONLINE.
    static func settledLoop(_ settings: MonitorSettings, clock: MMMClock) -> DecisionLoop {
        var roles = RoleAssignment()
        roles.assign(Self.writer, to: "db1")
        let stored = MonitorStatus(
            cluster: ClusterSnapshot(
                mode: .active,
                hosts: ["db1": HostSnapshot(state: .online), "db2": HostSnapshot(state: .online)],
                roles: roles,
                lastWriter: "db1"
            ),
            epoch: 1
        )
        var loop = DecisionLoop(
            settings: settings, stored: stored,
            observations: ["db1": Self.answered(writable: true, ips: [Self.writer.ip]), "db2": Self.answered()],
            clock: clock, logger: Self.quiet
        )
        _ = loop.started(at: clock.now)
        let shared = MonitorShared()
        for host in ["db1", "db2"] {
            for check in CheckKind.allCases {
                let event = CheckEvent(host: host, check: check, outcome: .ok(message: "OK"), at: clock.now, duration: .zero)
                _ = loop.apply(.check(event), now: clock.now, shared: shared)
            }
        }
        return loop
    }

    @Test("a host follows the writer, and the writer its peer, only once the host's GTID state was found clean")
    func followOnlyAfterCleanComparison() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.settledLoop(settings, clock: clock)
        #expect(loop.machine.writer == "db1")
        _ = loop.publishDesiredStatuses(into: shared)
        #expect(shared.state.withLock { $0.gtidChecks.map { $0.writer == "db1" && $0.hosts == ["db2"] } } == true, "db2 is to be compared")
        #expect(shared.state.withLock { $0.desired["db1"]?.activeMaster } == "db1", "ring open: the writer follows nobody")
        #expect(shared.state.withLock { $0.desired["db2"]?.activeMaster } == nil, "not compared yet: db2 follows nobody")
        // A result about another writer (a stale check) changes nothing.
        _ = loop.apply(.gtidChecked(writer: "db2", host: "db1", errant: []), now: clock.now, shared: shared)
        #expect(loop.cleared.isEmpty)
        _ = loop.apply(.gtidChecked(writer: "db1", host: "db2", errant: []), now: clock.now, shared: shared)
        #expect(Set(loop.publishDesiredStatuses(into: shared)) == ["db1", "db2"])
        #expect(shared.state.withLock { $0.desired["db1"]?.activeMaster } == "db2", "ring closed")
        #expect(shared.state.withLock { $0.desired["db2"]?.activeMaster } == "db1")
        #expect(shared.state.withLock { $0.gtidChecks?.hosts } == [], "nothing left to compare")
        // db2 unreachable for a while: it must be compared again before it replicates.
        let start = clock.now
        for offset in [5, 8] {  // failures debounced over their trap periods
            for check in [CheckKind.ping, .mysql] {
                let at = start + .seconds(offset)
                let event = CheckEvent(host: "db2", check: check, outcome: .failed(message: "ERROR"), at: at, duration: .zero)
                _ = loop.apply(.check(event), now: at, shared: shared)
            }
        }
        #expect(loop.machine.state(of: "db2") == .hardOffline)
        _ = loop.publishDesiredStatuses(into: shared)
        #expect(!loop.cleared.contains("db2"))
        #expect(shared.state.withLock { $0.desired["db1"]?.activeMaster } == "db1", "ring open again")
    }

    @Test("a writer that answers its status fenced (its lease ran out in a cut that healed) is given the role under a new epoch, once")
    func fencedWriterGetsANewEpoch() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.settledLoop(settings, clock: clock)
        _ = loop.publishDesiredStatuses(into: shared)
        let sent = try #require(shared.state.withLock { $0.desired["db1"] })
        #expect(sent.roles.contains(Self.writer))
        let epoch = loop.epoch
        let fenced = AgentStatus(
            state: .online, roles: sent.roles, activeMaster: nil, epoch: sent.epoch, uptimeMilliseconds: 1, fencedAwaitingEpoch: true
        )
        // A status to the standby, or an answer that is not fenced, changes nothing.
        let standby = try #require(shared.state.withLock { $0.desired["db2"] })
        _ = loop.apply(.delivered(host: "db2", sent: standby, answer: fenced), now: clock.now, shared: shared)
        var healthy = fenced
        healthy.fencedAwaitingEpoch = false
        _ = loop.apply(.delivered(host: "db1", sent: sent, answer: healthy), now: clock.now, shared: shared)
        #expect(loop.epoch == epoch)
        _ = loop.apply(.delivered(host: "db1", sent: sent, answer: fenced), now: clock.now, shared: shared)
        #expect(loop.epoch > epoch)
        #expect(Set(loop.publishDesiredStatuses(into: shared)) == ["db1", "db2"], "every status goes out again under the new epoch")
        #expect(shared.state.withLock { $0.desired["db1"]?.epoch } == loop.epoch)
        // The same answer to the status of the old epoch, arriving late, raises nothing more.
        let raised = loop.epoch
        _ = loop.apply(.delivered(host: "db1", sent: sent, answer: fenced), now: clock.now, shared: shared)
        #expect(loop.epoch == raised)
    }

    @Test("a peer with transactions the writer lacks is held with its errant GTIDs, and the ring stays open")
    func errantPeerIsHeld() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.settledLoop(settings, clock: clock)
        _ = loop.publishDesiredStatuses(into: shared)
        let actions = loop.apply(.gtidChecked(writer: "db1", host: "db2", errant: ["0-2-5..0-2-6"]), now: clock.now, shared: shared)
        #expect(actions.contains { if case .hostStateChanged("db2", let t) = $0 { return t.to == .replicationFail } else { return false } })
        #expect(loop.machine.hosts["db2"]?.errantTransactions == ["0-2-5..0-2-6"])
        _ = loop.publishDesiredStatuses(into: shared)
        #expect(shared.state.withLock { $0.desired["db1"]?.activeMaster } == "db1", "the ring stays open")
        #expect(shared.state.withLock { $0.desired["db2"]?.activeMaster } == nil, "the errant host follows nobody")
        #expect(loop.machine.showText.contains("0-2-5..0-2-6"))
        let reply = LockedReply()
        _ = loop.apply(.control(ControlRequest(verb: "errant", arguments: ["db2"]), reply: { reply.set($0) }), now: clock.now, shared: shared)
        #expect(reply.value?.text.hasPrefix("Host 'db2' has transactions the writer db1 lacks: 0-2-5..0-2-6.") == true, "\(String(describing: reply.value))")
        // Repaired: a clean comparison clears it.
        _ = loop.apply(.gtidChecked(writer: "db1", host: "db2", errant: []), now: clock.now, shared: shared)
        #expect(loop.machine.hosts["db2"]?.errantTransactions.isEmpty == true)
        #expect(loop.cleared.contains("db2"))
    }

    @Test("a promotion leaves a report: cause, fencing, drain window, promotion, the agent's answer; persisted and shown")
    func failoverReport() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.silent()])
        let run = try await withRunner { runner in
            loop.beginPromotion(
                of: "db1", previousWriter: "db2", cause: "db2 went from ONLINE to HARD_OFFLINE (checksFailed)",
                links: [:], shared: shared, runner: runner, post: { _ in }
            )
        }
        _ = loop.apply(
            .writerFenced(
                host: "db2", token: run.token, how: "its writer lease has certainly run out",
                skipped: "fencing db2 (nothing reached its agent or its server)", fencedBy: .leaseRanOut
            ),
            now: clock.now, shared: shared
        )
        let actions = loop.apply(.drained(host: "db1", token: run.token, window: "applied 0-2-5 -> 0-2-7 from the relay log"), now: clock.now, shared: shared)
        // The machine only promotes a host it was draining; this loop's machine had no pending promotion.
        for case .promote(let host, let role) in actions { loop.promoted(host, role: role) }
        loop.promoted("db1", role: Self.writer)
        let sent = SetStatus(state: .online, roles: [Self.writer], activeMaster: "db1", epoch: loop.epoch)
        let answer = AgentStatus(state: .online, roles: [Self.writer], activeMaster: "db1", epoch: loop.epoch, uptimeMilliseconds: 1)
        _ = loop.apply(.delivered(host: "db1", sent: sent, answer: answer), now: clock.now, shared: shared)
        let report = try #require(loop.lastReport)
        #expect(loop.recorder == nil)
        #expect(report.outcome == "completed")
        #expect(report.cause == "db2 went from ONLINE to HARD_OFFLINE (checksFailed)")
        #expect(report.inFlight == "applied 0-2-5 -> 0-2-7 from the relay log")
        let texts = report.steps.map(\.text)
        #expect(texts.first == "fencing db2 (may still write), then draining db1")
        #expect(texts.contains("db2 can no longer write: its writer lease has certainly run out"))
        #expect(texts.contains { $0.hasPrefix("db1 is the writer (epoch ") })
        #expect(texts.last == "completed")
        #expect(loop.statusToSave()?.lastFailover == report, "persisted with the status")
        let reply = LockedReply()
        _ = loop.apply(.control(ControlRequest(verb: "failover_report"), reply: { reply.set($0) }), now: clock.now, shared: shared)
        #expect(reply.value?.isError == false)
        #expect(reply.value?.text.hasPrefix("Failover report (completed)\n") == true)
        #expect(reply.value?.text.contains("  in flight: applied 0-2-5 -> 0-2-7 from the relay log\n") == true)
        #expect(report.skipped == ["fencing db2 (nothing reached its agent or its server)"])
        #expect(reply.value?.text.contains("  skipped:\n    fencing db2 (nothing reached its agent or its server)\n") == true)
    }

    @Test("in PASSIVE mode nothing new is published to the agents")
    func passivePublishesNothing() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.startedLoop(settings, clock: clock, observations: ["db1": Self.answered(), "db2": Self.answered()])
        #expect(loop.publishDesiredStatuses(into: shared).sorted() == ["db1", "db2"])
        let reply = LockedReply()
        _ = loop.apply(.control(ControlRequest(verb: "set_passive"), reply: { reply.set($0) }), now: clock.now, shared: shared)
        #expect(reply.value?.text == "OK: Switched into passive mode.", "\(String(describing: reply.value))")
        _ = loop.apply(.control(ControlRequest(verb: "set_offline", arguments: ["db1"]), reply: { reply.set($0) }), now: clock.now, shared: shared)
        #expect(loop.publishDesiredStatuses(into: shared).isEmpty)
    }
}

/// Holds a control reply delivered through a closure.
final class LockedReply: Sendable {
    private let box = Mutex<ControlResponse?>(nil)
    func set(_ response: ControlResponse) { self.box.withLock { $0 = response } }
    var value: ControlResponse? { self.box.withLock { $0 } }
}
