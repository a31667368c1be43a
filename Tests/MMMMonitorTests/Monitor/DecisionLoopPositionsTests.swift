import Foundation
import MMMConfig
import MMMCore
import MMMSystem
import MMMTestSupport
import Testing

@testable import MMMMonitor

/// The position reports the poller posts reach the machine, and rank the writer candidate (DESIGN.md §4 step 3).
@Suite("DecisionLoop positions")
struct DecisionLoopPositionsTests {
    /// db1 and db2 masters and db3 a replica, all three able to hold the writer role, db2 preferred; MANUAL mode, so
    /// that db1 stays the writer until it fails.
    ///
    /// The configuration loader refuses more than two hosts in the active master role (MMM's rule), so the file
    /// lists db1 and db2 and db3 is added to the role in the loaded topology, which the core accepts: with two, a
    /// failed writer leaves a single candidate and there is nothing to rank.
    static func settings() async throws -> MonitorSettings {
        var settings = try await Self.configuredSettings()
        var roles = settings.topology.roles
        let writer = try #require(roles.firstIndex { $0.name == settings.topology.activeMasterRole })
        roles[writer].hosts.append("db3")
        settings.topology = try ClusterTopology(hosts: settings.topology.hosts, roles: roles, activeMasterRole: settings.topology.activeMasterRole)
        return settings
    }

    private static func configuredSettings() async throws -> MonitorSettings {
        try await withTemporaryDirectory(prefix: "mmm-loop-positions") { directory in
            let common = """
                active_master_role writer
                agent_secret loop-test-secret-0123456789
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
                <host db3>
                    ip 198.18.0.103
                    mode slave
                </host>
                <role writer>
                    hosts db1, db2
                    ips 198.18.0.200
                    mode exclusive
                    prefer db2
                </role>
                <role reader>
                    hosts db1, db2, db3
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
                    mode manual
                </monitor>

                """
            for (name, text) in [("mmm_common.conf", common), ("mmm_mon.conf", monitor)] {
                let path = "\(directory)/\(name)"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o600)
            }
            return try MonitorSettings(configuration: ConfigDirectory(path: directory).loadMonitor())
        }
    }

    /// A loop restored with db1 writer and every host ONLINE, every check passing.
    static func settledLoop(_ settings: MonitorSettings, clock: MMMClock, shared: MonitorShared) -> DecisionLoop {
        var roles = RoleAssignment()
        roles.assign(DecisionLoopTests.writer, to: "db1")
        let stored = MonitorStatus(
            cluster: ClusterSnapshot(
                mode: .manual,
                hosts: ["db1": HostSnapshot(state: .online), "db2": HostSnapshot(state: .online), "db3": HostSnapshot(state: .online)],
                roles: roles,
                lastWriter: "db1"
            ),
            epoch: 1
        )
        var loop = DecisionLoop(
            settings: settings, stored: stored,
            observations: [
                "db1": DecisionLoopTests.answered(writable: true, ips: [DecisionLoopTests.writer.ip]),
                "db2": DecisionLoopTests.answered(), "db3": DecisionLoopTests.answered(),
            ],
            clock: clock, logger: DecisionLoopTests.quiet
        )
        _ = loop.started(at: clock.now)
        for host in ["db1", "db2", "db3"] {
            for check in CheckKind.allCases {
                let event = CheckEvent(host: host, check: check, outcome: .ok(message: "OK"), at: clock.now, duration: .zero)
                _ = loop.apply(.check(event), now: clock.now, shared: shared)
            }
        }
        return loop
    }

    /// db1's ping and mysql checks fail past their trap periods and the others' agents confirm they cannot reach it
    /// either; returns every action.
    static func failWriter(_ loop: inout DecisionLoop, clock: MMMClock, shared: MonitorShared) -> [ClusterAction] {
        var actions: [ClusterAction] = []
        let start = clock.now
        for offset in [5, 8] {  // failures debounced over their trap periods
            for check in [CheckKind.ping, .mysql] {
                let at = start + .seconds(offset)
                let event = CheckEvent(host: "db1", check: check, outcome: .failed(message: "ERROR"), at: at, duration: .zero)
                actions += loop.apply(.check(event), now: at, shared: shared)
            }
        }
        #expect(actions.contains(.crossCheckWriter(host: "db1", via: ["db2", "db3"])))
        actions += loop.apply(
            .writerCrossChecked(host: "db1", reachableFrom: [], unreachableFrom: ["db2", "db3"]),
            now: start + .seconds(9), shared: shared
        )
        return actions
    }

    @Test("with db1 failing, db3, which received more, is drained for promotion rather than the preferred db2")
    func failedWriterIsReplacedByTheMostAdvancedHost() async throws {
        let settings = try await Self.settings()
        let clock = MMMClock.system
        let shared = MonitorShared()
        var loop = Self.settledLoop(settings, clock: clock, shared: shared)
        #expect(loop.machine.writer == "db1")
        var withoutPositions = loop
        for (host, received, slave, binlog) in [
            ("db1", "", "0-1-3", "0-1-3,1-1-12"),
            ("db2", "1-1-9,0-1-3", "0-1-3,1-1-9", "0-1-3,1-1-9"),
            ("db3", "1-1-11,0-1-3", "0-1-3,1-1-10", "0-1-3,1-1-10"),
        ] {
            let positions = try ReplicationPositions(receivedPosition: received, slavePosition: slave, binlogPosition: binlog)
            let input = MonitorInput.positions(host: host, positions)
            #expect(input.isRoutine, "a position report alone persists and publishes nothing")
            #expect(loop.apply(input, now: clock.now, shared: shared).isEmpty)
        }
        #expect(loop.machine.replicationPositions["db3"]?.received.description == "0-1-3,1-1-11")
        let actions = Self.failWriter(&loop, clock: clock, shared: shared)
        #expect(loop.machine.state(of: "db1") == .hardOffline)
        #expect(actions.contains(.drainThenPromote(host: "db3", previousWriter: "db1")), "\(actions)")
        #expect(loop.machine.pendingPromotion?.host == "db3")
        // The same failure without position reports: `prefer` alone picks db2, which lacks 1-1-10..1-1-11.
        let before = Self.failWriter(&withoutPositions, clock: clock, shared: shared)
        #expect(before.contains(.drainThenPromote(host: "db2", previousWriter: "db1")), "\(before)")
    }
}
