import MMMCore
import MMMMonitor
import MMMTestSupport
import MariaDBClient
import Testing

extension IntegrationTests {
    @Suite("BinlogLocator on a real server")
    struct BinlogLocatorIntegrationTests {
        @Test("a transaction's GTID is found at the position of its Gtid event", .timeLimit(.minutes(2)))
        func locatesGTIDs() async throws {
            try await Bench.withBench(hosts: 1) { bench in
                try await withExecutor { executor in
                    let connection = try await MariaDBConnection.connect(try bench.configuration(for: bench.host("db1")), on: executor)
                    _ = try await connection.query("CREATE TABLE IF NOT EXISTS mmm_bench.located (id INT PRIMARY KEY)")
                    _ = try await connection.query("FLUSH BINARY LOGS")
                    _ = try await connection.query("INSERT INTO mmm_bench.located VALUES (1)")
                    let first = try await connection.serverFacts().gtidBinlogPos.gtids[0]
                    _ = try await connection.query("INSERT INTO mmm_bench.located VALUES (2)")
                    let second = try await connection.serverFacts().gtidBinlogPos.gtids[0]
                    let missing = GTID(domain: first.domain, serverID: first.serverID, sequence: second.sequence + 100)
                    let found = try await BinlogLocator.locate([first, second, missing], on: connection, deadline: .seconds(5))
                    #expect(found[missing] == nil)
                    let location = try #require(found[second])
                    #expect(found[first].map { $0.file == location.file && $0.position < location.position } == true)
                    // The event at that position is the GTID's own.
                    let event = try await connection.query(
                        "SHOW BINLOG EVENTS IN '\(location.file)' FROM \(location.position) LIMIT 1"
                    ).singleRow("event")
                    let info = try event.string("Info") ?? ""
                    #expect(info.hasSuffix("GTID \(second)"), "\(info)")
                    #expect(BinlogLocator.lastGTIDs(of: ["\(first)..\(second)", "\(missing)", "not-a-gtid"]) == [second, missing])
                    await connection.close()
                }
            }
        }
    }
}
