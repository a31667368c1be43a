import MMMAgent
import MMMCore
import MMMTestSupport
import MariaDBClient
import Testing

extension IntegrationTests {
    /// Bench finding 3: the agent's work with the grants MMM documents (plus MariaDB's split privileges), and the
    /// start check's verdict on real servers.
    @Suite("Agent grants: MMM's accounts on MariaDB 10.11")
    struct GrantsIntegrationTests {
        /// The seed's agent grants plus the split privileges of MariaDB ≥ 10.5, as the bench finding used them.
        static let mmmGrants = "SUPER, REPLICATION CLIENT, PROCESS, SLAVE MONITOR, REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, CONNECTION ADMIN"
        /// The seed's agent grants alone.
        static let seedGrants = "SUPER, REPLICATION CLIENT, PROCESS"

        static func connect(_ bench: Bench, _ name: String, user: String, _ executor: MariaDBExecutor) async throws -> MariaDBConnection {
            try await MariaDBConnection.connect(Self.configuration(bench, name, user: user), on: executor)
        }

        static func configuration(_ bench: Bench, _ name: String, user: String) throws -> MariaDBConfiguration {
            var configuration = bench.configuration(for: try bench.host(name))
            configuration.user = user
            configuration.password = "\(user)-pw"
            return configuration
        }

        @Test(
            "with MMM's grants the agent fences, promotes (no RESET SLAVE: no RELOAD), keeps semi-sync and repoints; the seed's grants alone lack READ_ONLY ADMIN",
            .timeLimit(.minutes(3))
        )
        func mmmGrantsAreEnough() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await withExecutor { executor in
                    let db1 = try await IntegrationTests.WriteControlIntegrationTests.admin(bench, "db1", executor)
                    let db2 = try await IntegrationTests.WriteControlIntegrationTests.admin(bench, "db2", executor)
                    // Created on db1, replicated to db2 (master-master).
                    for (user, grants) in [("mmm_agent", Self.mmmGrants), ("mmm_seed", Self.seedGrants)] {
                        _ = try await db1.query("CREATE USER '\(user)'@'%' IDENTIFIED BY '\(user)-pw'")
                        _ = try await db1.query("GRANT \(grants) ON *.* TO '\(user)'@'%'")
                    }
                    _ = try await db1.query("CREATE TABLE mmm_bench.g (id INT PRIMARY KEY)")
                    _ = try await db1.query("INSERT INTO mmm_bench.g VALUES (1)")
                    let setup = try await db1.serverFacts().gtidBinlogPos
                    #expect(try await db2.masterGTIDWait(setup, timeout: .seconds(3)) == .reached)

                    // The start check's verdict, read from the real server.
                    let agent = try await Self.connect(bench, "db2", user: "mmm_agent", executor)
                    let full = try await agent.privilegeReport(for: .agent(zeroLoss: true))
                    #expect(full.missing.isEmpty, "\(full.problem ?? "")")
                    let seed = try await Self.connect(bench, "db2", user: "mmm_seed", executor)
                    let lacking = try await seed.privilegeReport(for: .agent(zeroLoss: false))
                    #expect(lacking.missing.map(\.privilege) == ["READ_ONLY ADMIN"], "\(lacking)")
                    #expect(lacking.grantStatement == "GRANT READ_ONLY ADMIN ON *.* TO 'mmm_seed'@'%';")
                    // And the server agrees: SUPER alone does not set read_only on 10.11 (R6).
                    do {
                        _ = try await seed.query("SET GLOBAL read_only=ON")
                        Issue.record("SUPER alone set read_only: the check would be wrong on this server")
                    } catch let error as MMMError {
                        #expect(error.mariaDBErrorNumber == 1227, "\(error)")
                    }
                    await seed.close()

                    // A switchover done entirely as mmm_agent: fence db1, drain and promote db2.
                    let fence = try await WriteControl(configuration: Self.configuration(bench, "db1", user: "mmm_agent"), executor: executor)
                        .fence(FenceOptions(sparedUsers: ["mmm_agent", bench.replicationUser, bench.adminUser]))
                    #expect(fence.host == "db1")
                    let promotion = try await WriteControl(configuration: Self.configuration(bench, "db2", user: "mmm_agent"), executor: executor)
                        .promote(PromotionRequest(drain: try IntegrationTests.WriteControlIntegrationTests.drainRequest(bench)))
                    #expect(promotion.stoppedConnection == "")
                    #expect(try await db2.serverFacts().readOnly == false)
                    // The zero-loss settings of the writer.
                    for setting in [SemiSyncSetting.masterWaitPoint(.afterSync), .masterTimeout(milliseconds: 1000), .masterWaitNoSlave(false), .masterEnabled(true), .slaveEnabled(true)] {
                        try await agent.setSemiSync(setting)
                    }
                    try await agent.setSemiSync(.masterEnabled(false))

                    // db1 follows db2 by GTID, repointed as mmm_agent.
                    let db2Host = try bench.host("db2")
                    let repoint = try await ReplicationControl(configuration: Self.configuration(bench, "db1", user: "mmm_agent"), executor: executor)
                        .repoint(
                            RepointRequest(
                                writer: "db2", writerHost: db2Host.ip, writerPort: db2Host.port,
                                replicationUser: bench.replicationUser, replicationPassword: bench.replicationPassword
                            )
                        )
                    #expect(repoint.replicating)
                    _ = try await db2.query("INSERT INTO mmm_bench.g VALUES (2)")
                    let written = try await db2.serverFacts().gtidBinlogPos
                    #expect(try await db1.masterGTIDWait(written, timeout: .seconds(3)) == .reached)
                    #expect(try await db1.query("SELECT COUNT(*) AS n FROM mmm_bench.g").singleRow("count").int("n") == 2)
                    for connection in [agent, db1, db2] { await connection.close() }
                }
            }
        }
    }
}
