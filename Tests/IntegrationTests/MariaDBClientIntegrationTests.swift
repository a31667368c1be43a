#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MMMCore
import MMMTestSupport
import MariaDBClient
import Testing

extension IntegrationTests {
    @Suite("MariaDBClient against real servers")
    struct MariaDBClientIntegrationTests {
        @Test("connects, queries and reads server facts of every host", .timeLimit(.minutes(2)))
        func connectAndQuery() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    for (index, host) in bench.hosts.enumerated() {
                        let connection = try await MariaDBConnection.connect(
                            bench.configuration(for: host), on: executor
                        )
                        let row = try await connection.query("SELECT 1 + 1 AS two, 'a''b' AS quoted, NULL AS nothing")
                            .singleRow("select")
                        #expect(try row.int("two") == 2)
                        #expect(try row.string("quoted") == "a'b")
                        #expect(try row.string("nothing") == nil)
                        let facts = try await connection.serverFacts()
                        #expect(facts.serverID == UInt32(index + 1))
                        #expect(facts.gtidDomainID == UInt32(index + 1))
                        #expect(facts.readOnly == (index != 0), "only db1 is writable on a fresh bench")
                        #expect(facts.gtidStrictMode)
                        #expect(facts.logBin && facts.logSlaveUpdates)
                        #expect(facts.version.contains("MariaDB"))
                        #expect(facts.semiSyncWaitPoint == "AFTER_COMMIT", "10.11's default")
                        if bench.mode == .netns {
                            #expect(facts.hostname == host.name, "each host has its own UTS namespace")
                        }
                        await connection.close()
                        #expect(connection.isClosed)
                    }
                }
            }
        }

        @Test("ReplicaStatus of a real replica: running, after STOP SLAVE, and after a duplicate-key error", .timeLimit(.minutes(2)))
        func replicaStatus() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await MariaDBConnection.connect(bench.configuration(for: bench.host("db1")), on: executor)
                    let db3Host = try bench.host("db3")
                    let db3 = try await MariaDBConnection.connect(bench.configuration(for: db3Host), on: executor)
                    _ = try await db1.query("CREATE TABLE mmm_bench.t (id INT PRIMARY KEY, v VARCHAR(20))")
                    _ = try await db1.query("INSERT INTO mmm_bench.t VALUES (1, 'one'), (2, 'two')")
                    let writerPos = try await db1.serverFacts().gtidBinlogPos

                    let running = try await eventually("db3 applied db1's writes") { () -> ReplicaStatus? in
                        guard let status = try await db3.replicaStatuses().first, status.gtidSlavePos.contains(writerPos)
                        else { return nil }
                        return status
                    }
                    #expect(running.connectionName == "")
                    #expect(running.masterHost == bench.hosts[0].ip)
                    #expect(running.masterPort == bench.hosts[0].port)
                    #expect(running.ioThread == .yes)
                    #expect(running.sqlThreadRunning)
                    #expect(running.usingGTID == .slavePos)
                    #expect(running.masterServerID == 1)
                    #expect(running.lastIOErrno == 0 && running.lastSQLErrno == 0)
                    #expect(running.secondsBehindMaster != nil)
                    #expect(running.gtidIOPos.contains(writerPos))
                    #expect(running.isDrained && running.isHealthy)
                    #expect(running.readMasterLogPos > 0 && running.execMasterLogPos > 0)
                    #expect(running.masterLogFile.hasPrefix("mysql-bin."))

                    try await db3.stopReplica()
                    let stopped = try #require(try await db3.replicaStatuses().first)
                    #expect(stopped.ioThread == .no)
                    #expect(!stopped.sqlThreadRunning)
                    #expect(stopped.secondsBehindMaster == nil, "NULL once the IO thread is not running (R4)")
                    #expect(stopped.ioState.isEmpty && stopped.sqlState.isEmpty)

                    // Each thread on its own.
                    try await db3.startReplica(threads: .sql)
                    let sqlOnly = try #require(try await db3.replicaStatuses().first)
                    #expect(sqlOnly.sqlThreadRunning && sqlOnly.ioThread == .no)
                    try await db3.startReplica(threads: .io)

                    // A row that only db3 has, then the same key from the master: the seed's duplicate-key failure.
                    _ = try await db3.query("INSERT INTO mmm_bench.t VALUES (100, 'replica only')")
                    _ = try await db1.query("INSERT INTO mmm_bench.t VALUES (100, 'from master')")
                    let broken = try await eventually("db3's SQL thread stopped on the duplicate key") {
                        () -> ReplicaStatus? in
                        guard let status = try await db3.replicaStatuses().first, status.lastSQLErrno != 0 else {
                            return nil
                        }
                        return status
                    }
                    #expect(broken.lastSQLErrno == Int(MariaDBErrorNumber.duplicateKey))
                    #expect(broken.lastSQLError.contains("Duplicate entry"))
                    #expect(!broken.sqlThreadRunning)
                    #expect(broken.ioThread == .yes)
                    #expect(!broken.isHealthy)
                    #expect(!broken.isDrained, "the failed transaction is received but not applied")
                    await db1.close()
                    await db3.close()
                }
            }
        }

        @Test("every action: read_only, sessions, CHANGE MASTER by GTID, per-thread start/stop, MASTER_GTID_WAIT", .timeLimit(.minutes(2)))
        func actions() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1Host = try bench.host("db1")
                    let db3Host = try bench.host("db3")
                    let db1 = try await MariaDBConnection.connect(bench.configuration(for: db1Host), on: executor)
                    let db3 = try await MariaDBConnection.connect(bench.configuration(for: db3Host), on: executor)

                    try await db1.setReadOnly(true)
                    #expect(try await db1.serverFacts().readOnly)
                    try await db1.setReadOnly(false)
                    #expect(try await db1.serverFacts().readOnly == false)

                    // A client session shows up and is killed; replication threads (db2 and db3 dump threads,
                    // db1's own Slave_IO/Slave_SQL from db2) and this connection are never listed.
                    let client = try await MariaDBConnection.connect(bench.configuration(for: db1Host), on: executor)
                    let sessions = try await db1.clientSessions()
                    #expect(sessions.map(\.id) == [client.threadID])
                    #expect(!sessions.contains { $0.id == db1.threadID })
                    let spared = try await db1.clientSessions(sparing: [bench.adminUser])
                    #expect(spared.isEmpty)
                    let killed = try await db1.killClientSessions()
                    #expect(killed.map(\.id) == [client.threadID])
                    await #expect(throws: MMMError.self) { try await client.query("SELECT 1") }
                    let afterKill = try await db1.query(
                        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'"
                    ).singleRow("count")
                    #expect(try afterKill.int("n") == 2, "db2's and db3's dump threads survive fencing")
                    try await db1.killConnection(999_999)  // an ended session is not an error

                    // A connection still in the handshake (another fence logging in) is never listed, so never killed.
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    #expect(fd >= 0)
                    defer { close(fd) }
                    var address = sockaddr_in()
                    address.sin_family = sa_family_t(AF_INET)
                    address.sin_port = in_port_t(UInt16(db1Host.port).bigEndian)
                    inet_pton(AF_INET, db1Host.ip, &address.sin_addr)
                    let connected = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    #expect(connected == 0, "a raw TCP connection to db1's server")
                    _ = try await eventually("the raw connection shows as unauthenticated") { () -> Bool? in
                        let row = try await db1.query(
                            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'unauthenticated user'"
                        ).singleRow("count")
                        return try row.int("n") ?? 0 > 0 ? true : nil
                    }
                    #expect(try await db1.clientSessions().isEmpty, "a connection logging in is not a client session")

                    // Repoint db3 to db2 by GTID, then back; never by file and position.
                    try await db3.stopReplica(deadline: .seconds(5))
                    let db2Host = try bench.host("db2")
                    try await db3.changeMaster(
                        ChangeMaster(
                            host: db2Host.ip, port: db2Host.port, user: bench.replicationUser,
                            password: bench.replicationPassword, useGTID: .currentPos
                        )
                    )
                    try await db3.startReplica()
                    let repointed = try await eventually("db3 replicates from db2") { () -> ReplicaStatus? in
                        guard let status = try await db3.replicaStatuses().first, status.ioThread == .yes else {
                            return nil
                        }
                        return status
                    }
                    #expect(repointed.masterHost == db2Host.ip)
                    #expect(repointed.usingGTID == .currentPos)
                    #expect(repointed.masterServerID == 2)

                    // MASTER_GTID_WAIT: reached for what db3 applied, times out for a GTID nobody wrote.
                    _ = try await db1.query("CREATE TABLE mmm_bench.w (id INT PRIMARY KEY)")
                    let target = try await db1.serverFacts().gtidBinlogPos
                    #expect(try await db3.masterGTIDWait(target, timeout: .seconds(3)) == .reached)
                    let future = try GTIDPosition(parsing: "1-1-\(target[domain: 1]!.sequence + 1000)")
                    let started = ContinuousClock.now
                    #expect(try await db3.masterGTIDWait(future, timeout: .milliseconds(300)) == .timedOut)
                    #expect(ContinuousClock.now - started >= .milliseconds(250))
                    await #expect(throws: MMMError.self) {
                        _ = try await db3.masterGTIDWait(future, timeout: .seconds(30))  // beyond the read timeout
                    }
                    try await db3.stopReplica(threads: .io)
                    let ioStopped = try #require(try await db3.replicaStatuses().first)
                    #expect(ioStopped.ioThread == .no && ioStopped.sqlThreadRunning)
                    try await db3.stopReplica(threads: .sql)
                    try await db3.resetReplica(all: true)
                    #expect(try await db3.replicaStatuses().isEmpty)
                    await db1.close()
                    await db3.close()
                }
            }
        }

        @Test("errors keep their number and name the host", .timeLimit(.minutes(2)))
        func errorsNameTheHost() async throws {
            try await Bench.withBench(hosts: 1) { bench in
                try await withExecutor { executor in
                    let host = try bench.host("db1")
                    var wrong = bench.configuration(for: host)
                    wrong.password = "definitely-wrong-secret"
                    let denied = await #expect(throws: MMMError.self) {
                        _ = try await MariaDBConnection.connect(wrong, on: executor)
                    }
                    #expect(denied?.code == .accessDenied)
                    #expect(denied?.mariaDBErrorNumber == MariaDBErrorNumber.accessDenied)
                    #expect(denied?.message.contains("db1") == true)
                    #expect(denied?.description.contains("definitely-wrong-secret") == false)

                    var closedPort = bench.configuration(for: host)
                    closedPort.port = 1
                    let refused = await #expect(throws: MMMError.self) {
                        _ = try await MariaDBConnection.connect(closedPort, on: executor)
                    }
                    #expect(refused?.code == .connectionFailed)
                    #expect(refused?.mariaDBErrorNumber == MariaDBErrorNumber.connectionError)

                    let connection = try await MariaDBConnection.connect(bench.configuration(for: host), on: executor)
                    let syntax = await #expect(throws: MMMError.self) { _ = try await connection.query("SELEC 1") }
                    #expect(syntax?.code == .queryFailed)
                    #expect(syntax?.mariaDBErrorNumber == 1064)
                    #expect(try await connection.query("SELECT 1 AS one").singleRow("one").int("one") == 1, "still usable")
                    await connection.close()
                    await #expect(throws: MMMError.self) { _ = try await connection.query("SELECT 1") }
                }
            }
        }
    }
}
