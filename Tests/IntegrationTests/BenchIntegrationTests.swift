import Foundation
import MMMCore
import MMMSystem
import MMMTestSupport
import MariaDBClient
import NIOPosix
import Testing

extension IntegrationTests {
    @Suite("The bench itself")
    struct BenchIntegrationTests {
        /// Runs a program and returns its output (tests only).
        static func run(_ program: String, _ arguments: [String]) async throws -> CommandResult {
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            defer { pool.shutdownGracefully { _ in } }
            return try await CommandRunner(pool: pool).run(program, arguments, deadline: .seconds(30))
        }

        static func namespaces() async throws -> [String] {
            try await Self.run("/usr/sbin/ip", ["netns", "list"]).output
                .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        }

        @Test(
            "a start removes what a crashed run left, and a stop leaves nothing",
            .enabled(if: Bench.modeFromEnvironment == .netns, "namespaces are what a crashed run leaves behind"),
            .timeLimit(.minutes(2))
        )
        func cleansUpLeftovers() async throws {
            // A crashed run: a bench left up, plus a stray namespace and link of ours.
            let crashed = try await Bench.start(hosts: 2)
            let crashedPIDs = crashed.hosts.map(\.pid)
            _ = try await Self.run("/usr/sbin/ip", ["netns", "add", "mmmb-stale"])
            _ = try await Self.run("/usr/sbin/ip", ["link", "add", "mmmb-stale0", "type", "dummy"])

            try await Bench.withBench(hosts: 2) { bench in
                let names = try await Self.namespaces()
                #expect(!names.contains("mmmb-stale"))
                #expect(names.contains("mmmb-db1") && names.contains("mmmb-db2"))
                let links = try await Self.run("/usr/sbin/ip", ["-o", "link", "show"]).output
                #expect(!links.contains("mmmb-stale0"))
                for pid in crashedPIDs {
                    let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                    #expect(status == nil || status!.contains("State:\tZ"), "old mariadbd \(pid) must be gone")
                }
                // The new bench works: db2 replicates from db1 by GTID.
                try await withExecutor { executor in
                    let db2 = try await MariaDBConnection.connect(bench.configuration(for: bench.host("db2")), on: executor)
                    let status = try #require(try await db2.replicaStatuses().first)
                    #expect(status.masterHost == bench.hosts[0].ip && status.usingGTID == .slavePos)
                    await db2.close()
                }
            }
            let after = try await Self.namespaces()
            #expect(!after.contains { $0.hasPrefix("mmmb-") }, "left: \(after)")
            let links = try await Self.run("/usr/sbin/ip", ["-o", "link", "show"]).output
            #expect(!links.contains("mmmb-"))
            #expect(!FileManager.default.fileExists(atPath: "/tmp/mmm-bench"))
        }

        @Test("loopback mode runs a master-master pair on 127.0.0.1 ports", .timeLimit(.minutes(2)))
        func loopbackMode() async throws {
            try await Bench.withBench(hosts: 2, mode: .loopback) { bench in
                #expect(bench.hosts.map(\.ip) == ["127.0.0.1", "127.0.0.1"])
                #expect(bench.blackHoleIP == nil)
                try await withExecutor { executor in
                    let db1 = try await MariaDBConnection.connect(bench.configuration(for: bench.host("db1")), on: executor)
                    let db2 = try await MariaDBConnection.connect(bench.configuration(for: bench.host("db2")), on: executor)
                    _ = try await db1.query("CREATE TABLE mmm_bench.loop (id INT PRIMARY KEY)")
                    let position = try await db1.serverFacts().gtidBinlogPos
                    #expect(try await db2.masterGTIDWait(position, timeout: .seconds(3)) == .reached)
                    let status = try #require(try await db2.replicaStatuses().first)
                    #expect(status.masterPort == bench.hosts[0].port)
                    await db1.close()
                    await db2.close()
                }
            }
        }
    }
}
