import MMMAgent
import MMMCore
import MMMTestSupport
import MariaDBClient
import Testing

extension IntegrationTests {
    /// Fence, drain, promote and repoint against real servers: db1 <-> db2 master-master, db3 a replica of db1.
    @Suite("Agent write control and GTID repointing")
    struct WriteControlIntegrationTests {
        /// A non-privileged DML account that `read_only` stops.
        static let appUser = "app"
        /// Its password.
        static let appPassword = "app-secret"

        /// Opens a connection as the bench's admin account (ALL PRIVILEGES).
        static func admin(_ bench: Bench, _ name: String, _ executor: MariaDBExecutor) async throws -> MariaDBConnection {
            try await MariaDBConnection.connect(bench.configuration(for: try bench.host(name)), on: executor)
        }

        /// Opens a connection as `user` over TCP.
        static func session(
            _ bench: Bench, _ name: String, user: String, password: String, _ executor: MariaDBExecutor
        ) async throws -> MariaDBConnection {
            var configuration = bench.configuration(for: try bench.host(name))
            configuration.user = user
            configuration.password = password
            return try await MariaDBConnection.connect(configuration, on: executor)
        }

        /// Opens a connection as the real `root` over the host's Unix socket.
        static func root(_ bench: Bench, _ name: String, _ executor: MariaDBExecutor) async throws -> MariaDBConnection {
            let host = try bench.host(name)
            let configuration = MariaDBConfiguration(
                name: "\(name)-root", host: host.ip, port: host.port, unixSocket: host.socket, user: "root", password: ""
            )
            return try await MariaDBConnection.connect(configuration, on: executor)
        }

        /// A table and a non-privileged DML account (`read_only` stops it with 1290), created on db1 and replicated.
        static func prepare(_ db1: MariaDBConnection, table: String) async throws {
            _ = try await db1.query("CREATE TABLE mmm_bench.\(table) (id INT PRIMARY KEY, v VARCHAR(40))")
            _ = try await db1.query("CREATE USER '\(appUser)'@'%' IDENTIFIED BY '\(appPassword)'")
            _ = try await db1.query("GRANT SELECT, INSERT, UPDATE, DELETE ON mmm_bench.* TO '\(appUser)'@'%'")
        }

        /// `COUNT(*)` of a table in `mmm_bench`.
        static func count(_ connection: MariaDBConnection, _ table: String) async throws -> Int {
            try await connection.query("SELECT COUNT(*) AS n FROM mmm_bench.\(table)").singleRow("count").int("n") ?? -1
        }

        /// `CHECKSUM TABLE` of a table in `mmm_bench`.
        static func checksum(_ connection: MariaDBConnection, _ table: String) async throws -> String {
            try await connection.query("CHECKSUM TABLE mmm_bench.\(table)").singleRow("checksum").string("Checksum") ?? ""
        }

        /// `@@read_only` of the server.
        static func readOnly(_ connection: MariaDBConnection) async throws -> Bool {
            try await connection.serverFacts().readOnly
        }

        /// The replication connection of `connection` (the bench uses the default, unnamed one).
        ///
        /// Read again for up to 3 s when it cannot be parsed: right after a START SLAVE, 10.11 shows
        /// `Slave_IO_Running: Preparing` for a moment, which `ReplicaStatus` does not accept.
        static func replica(_ connection: MariaDBConnection) async throws -> ReplicaStatus {
            try await eventually(timeout: .seconds(3), "read the replication status of \(connection.configuration.name)") {
                () -> ReplicaStatus? in
                guard let status = try await connection.replicaStatuses().first else {
                    throw MMMError(.unexpectedResult, "no replication connection on \(connection.configuration.name)")
                }
                return status
            }
        }

        /// Waits until `connection`'s replication has received `position` (Gtid_IO_Pos contains it).
        static func waitReceived(_ connection: MariaDBConnection, _ position: GTIDPosition) async throws {
            _ = try await eventually("\(connection.configuration.name) receives \(position)") { () -> Bool? in
                try await Self.replica(connection).gtidIOPos.contains(position) ? true : nil
            }
        }

        /// A drain of db2 (or any candidate) from db1, as the bench names it.
        static func drainRequest(_ bench: Bench, timeout: Duration = .seconds(10)) throws -> DrainRequest {
            let db1 = try bench.host("db1")
            return DrainRequest(oldWriter: "db1", oldWriterHost: db1.ip, oldWriterPort: db1.port, timeout: timeout)
        }

        /// db2's SQL thread stopped, three rows written on db1 and received by db2 and db3, then db1 killed with -9:
        /// db2 holds unapplied relay log while its IO thread is `Connecting` (the facts' §3.3 setup).
        /// Returns db1's last `gtid_binlog_pos` and db2's status after the crash.
        static func crashWriterWithUnappliedRelayLog(
            _ bench: Bench, _ executor: MariaDBExecutor, db1: MariaDBConnection, db2: MariaDBConnection,
            db3: MariaDBConnection
        ) async throws -> (position: GTIDPosition, db2Status: ReplicaStatus) {
            try await Self.prepare(db1, table: "d")
            let setup = try await db1.serverFacts().gtidBinlogPos
            #expect(try await db2.masterGTIDWait(setup, timeout: .seconds(3)) == .reached)
            #expect(try await db3.masterGTIDWait(setup, timeout: .seconds(3)) == .reached)
            try await db2.stopReplica(threads: .sql, deadline: .seconds(5))
            for id in 1...3 {
                _ = try await db1.query("INSERT INTO mmm_bench.d VALUES (\(id), 'relay \(id)')")
            }
            let position = try await db1.serverFacts().gtidBinlogPos
            try await Self.waitReceived(db2, position)
            try await Self.waitReceived(db3, position)
            #expect(try await db3.masterGTIDWait(position, timeout: .seconds(3)) == .reached)
            try bench.crash(try bench.host("db1"))
            let status = try await eventually("db2 sees db1 gone") { () -> ReplicaStatus? in
                let status = try await Self.replica(db2)
                return status.ioThread == .connecting ? status : nil
            }
            #expect(!status.sqlThreadRunning)
            #expect(!status.isDrained, "db2 must hold unapplied relay log before the drain")
            #expect(try await Self.count(db2, "d") == 0)
            return (position, status)
        }

        // MARK: - fence

        @Test(
            "fence kills root, ALL PRIVILEGES and app sessions, spares replication and listed accounts, read_only ends ON",
            .timeLimit(.minutes(3))
        )
        func fenceKillsSessions() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let setup = try await Self.admin(bench, "db1", executor)
                    try await Self.prepare(setup, table: "f")
                    _ = try await setup.query("CREATE USER 'mmm_monitor'@'%' IDENTIFIED BY 'monitor-secret'")
                    _ = try await setup.query("GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'mmm_monitor'@'%'")
                    await setup.close()

                    let root = try await Self.root(bench, "db1", executor)
                    let allPrivileges = try await Self.admin(bench, "db1", executor)
                    let app = try await Self.session(bench, "db1", user: Self.appUser, password: Self.appPassword, executor)
                    let monitor = try await Self.session(
                        bench, "db1", user: "mmm_monitor", password: "monitor-secret", executor
                    )
                    _ = try await app.query("INSERT INTO mmm_bench.f VALUES (1, 'before the fence')")
                    // root's session sits inside an open transaction: KILL CONNECTION must roll it back.
                    _ = try await root.query("BEGIN")
                    _ = try await root.query("INSERT INTO mmm_bench.f VALUES (2, 'uncommitted root write')")

                    let control = WriteControl(configuration: bench.configuration(for: try bench.host("db1")), executor: executor)
                    let report = try await control.fence(
                        FenceOptions(sparedUsers: [bench.replicationUser, "mmm_monitor"])
                    )
                    #expect(report.host == "db1")
                    #expect(!report.wasReadOnly)
                    #expect(report.readOnlyAttempts == 1)
                    #expect(report.duration < .seconds(2), "fenced in \(report.duration)")
                    let killed = Set(report.killedSessions.map(\.id))
                    for connection in [root, allPrivileges, app] {
                        #expect(killed.contains(connection.threadID), "\(connection.configuration.user) must be killed")
                        await #expect(throws: MMMError.self) { _ = try await connection.query("SELECT 1") }
                    }
                    #expect(!killed.contains(monitor.threadID), "a spared account is not killed")
                    #expect(try await monitor.query("SELECT 1 AS one").rows.count == 1)
                    #expect(!report.killedSessions.contains { $0.command.hasPrefix("Binlog Dump") || $0.user == bench.replicationUser })

                    let check = try await Self.admin(bench, "db1", executor)
                    #expect(try await Self.readOnly(check))
                    #expect(try await Self.count(check, "f") == 1, "root's open transaction was rolled back")
                    let dumps = try await check.query(
                        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"
                    ).singleRow("count")
                    #expect(try dumps.int("n") == 2, "db2's and db3's Binlog Dump threads survive the fence")

                    // A fresh non-privileged session cannot write: error 1290.
                    let freshApp = try await Self.session(bench, "db1", user: Self.appUser, password: Self.appPassword, executor)
                    do {
                        _ = try await freshApp.query("INSERT INTO mmm_bench.f VALUES (3, 'after the fence')")
                        Issue.record("a write by a non-privileged account succeeded on a fenced host")
                    } catch let error as MMMError {
                        #expect(error.mariaDBErrorNumber == 1290, "\(error)")
                    }

                    // The standby still receives the fenced writer's tail: a write that read_only does not stop
                    // (ALL PRIVILEGES, R6) reaches db2 over the surviving dump thread.
                    _ = try await check.query("INSERT INTO mmm_bench.f VALUES (4, 'tail')")
                    let tail = try await check.serverFacts().gtidBinlogPos
                    let db2 = try await Self.admin(bench, "db2", executor)
                    #expect(try await db2.masterGTIDWait(tail, timeout: .seconds(3)) == .reached)
                    let db2Status = try await Self.replica(db2)
                    #expect(db2Status.ioThread == .yes && db2Status.lastSQLErrno == 0)

                    // Idempotent: fencing a fenced host succeeds.
                    let again = try await control.fence(FenceOptions(sparedUsers: [bench.replicationUser, "mmm_monitor"]))
                    #expect(again.wasReadOnly)
                    #expect(Set(again.killedSessions.map(\.id)) == [freshApp.threadID, check.threadID])

                    for connection in [monitor, check, db2, freshApp, root, allPrivileges, app] { await connection.close() }
                }
            }
        }

        @Test(
            "fence while a long write runs: the writer is killed and the host fenced within the bound; a spared blocker fails the fence in time",
            .timeLimit(.minutes(3))
        )
        func fenceDuringLongWrite() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let setup = try await Self.admin(bench, "db1", executor)
                    try await Self.prepare(setup, table: "l")
                    _ = try await setup.query("CREATE USER 'batch'@'%' IDENTIFIED BY 'batch-secret'")
                    _ = try await setup.query("GRANT SELECT, INSERT ON mmm_bench.* TO 'batch'@'%'")
                    let control = WriteControl(configuration: bench.configuration(for: try bench.host("db1")), executor: executor)

                    // 1. An app session inside INSERT ... SELECT SLEEP(3): read_only=ON alone would wait for it (R7).
                    let app = try await Self.session(bench, "db1", user: Self.appUser, password: Self.appPassword, executor)
                    let longWrite = Task { try await app.query("INSERT INTO mmm_bench.l SELECT 1000, SLEEP(3)") }
                    _ = try await eventually("the long write runs") { () -> Bool? in
                        let rows = try await setup.query(
                            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = \(app.threadID) AND STATE = 'User sleep'"
                        ).rows
                        return rows.isEmpty ? nil : true
                    }
                    // The test's own admin connection is spared, as the agent's account is in production.
                    let report = try await control.fence(FenceOptions(sparedUsers: [bench.replicationUser, bench.adminUser]))
                    #expect(report.duration < .milliseconds(2500), "fenced in \(report.duration), before the write's 3 s")
                    #expect(report.killedSessions.contains { $0.id == app.threadID })
                    #expect(try await Self.readOnly(setup))
                    let outcome = await longWrite.result
                    #expect(throws: MMMError.self) { _ = try outcome.get() }
                    #expect(try await Self.count(setup, "l") == 0, "the killed write was rolled back")

                    // 2. The same with a spared account: its write is not killed, read_only=ON fails with 1205 after
                    // lock_wait_timeout each time, and the fence gives up within its attempts instead of hanging.
                    _ = try await setup.query("SET GLOBAL read_only=OFF")
                    let batch = try await Self.session(bench, "db1", user: "batch", password: "batch-secret", executor)
                    let sparedWrite = Task { try await batch.query("INSERT INTO mmm_bench.l SELECT 2000, SLEEP(4)") }
                    _ = try await eventually("the spared write runs") { () -> Bool? in
                        let rows = try await setup.query(
                            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = \(batch.threadID) AND STATE = 'User sleep'"
                        ).rows
                        return rows.isEmpty ? nil : true
                    }
                    let started = ContinuousClock.now
                    do {
                        _ = try await control.fence(
                            FenceOptions(
                                sparedUsers: [bench.replicationUser, bench.adminUser, "batch"], lockWaitTimeout: .seconds(1), maxAttempts: 2
                            )
                        )
                        Issue.record("the fence succeeded although a spared session held read_only=ON")
                    } catch let error as MMMError {
                        #expect(error.code == .timedOut, "\(error)")
                        #expect(error.message.contains("db1"))
                        #expect((error.cause as? MMMError)?.mariaDBErrorNumber == 1205, "\(error)")
                    }
                    let elapsed = ContinuousClock.now - started
                    #expect(elapsed < .milliseconds(3500), "gave up after \(elapsed)")
                    #expect(try await Self.readOnly(setup) == false, "read_only stays OFF when the SET timed out (R7)")
                    _ = try await sparedWrite.value
                    // Once the write is done, the fence goes through.
                    let retry = try await control.fence(
                        FenceOptions(sparedUsers: [bench.replicationUser, bench.adminUser, "batch"])
                    )
                    #expect(retry.readOnlyAttempts == 1)
                    #expect(try await Self.readOnly(setup))
                    await batch.close()
                    await app.close()
                    await setup.close()
                }
            }
        }

        // MARK: - drain

        @Test(
            "drain after the writer's crash applies the relay log: SQL thread started, IO thread untouched, rows present",
            .timeLimit(.minutes(3))
        )
        func drainAfterCrash() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await Self.admin(bench, "db1", executor)
                    let db2 = try await Self.admin(bench, "db2", executor)
                    let db3 = try await Self.admin(bench, "db3", executor)
                    let (position, before) = try await Self.crashWriterWithUnappliedRelayLog(
                        bench, executor, db1: db1, db2: db2, db3: db3
                    )

                    let control = WriteControl(configuration: bench.configuration(for: try bench.host("db2")), executor: executor)
                    let report = try await control.drain(try Self.drainRequest(bench))
                    #expect(report.isDrained, "\(report.result)")
                    #expect(report.startedSQLThread)
                    #expect(report.received.contains(position))
                    #expect(report.applied.contains(report.received))
                    #expect(report.duration < .seconds(5))

                    #expect(try await Self.count(db2, "d") == 3, "the relay log was applied, not deleted")
                    let after = try await Self.replica(db2)
                    #expect(after.gtidIOPos == before.gtidIOPos, "Gtid_IO_Pos kept: the relay log was not reset (R3)")
                    #expect(after.gtidSlavePos.contains(after.gtidIOPos))
                    #expect(after.ioThread == .connecting && after.sqlThreadRunning, "the drain stops no thread")
                    #expect(after.lastSQLErrno == 0)
                    let facts = try await db2.serverFacts()
                    #expect(facts.gtidSlavePos.contains(position))
                    #expect(facts.readOnly, "a drain alone does not promote")

                    // Draining again is immediate and changes nothing.
                    let again = try await control.drain(try Self.drainRequest(bench))
                    #expect(again.isDrained && !again.startedSQLThread)
                    for connection in [db1, db2, db3] { await connection.close() }
                }
            }
        }

        @Test("drain refuses to start anything when both threads are stopped with unapplied relay log (R3)", .timeLimit(.minutes(3)))
        func drainKeepsStuckRelayLog() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await Self.admin(bench, "db1", executor)
                    let db2 = try await Self.admin(bench, "db2", executor)
                    let db3 = try await Self.admin(bench, "db3", executor)
                    _ = try await Self.crashWriterWithUnappliedRelayLog(bench, executor, db1: db1, db2: db2, db3: db3)
                    try await db2.stopReplica(threads: .io, deadline: .seconds(5))
                    let before = try await Self.replica(db2)
                    #expect(before.ioThread == .no && !before.sqlThreadRunning)

                    let control = WriteControl(configuration: bench.configuration(for: try bench.host("db2")), executor: executor)
                    let report = try await control.drain(try Self.drainRequest(bench, timeout: .seconds(3)))
                    #expect(!report.isDrained)
                    #expect(report.relayLogAtRisk)
                    let after = try await Self.replica(db2)
                    #expect(after.gtidIOPos == before.gtidIOPos && after.relayLogSpace == before.relayLogSpace)

                    // A promotion is refused and read_only stays ON.
                    do {
                        _ = try await control.promote(PromotionRequest(drain: try Self.drainRequest(bench, timeout: .seconds(3))))
                        Issue.record("promoted a host whose relay log is stuck")
                    } catch let error as MMMError {
                        #expect(error.code == .invalidTransition, "\(error)")
                        #expect(error.message.contains("db2"))
                    }
                    #expect(try await Self.readOnly(db2))
                    for connection in [db1, db2, db3] { await connection.close() }
                }
            }
        }

        @Test(
            "switchover: the drain waits for the fenced old writer's gtid_binlog_pos, and promotion is refused until it has it",
            .timeLimit(.minutes(3))
        )
        func switchoverTarget() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await Self.admin(bench, "db1", executor)
                    let db2 = try await Self.admin(bench, "db2", executor)
                    try await Self.prepare(db1, table: "s")
                    let setup = try await db1.serverFacts().gtidBinlogPos
                    #expect(try await db2.masterGTIDWait(setup, timeout: .seconds(3)) == .reached)

                    // db2 stops receiving, db1 writes and is fenced: db1's binlog has what db2 lacks.
                    try await db2.stopReplica(threads: .io, deadline: .seconds(5))
                    _ = try await db1.query("INSERT INTO mmm_bench.s VALUES (1, 'late 1'), (2, 'late 2')")
                    let db1Control = WriteControl(configuration: bench.configuration(for: try bench.host("db1")), executor: executor)
                    _ = try await db1Control.fence(FenceOptions(sparedUsers: [bench.replicationUser, bench.adminUser]))
                    let target = try await db1.serverFacts().gtidBinlogPos

                    var request = try Self.drainRequest(bench, timeout: .seconds(2))
                    request.targetPosition = target
                    let control = WriteControl(configuration: bench.configuration(for: try bench.host("db2")), executor: executor)
                    let missing = try await control.drain(request)
                    #expect(!missing.isDrained, "db2 is drained for what it received, but lacks db1's last writes")
                    #expect(missing.applied.contains(missing.received))
                    #expect(!missing.applied.contains(target))
                    #expect(missing.duration >= .seconds(2) && missing.duration < .seconds(4))
                    do {
                        _ = try await control.promote(PromotionRequest(drain: request))
                        Issue.record("promoted a host that lacks the old writer's transactions")
                    } catch let error as MMMError {
                        #expect(error.code == .timedOut, "\(error)")
                        #expect(error.message.contains("db2") && error.message.contains("read_only stays ON"))
                    }
                    #expect(try await Self.readOnly(db2))

                    // Receiving again (only the IO thread: the SQL thread runs, R3), the switchover completes.
                    try await db2.startReplica(threads: .io)
                    request.timeout = .seconds(10)
                    let promotion = try await control.promote(PromotionRequest(drain: request))
                    #expect(promotion.drain?.isDrained == true)
                    #expect(promotion.gtidSlavePos.contains(target))
                    #expect(try await Self.count(db2, "s") == 2)
                    #expect(try await Self.readOnly(db2) == false)
                    #expect(try await Self.readOnly(db1))
                    await db1.close()
                    await db2.close()
                }
            }
        }

        @Test("broken replication (duplicate key) is REPLICATION_FAIL: the drain says so and promotion is refused", .timeLimit(.minutes(3)))
        func brokenReplicationRefused() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await Self.admin(bench, "db1", executor)
                    let db2 = try await Self.admin(bench, "db2", executor)
                    try await Self.prepare(db1, table: "b")
                    let setup = try await db1.serverFacts().gtidBinlogPos
                    #expect(try await db2.masterGTIDWait(setup, timeout: .seconds(3)) == .reached)
                    // A row only db2 has (not binlogged), then the same key from db1: the seed's duplicate-key error.
                    _ = try await db2.query("SET SESSION sql_log_bin=0")
                    _ = try await db2.query("INSERT INTO mmm_bench.b VALUES (7, 'local')")
                    _ = try await db1.query("INSERT INTO mmm_bench.b VALUES (7, 'from db1')")
                    _ = try await eventually("db2's SQL thread fails") { () -> Bool? in
                        try await Self.replica(db2).lastSQLErrno == 1062 ? true : nil
                    }

                    let control = WriteControl(configuration: bench.configuration(for: try bench.host("db2")), executor: executor)
                    let report = try await control.drain(try Self.drainRequest(bench))
                    guard case .replicationBroken(let errno, let message) = report.result else {
                        Issue.record("expected replicationBroken, got \(report.result)")
                        return
                    }
                    #expect(errno == 1062 && message.contains("Duplicate"))
                    #expect(report.duration < .seconds(2), "a broken host is reported at once, not after the timeout")
                    do {
                        _ = try await control.promote(PromotionRequest(drain: try Self.drainRequest(bench)))
                        Issue.record("promoted a host with broken replication")
                    } catch let error as MMMError {
                        #expect(error.code == .queryFailed, "\(error)")
                        #expect(error.mariaDBErrorNumber == 1062)
                        #expect(error.message.contains("REPLICATION_FAIL"))
                    }
                    #expect(try await Self.readOnly(db2))
                    await db1.close()
                    await db2.close()
                }
            }
        }

        // MARK: - promote and repoint

        @Test(
            "promote db2 after db1's crash, repoint db3 to it with slave_pos: new writes replicate, nothing applied twice",
            .timeLimit(.minutes(3))
        )
        func promoteAndRepoint() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await Self.admin(bench, "db1", executor)
                    let db2 = try await Self.admin(bench, "db2", executor)
                    let db3 = try await Self.admin(bench, "db3", executor)
                    let (position, _) = try await Self.crashWriterWithUnappliedRelayLog(
                        bench, executor, db1: db1, db2: db2, db3: db3
                    )
                    let db2Host = try bench.host("db2")

                    let control = WriteControl(configuration: bench.configuration(for: db2Host), executor: executor)
                    let promotion = try await control.promote(PromotionRequest(drain: try Self.drainRequest(bench)))
                    #expect(promotion.drain?.isDrained == true)
                    #expect(promotion.drain?.startedSQLThread == true)
                    #expect(promotion.finalDrain?.isDrained == true)
                    #expect(promotion.stoppedConnection == "")
                    #expect(promotion.gtidSlavePos.contains(position))
                    let db2Facts = try await db2.serverFacts()
                    #expect(db2Facts.readOnly == false)
                    // The writer replicates from nobody: its source stays configured, both threads stopped (the monitor
                    // closes the ring later); no RESET SLAVE, which needs RELOAD (bench finding 3).
                    let kept = try await db2.replicaStatuses()
                    #expect(kept.count == 1 && kept.allSatisfy { $0.ioThread != .yes && !$0.sqlThreadRunning }, "\(kept)")
                    #expect(try await Self.count(db2, "d") == 3)

                    // A non-privileged account writes on the new writer (read_only really is OFF).
                    let app = try await Self.session(bench, "db2", user: Self.appUser, password: Self.appPassword, executor)
                    _ = try await app.query("INSERT INTO mmm_bench.d VALUES (10, 'new writer 1')")

                    // db3 (a replica of dead db1 that never wrote) follows db2 with slave_pos.
                    let db3Facts = try await db3.serverFacts()
                    #expect(GTIDStartPosition.forRepointing(db3Facts) == .slavePos)
                    let replication = ReplicationControl(configuration: bench.configuration(for: try bench.host("db3")), executor: executor)
                    let repointRequest = RepointRequest(
                        writer: "db2", writerHost: db2Host.ip, writerPort: db2Host.port,
                        replicationUser: bench.replicationUser, replicationPassword: bench.replicationPassword
                    )
                    #expect(!repointRequest.description.contains(bench.replicationPassword) || bench.replicationPassword.isEmpty)
                    let repoint = try await replication.repoint(repointRequest)
                    #expect(repoint.mode == .slavePos)
                    #expect(repoint.action == .changeMaster)
                    #expect(repoint.replicating)
                    #expect(repoint.status?.masterHost == db2Host.ip && repoint.status?.usingGTID == .slavePos)

                    _ = try await app.query("INSERT INTO mmm_bench.d VALUES (11, 'new writer 2')")
                    let newWrites = try await db2.serverFacts().gtidBinlogPos
                    #expect(newWrites[domain: 2] != nil, "the new writer writes in its own domain")
                    #expect(try await db3.masterGTIDWait(newWrites, timeout: .seconds(3)) == .reached)
                    #expect(try await Self.count(db3, "d") == 5)
                    #expect(try await Self.checksum(db3, "d") == (try await Self.checksum(db2, "d")))
                    let db3Status = try await Self.replica(db3)
                    #expect(db3Status.lastSQLErrno == 0 && db3Status.lastIOErrno == 0 && db3Status.ioThread == .yes)
                    #expect(try await db2.replicaStatuses().allSatisfy { $0.ioThread != .yes && !$0.sqlThreadRunning }, "the writer replicates from nobody")

                    // Idempotent: repointing again changes nothing.
                    let again = try await replication.repoint(repointRequest)
                    #expect(again.action == .unchanged && again.replicating)
                    await app.close()
                    for connection in [db1, db2, db3] { await connection.close() }
                }
            }
        }

        @Test(
            "an errant old writer repointed with current_pos is refused by the new writer (IO error 1236)",
            .timeLimit(.minutes(3))
        )
        func errantHostRefused() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await withExecutor { executor in
                    let db1 = try await Self.admin(bench, "db1", executor)
                    let db2 = try await Self.admin(bench, "db2", executor)
                    try await Self.prepare(db1, table: "e")
                    let setup = try await db1.serverFacts().gtidBinlogPos
                    #expect(try await db2.masterGTIDWait(setup, timeout: .seconds(3)) == .reached)

                    // db2 stops receiving; db1 writes two transactions only it has (the facts' §2.1).
                    try await db2.stopReplica(threads: .io, deadline: .seconds(5))
                    _ = try await db1.query("INSERT INTO mmm_bench.e VALUES (1, 'errant 1')")
                    _ = try await db1.query("INSERT INTO mmm_bench.e VALUES (2, 'errant 2')")
                    // db1 "dies": its own replication stops and it is fenced.
                    try await db1.stopReplica(deadline: .seconds(5))
                    let db1Control = WriteControl(configuration: bench.configuration(for: try bench.host("db1")), executor: executor)
                    // The test's admin connections are spared, as the agent's own account is in production.
                    _ = try await db1Control.fence(FenceOptions(sparedUsers: [bench.replicationUser, bench.adminUser]))

                    let db2Host = try bench.host("db2")
                    let db2Control = WriteControl(configuration: bench.configuration(for: db2Host), executor: executor)
                    _ = try await db2Control.promote(PromotionRequest(drain: try Self.drainRequest(bench)))
                    _ = try await db2.query("INSERT INTO mmm_bench.e VALUES (10, 'new writer')")

                    let db1Facts = try await db1.serverFacts()
                    let errant = db1Facts.gtidBinlogState.ranges(notIn: try await db2.serverFacts().gtidBinlogState)
                    #expect(!errant.isEmpty, "db1 holds transactions db2 lacks")
                    #expect(GTIDStartPosition.forRepointing(db1Facts) == .currentPos)

                    let replication = ReplicationControl(configuration: bench.configuration(for: try bench.host("db1")), executor: executor)
                    do {
                        _ = try await replication.repoint(
                            RepointRequest(
                                writer: "db2", writerHost: db2Host.ip, writerPort: db2Host.port,
                                replicationUser: bench.replicationUser, replicationPassword: bench.replicationPassword
                            )
                        )
                        Issue.record("db2 accepted errant db1")
                    } catch let error as MMMError {
                        #expect(error.mariaDBErrorNumber == 1236, "\(error)")
                        #expect(error.message.contains("db1") && error.message.contains("errant"))
                    }
                    let status = try await Self.replica(db1)
                    #expect(status.usingGTID == .currentPos && status.masterHost == db2Host.ip)
                    #expect(status.ioThread == .no && status.lastIOErrno == 1236)
                    // Nothing spread either way: db1 did not apply db2's write, db2 has none of db1's errant rows.
                    #expect(try await Self.count(db1, "e") == 2)
                    #expect(try await Self.count(db2, "e") == 1)
                    await db1.close()
                    await db2.close()
                }
            }
        }
    }
}
