import Foundation
import MMMCore
import MMMSystem
import MMMTestSupport
import MariaDBClient
import NIOConcurrencyHelpers
import Testing

extension IntegrationTests {
    @Suite("mmm_mond killed in the middle of a writer move", .enabled(if: Bench.modeFromEnvironment == .netns, "agents need the namespace bench"))
    struct MonitorRestartTests {
        static let writer = "writer(\(Bench.writerIP))"

        /// The host `show` lists with the writer role, if exactly one.
        static func writers(_ cluster: MonitorCluster) async throws -> [String] {
            let show = try await cluster.control("show").output
            return show.split(separator: "\n").filter { $0.hasPrefix("  db") && $0.contains(Self.writer) }
                .compactMap { $0.dropFirst(2).split(separator: "(").first.map(String.init) }
        }

        @Test(
            "killed at each step of move_role writer (SIGKILL by failpoint) and restarted: exactly one writer, never two",
            .timeLimit(.minutes(6))
        )
        func killedAtEachStep() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await MonitorCluster.with(bench) { cluster in
                    _ = try await eventually(timeout: .seconds(20), "a writer is assigned") { () -> String? in
                        try await Self.writers(cluster).count == 1 ? "ok" : nil
                    }
                    for failpoint in ["promotion_started", "writer_fenced", "drained", "promoted"] {
                        let from = try await Self.writers(cluster)[0]
                        let to = from == "db1" ? "db2" : "db1"
                        _ = try await eventually(timeout: .seconds(20), "\(to) ONLINE with checks OK before moving") { () -> Bool? in
                            try await cluster.showLine(to).contains("/ONLINE.") ? true : nil
                        }
                        #expect(await cluster.monitor.stop() == 0)
                        cluster.monitor = try cluster.bench.startMonitor(
                            configDirectory: MonitorCluster.monitorDirectory, environment: ["MMM_FAILPOINT": failpoint]
                        )
                        // A restarted monitor knows no check result yet, and refuses a move to a host whose
                        // replication checks it has not seen pass: wait for them.
                        _ = try await eventually(timeout: .seconds(20), "the monitor answers and \(to)'s checks pass") { () -> Bool? in
                            let checks = try await cluster.control("checks", to)
                            let ok = checks.output.split(separator: "\n").filter { $0.contains("]  OK") }
                            return checks.status == 0 && ok.count == 4 ? true : nil
                        }

                        // Sample both servers' read_only every 100 ms from the move until the new monitor settled.
                        let bothWritable = NIOLockedValueBox(0)
                        let stop = NIOLockedValueBox(false)
                        let sampler = cluster
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                while !stop.withLockedValue({ $0 }) {
                                    var writable = 0
                                    for host in sampler.bench.hosts {
                                        if let who = try? await sampler.whoAnswers(host.ip), !who.readOnly { writable += 1 }
                                    }
                                    if writable > 1 { bothWritable.withLockedValue { $0 += 1 } }
                                    try await Task.sleep(for: .milliseconds(100))
                                }
                            }
                            defer { stop.withLockedValue { $0 = true } }
                            let move = try await cluster.control("move_role", "writer", to)
                            // At promotion_started the monitor dies in the same step that accepted the command, so
                            // its answer may never leave: then mmm_control reports the lost connection.
                            #expect(
                                move.output.contains("OK") || move.output.contains("Can't connect to monitor daemon"),
                                "\(failpoint): \(move.output)"
                            )
                            _ = try await eventually(timeout: .seconds(30), "the monitor dies at \(failpoint)") { () -> Bool? in
                                cluster.monitor.isRunning ? nil : true
                            }
                            #expect(cluster.monitor.log.contains("failpoint \(failpoint) reached"), "\(failpoint)")
                            cluster.monitor = try cluster.bench.startMonitor(configDirectory: MonitorCluster.monitorDirectory)
                            let settled = try await eventually(timeout: .seconds(40), "one writer after the restart (\(failpoint))") {
                                () -> String? in
                                let writers = try await Self.writers(cluster)
                                guard writers.count == 1 else { return nil }
                                let who = try await cluster.whoAnswers(Bench.writerIP)
                                return who.host == writers[0] && !who.readOnly ? who.host : nil
                            }
                            // A read that fails (a connect on a loaded machine) is read again; only a complete
                            // reading of every server counts.
                            let states = try await eventually(timeout: .seconds(10), "read_only of every server") { () -> Int? in
                                try await withThrowingTaskGroup(of: Bool.self) { inner in
                                    for host in sampler.bench.hosts { inner.addTask { try await sampler.whoAnswers(host.ip).readOnly } }
                                    var readOnly = 0
                                    for try await ro in inner where ro { readOnly += 1 }
                                    return readOnly
                                }
                            }
                            #expect(states == 1, "exactly one writable server after \(failpoint) (writer \(settled))")
                            _ = try await eventually(timeout: .seconds(10), "the writer takes a write after \(failpoint)") { () -> Bool? in
                                try await cluster.execute(
                                    "CREATE TABLE IF NOT EXISTS mmm_bench.restarts (step VARCHAR(40) PRIMARY KEY)", on: Bench.writerIP
                                )
                                try await cluster.execute("INSERT IGNORE INTO mmm_bench.restarts VALUES ('\(failpoint)')", on: Bench.writerIP)
                                return true
                            }
                            print("RESTART \(failpoint): writer \(from) -> \(settled) after the restart")
                            stop.withLockedValue { $0 = true }
                            try await group.waitForAll()
                        }
                        #expect(bothWritable.withLockedValue { $0 } == 0, "never two writable servers around \(failpoint)")
                    }
                }
            }
        }
    }
}
