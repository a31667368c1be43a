#if canImport(Glibc)
import Glibc
#endif
import MMMConfig
import MMMCore
import MMMMonitor
import MMMSystem
import MMMTestSupport
import MariaDBClient
import NIOConcurrencyHelpers
import NIOPosix
import Testing

extension IntegrationTests {
    /// mmm_mond's four checks (``HostProber``) and their scheduler against real servers: db1 <-> db2 master-master.
    @Suite("Monitor checks on the bench")
    struct MonitorChecksIntegrationTests {
        /// Every check with `period` and `timeout`; `max_backlog` stays 60 s.
        static func checks(period: Duration, timeout: Duration) -> ChecksConfiguration {
            var checks = ChecksConfiguration()
            for kind in CheckKind.allCases {
                checks[kind].checkPeriod = period
                checks[kind].timeout = timeout
            }
            return checks
        }

        /// The bench host as the monitor sees it (the bench's admin account is the monitor user).
        static func monitored(_ bench: Bench, _ name: String) throws -> MonitoredHost {
            let host = try bench.host(name)
            return MonitoredHost(
                name: name, ip: host.ip, mysqlPort: host.port, monitorUser: bench.adminUser,
                monitorPassword: Secret(bench.adminPassword)
            )
        }

        /// Runs `body` with a started thread pool for the pinger.
        static func withPinger<T: Sendable>(_ body: (ICMPPinger) async throws -> T) async throws -> T {
            let pool = NIOThreadPool(numberOfThreads: 8)
            pool.start()
            do {
                let value = try await body(ICMPPinger(pool: pool))
                try await pool.shutdownGracefully()
                return value
            } catch {
                try? await pool.shutdownGracefully()
                throw error
            }
        }

        static func isOK(_ outcome: CheckOutcome) -> Bool {
            if case .ok = outcome { return true }
            return false
        }

        static func isUnknown(_ outcome: CheckOutcome) -> Bool {
            if case .unknown = outcome { return true }
            return false
        }

        static func isFailed(_ outcome: CheckOutcome) -> Bool {
            if case .failed = outcome { return true }
            return false
        }

        @Test(
            "healthy: four checks OK; STOP SLAVE fails rep_threads; dead kept connections are replaced; no replication is not set up; a crashed mariadbd fails mysql, ping stays OK",
            .timeLimit(.minutes(3))
        )
        func probeOutcomes() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await withExecutor { executor in
                    try await Self.withPinger { pinger in
                        let checks = Self.checks(period: .milliseconds(200), timeout: .seconds(1))
                        let db2 = HostProber(host: try Self.monitored(bench, "db2"), checks: checks, executor: executor, pinger: pinger)

                        // Healthy.
                        for name in ["db1", "db2"] {
                            let prober = HostProber(
                                host: try Self.monitored(bench, name), checks: checks, executor: executor, pinger: pinger
                            )
                            for check in CheckKind.allCases {
                                let outcome = await prober.probe(check)
                                #expect(Self.isOK(outcome), "\(name) \(check.rawValue): \(outcome)")
                            }
                            // A second round reuses the kept connections.
                            #expect(await prober.probe(.mysql) == .ok(message: "OK"))
                            await prober.close()
                        }

                        // STOP SLAVE on db2: rep_threads fails, rep_backlog passes with a NULL backlog (as in MMM).
                        let admin = try await MariaDBConnection.connect(
                            bench.configuration(for: try bench.host("db2")), on: executor
                        )
                        _ = try await admin.query("STOP SLAVE")
                        #expect(await db2.probe(.repThreads) == .failed(message: "ERROR: Replication is broken"))
                        #expect(await db2.probe(.repBacklog) == .ok(message: "OK: Backlog is null"))
                        #expect(await db2.probe(.mysql) == .ok(message: "OK"))
                        _ = try await admin.query("START SLAVE")
                        _ = try await eventually("db2's rep_threads passes again after START SLAVE") { () -> Bool? in
                            Self.isOK(await db2.probe(.repThreads)) ? true : nil
                        }

                        // The kept connections die while idle (as after a server restart): the next probes reconnect
                        // within their deadline instead of failing.
                        #expect(await db2.probe(.mysql) == .ok(message: "OK"))
                        let others = try await admin.query(
                            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '\(bench.adminUser)' AND ID <> CONNECTION_ID() AND COMMAND <> 'Binlog Dump'"
                        )
                        #expect(others.rows.count >= 3, "the three kept connections of db2's SQL checks")
                        for row in others.rows {
                            if let id = try row.int("ID") { _ = try await admin.query("KILL CONNECTION \(id)") }
                        }
                        #expect(await db2.probe(.mysql) == .ok(message: "OK"))
                        #expect(Self.isOK(await db2.probe(.repThreads)))
                        #expect(Self.isOK(await db2.probe(.repBacklog)))

                        // No replication configured at all: both replication checks fail, as in MMM.
                        _ = try await admin.query("STOP SLAVE")
                        _ = try await admin.query("RESET SLAVE ALL")
                        #expect(await db2.probe(.repThreads) == .failed(message: "ERROR: Replication is not set up"))
                        #expect(await db2.probe(.repBacklog) == .failed(message: "ERROR: Replication is not set up"))
                        await admin.close()

                        // A crashed mariadbd: the namespace still answers ping; mysql fails by its deadline; the
                        // replication checks cannot tell (UNKNOWN), as in MMM.
                        try bench.crash(try bench.host("db2"))
                        try await Task.sleep(for: .milliseconds(300))
                        let started = ContinuousClock.now
                        let mysql = await db2.probe(.mysql)
                        #expect(ContinuousClock.now - started < .milliseconds(1500))
                        #expect(Self.isFailed(mysql), "\(mysql)")
                        if case .failed(let message) = mysql {
                            #expect(message.hasPrefix("ERROR: Connect error (host = \(try bench.host("db2").ip):"), "\(message)")
                        }
                        #expect(await db2.probe(.ping) == .ok(message: "OK"))
                        let repThreads = await db2.probe(.repThreads)
                        #expect(Self.isUnknown(repThreads), "\(repThreads)")
                        let repBacklog = await db2.probe(.repBacklog)
                        #expect(Self.isUnknown(repBacklog), "\(repBacklog)")
                        await db2.close()

                        // A black-holed host: mysql fails when its connect finds nobody by the deadline; the
                        // replication checks then say UNKNOWN without a connect of their own (850 dead hosts would
                        // otherwise cost 1,700 hanging connects a second); mysql still tries every time.
                        if let blackHole = bench.blackHoleIP {
                            let void = HostProber(
                                host: MonitoredHost(
                                    name: "void", ip: blackHole, mysqlPort: 3306, monitorUser: bench.adminUser,
                                    monitorPassword: Secret(bench.adminPassword)
                                ),
                                checks: Self.checks(period: .milliseconds(200), timeout: .milliseconds(500)),
                                executor: executor, pinger: pinger
                            )
                            // Before any mysql probe it tries its own connect (and finds nobody).
                            let first = await void.probe(.repThreads)
                            #expect(Self.isUnknown(first), "\(first)")
                            #expect(!"\(first)".contains("found nobody answering; the mysql check tries again"), "\(first)")
                            let mysql = await void.probe(.mysql)
                            #expect(Self.isFailed(mysql), "\(mysql)")
                            for check in [CheckKind.repThreads, .repBacklog] {
                                let outcome = await void.probe(check)
                                #expect(Self.isUnknown(outcome), "\(outcome)")
                                #expect("\(outcome)".contains("found nobody answering; the mysql check tries again"), "\(outcome)")
                            }
                            #expect(Self.isFailed(await void.probe(.mysql)), "the mysql check connects again each time")
                            await void.close()
                        }
                    }
                }
            }
        }

        @Test(
            "a SIGSTOPped mariadbd fails mysql by its deadline while the other host's checks keep their cadence",
            .timeLimit(.minutes(3))
        )
        func hungHostKeepsOthersOnCadence() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await withExecutor(threads: 48) { executor in
                    try await Self.withPinger { pinger in
                        let period = Duration.milliseconds(250)
                        let timeout = Duration.seconds(1)
                        let checks = Self.checks(period: period, timeout: timeout)
                        let probers = try ["db1", "db2"].map { name in
                            HostProber(host: try Self.monitored(bench, name), checks: checks, executor: executor, pinger: pinger)
                        }
                        let scheduler = CheckScheduler(probers: probers, checks: checks)
                        let events = NIOLockedValueBox<[CheckEvent]>([])
                        let db2 = try bench.host("db2")

                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await scheduler.run() }
                            group.addTask {
                                for await event in scheduler.events { events.withLockedValue { $0.append(event) } }
                            }
                            func seen(_ host: String, _ check: CheckKind, after: MonitorInstant, _ match: (CheckOutcome) -> Bool) -> CheckEvent? {
                                events.withLockedValue { events in
                                    events.first { $0.host == host && $0.check == check && $0.at > after && match($0.outcome) }
                                }
                            }
                            let begin = MMMClock.system.now
                            _ = try await eventually("both hosts' checks OK") { () -> Bool? in
                                let ok = ["db1", "db2"].allSatisfy { host in
                                    CheckKind.allCases.allSatisfy { seen(host, $0, after: begin, Self.isOK) != nil }
                                }
                                return ok ? true : nil
                            }

                            guard kill(db2.pid, SIGSTOP) == 0 else { throw MMMError(.commandFailed, "SIGSTOP \(db2.pid): errno \(errno)") }
                            let stopped = MMMClock.system.now
                            do {
                                try await Task.sleep(for: .seconds(4))
                            } catch {
                                kill(db2.pid, SIGCONT)
                                throw error
                            }
                            let window = MMMClock.system.now
                            kill(db2.pid, SIGCONT)

                            // db2's mysql failed within one period plus its deadline (and the scheduler's guard).
                            let failure = seen("db2", .mysql, after: stopped, Self.isFailed)
                            #expect(failure != nil, "db2's mysql never failed while SIGSTOPped")
                            if let failure {
                                #expect(failure.at - stopped < period + timeout + .milliseconds(250), "failed after \(failure.at - stopped)")
                            }
                            // Every probe of the hung host ended by its deadline (timeout), none by the scheduler's guard.
                            let slowest = events.withLockedValue { events in
                                events.filter { $0.host == "db2" && $0.at > stopped && $0.at < window }.map(\.duration).max()
                            }
                            #expect(slowest.map { $0 < timeout + .milliseconds(150) } == true, "slowest db2 probe \(String(describing: slowest))")
                            #expect(CheckKind.allCases.allSatisfy { scheduler.statistics(host: "db2", check: $0).guardExpired == 0 })
                            // No replication check of the hung host failed: they cannot tell (UNKNOWN).
                            let repFailures = events.withLockedValue { events in
                                events.filter { $0.host == "db2" && $0.check != .mysql && $0.check != .ping && $0.at > stopped && $0.at < window && Self.isFailed($0.outcome) }
                            }
                            #expect(repFailures.isEmpty, "\(repFailures)")
                            // Ping still answers: the namespace is up.
                            #expect(seen("db2", .ping, after: stopped, Self.isFailed) == nil)

                            // db1 kept its cadence: no gap between its results longer than 2 x check_period.
                            for check in CheckKind.allCases {
                                let times = events.withLockedValue { events in
                                    events.filter { $0.host == "db1" && $0.check == check && $0.at >= stopped && $0.at <= window }.map(\.at)
                                }
                                #expect(times.count >= 12, "db1 \(check.rawValue): \(times.count) results in 4 s")
                                let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
                                let longest = gaps.max() ?? .zero
                                #expect(longest < period * 2, "db1 \(check.rawValue) longest gap \(longest)")
                                let failed = events.withLockedValue { events in
                                    events.filter { $0.host == "db1" && $0.check == check && $0.at >= stopped && !Self.isOK($0.outcome) }
                                }
                                #expect(failed.isEmpty, "\(failed)")
                            }
                            // db2's checks skipped ticks instead of piling up probes.
                            #expect(scheduler.statistics(host: "db2", check: .mysql).skippedTicks > 0)

                            // After SIGCONT db2 comes back on fresh connections.
                            _ = try await eventually("db2's mysql passes after SIGCONT") { () -> Bool? in
                                seen("db2", .mysql, after: window, Self.isOK) != nil ? true : nil
                            }
                            group.cancelAll()
                        }
                    }
                }
            }
        }
    }
}
