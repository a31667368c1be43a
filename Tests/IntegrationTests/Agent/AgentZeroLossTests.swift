import Foundation
import Logging
import MMMAgent
import MMMCore
import MMMProtocol
import MMMSystem
import MMMTestSupport
import MMMTransport
import MariaDBClient
import Testing

extension AgentCluster {
    /// One row of `sql` on `host`'s own address.
    func row(_ sql: String, on host: String) async throws -> MariaDBRow {
        let connection = try await self.connect(try self.bench.host(host).ip, name: host)
        do {
            let row = try await connection.query(sql).singleRow(sql)
            await connection.close()
            return row
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The semi-sync state of `host`.
    func semiSync(_ host: String) async throws -> (SemiSyncObservation, SemiSyncCounters) {
        let connection = try await self.connect(try self.bench.host(host).ip, name: host)
        do {
            let state = (try await connection.semiSyncObservation(), try await connection.semiSyncCounters())
            await connection.close()
            return state
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Whether `host`'s namespace has `ip` on its interface.
    func holdsAddress(_ host: String, _ ip: String) async throws -> Bool {
        let shown = try await IntegrationTests.BenchIntegrationTests.run("/usr/sbin/ip", ["-n", "mmmb-\(host)", "-o", "-4", "addr", "show", "dev", "eth0"])
        #expect(shown.status == 0, "\(shown.output)")
        return shown.output.contains(" \(ip)/")
    }
}

extension IntegrationTests {
    @Suite("mmm_agentd: fence orders and the zero-loss policy", .enabled(if: Bench.modeFromEnvironment == .netns, "agents need the namespace bench"))
    struct AgentZeroLossTests {
        @Test("zero_loss: the writer runs semi-sync AFTER_SYNC ACKed by the standby; the standby's master role stays off", .timeLimit(.minutes(15)))
        func semiSyncOnTheWriterOnly() async throws {
            let testStarted = ContinuousClock.now
            try await Bench.withBench(hosts: 2) { bench in
                print("zero_loss: bench up \(ContinuousClock.now - testStarted) after the test started (the machine lock is taken)")
                try await AgentCluster.with(bench, commonExtra: "failover_policy zero_loss\nsemi_sync_timeout 3") { cluster in
                    try await cluster.whileRenewing(["db1", "db2"]) {
                        // A master role left on by hand on the standby must be turned off (R10).
                        let db2 = try await cluster.connect(try bench.host("db2").ip, name: "db2")
                        _ = try await db2.query("SET GLOBAL rpl_semi_sync_master_enabled=ON")
                        await db2.close()

                        try await cluster.push(
                            epoch: 1, writer: "db1",
                            roles: ["db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2]]
                        )
                        let (writer, _) = try await eventually(timeout: .seconds(15), "db1 is a semi-sync master ACKed by db2") {
                            () -> (SemiSyncObservation, SemiSyncCounters)? in
                            let state = try await cluster.semiSync("db1")
                            print("zero_loss: db1 \(state.0)")
                            return state.0.masterEnabled && state.0.masterActive && state.0.masterClients == 1 ? state : nil
                        }
                        #expect(writer.waitPoint == .afterSync)
                        // MariaDB never falls back by itself (issue 17); semi_sync_timeout is the agent's release bound.
                        #expect(writer.timeoutMilliseconds == UInt64(SemiSyncPlanner.strictTimeoutMilliseconds))
                        let (standby, _) = try await eventually("db2 ACKs as a semi-sync replica") { () -> (SemiSyncObservation, SemiSyncCounters)? in
                            let state = try await cluster.semiSync("db2")
                            print("zero_loss: db2 \(state.0)")
                            return state.0.slaveActive && !state.0.masterEnabled ? state : nil
                        }
                        #expect(standby.slaveEnabled)
                        #expect(standby.ioThreadConnected && standby.sqlThreadRunning, "only the IO thread was restarted")

                        // A write through the VIP is ACKed by db2.
                        let before = try await cluster.semiSync("db1").1
                        let app = try await cluster.connect(Bench.writerIP, name: "app")
                        _ = try await app.query("CREATE TABLE mmm_bench.zero_loss (id INT PRIMARY KEY)")
                        let started = ContinuousClock.now
                        _ = try await app.query("INSERT INTO mmm_bench.zero_loss VALUES (1)")
                        let insertTook = ContinuousClock.now - started
                        await app.close()
                        let after = try await cluster.semiSync("db1").1
                        print("zero_loss: INSERT took \(insertTook); yes_tx \(before.masterYesTransactions) -> \(after.masterYesTransactions), no_tx \(after.masterNoTransactions)")
                        #expect(after.masterYesTransactions >= before.masterYesTransactions + 2, "CREATE and INSERT were ACKed")
                        #expect(after.masterNoTransactions == before.masterNoTransactions, "nothing returned un-ACKed")
                        #expect(insertTook < .seconds(2), "the INSERT did not wait for the 3 s timeout")
                        let row = try await eventually("db2 has the row") { () -> Int? in
                            // AFTER_SYNC ACKs once the event is in db2's relay log; applying it follows.
                            let count = try await cluster.row("SELECT COUNT(*) AS n FROM mmm_bench.zero_loss", on: "db2").int("n")
                            return count == 1 ? count : nil
                        }
                        #expect(row == 1)

                        // A converged host runs no statement: the state is logged once, not every round.
                        try await Task.sleep(for: .seconds(2))
                        let log = cluster.agents["db1"]!.log
                        #expect(log.contains("Semi-sync adjusted for the zero-loss policy"))
                        let states = log.components(separatedBy: "Semi-sync state").count - 1
                        #expect((1...4).contains(states), "db1 logged its semi-sync state \(states) times")
                        #expect(cluster.agents["db2"]!.log.contains("restartIOThread"))
                        print("zero_loss: checks done \(ContinuousClock.now - testStarted) after the test started")
                    }
                }
            }
        }

        /// Bench finding 2: MariaDB waits for one ACK from any semi-sync replica. A replica that can never be
        /// promoted (db3, `mode slave`) must not send it, or a write acknowledged to the client may be missing on the
        /// host that becomes the writer. Its ACK side, turned on by hand here, is turned off and its IO thread
        /// restarted at once; the writer is ACKed by db2 alone.
        @Test("zero_loss with a replica: only the masters that can become writer ACK; the replica stops ACKing", .timeLimit(.minutes(15)))
        func onlyPromotableHostsACK() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await AgentCluster.with(bench, commonExtra: "failover_policy zero_loss\nsemi_sync_timeout 3") { cluster in
                    let db3 = try await cluster.connect(try bench.host("db3").ip, name: "db3")
                    _ = try await db3.query("SET GLOBAL rpl_semi_sync_slave_enabled=ON")
                    try await db3.restartReplicaIOThread()
                    await db3.close()
                    _ = try await eventually("db3 ACKs before the agents converge") { () -> Bool? in
                        try await cluster.semiSync("db3").0.slaveActive ? true : nil
                    }
                    try await cluster.whileRenewing(["db1", "db2", "db3"]) {
                        try await cluster.push(
                            epoch: 1, writer: "db1",
                            roles: ["db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2], "db3": []]
                        )
                        let replica = try await eventually(timeout: .seconds(15), "db3 stops ACKing") { () -> SemiSyncObservation? in
                            let state = try await cluster.semiSync("db3").0
                            return !state.slaveEnabled && !state.slaveActive && state.ioThreadConnected ? state : nil
                        }
                        #expect(replica.sqlThreadRunning, "only db3's IO thread was restarted (R3)")
                        let writer = try await eventually(timeout: .seconds(15), "db1 is a semi-sync master ACKed by db2 only") {
                            () -> SemiSyncObservation? in
                            let state = try await cluster.semiSync("db1").0
                            return state.masterEnabled && state.masterActive && state.masterClients == 1 ? state : nil
                        }
                        #expect(writer.waitPoint == .afterSync)
                        #expect(try await cluster.semiSync("db2").0.slaveActive, "the standby master ACKs")
                        // A write through the VIP is ACKed (by db2: db3 sends none).
                        let before = try await cluster.semiSync("db1").1
                        let app = try await cluster.connect(Bench.writerIP, name: "app")
                        _ = try await app.query("CREATE TABLE mmm_bench.acked (id INT PRIMARY KEY)")
                        _ = try await app.query("INSERT INTO mmm_bench.acked VALUES (1)")
                        await app.close()
                        let after = try await cluster.semiSync("db1").1
                        #expect(after.masterYesTransactions >= before.masterYesTransactions + 2)
                        #expect(after.masterNoTransactions == before.masterNoTransactions)
                        #expect(cluster.agents["db3"]!.log.contains("restartIOThread"))
                    }
                }
            }
        }

        /// Issue 17: MariaDB's own timeout is never reached (it would fire at the wake of a host frozen past it); the
        /// writer's agent, while its lease is valid, releases a commit that waited `semi_sync_timeout` for an ACK that
        /// does not come, and says so in its log.
        @Test("zero_loss: a commit without an ACK is released by the writer's agent after semi_sync_timeout, not by MariaDB", .timeLimit(.minutes(15)))
        func aCommitWithoutACKIsReleasedByTheAgent() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await AgentCluster.with(bench, commonExtra: "failover_policy zero_loss\nsemi_sync_timeout 2") { cluster in
                    try await cluster.whileRenewing(["db1", "db2"]) {
                        try await cluster.push(
                            epoch: 1, writer: "db1",
                            roles: ["db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2]]
                        )
                        _ = try await eventually(timeout: .seconds(15), "db1 is a semi-sync master ACKed by db2, strict timeout") { () -> Bool? in
                            let state = try await cluster.semiSync("db1").0
                            return state.masterActive && state.masterClients == 1
                                && state.timeoutMilliseconds == UInt64(SemiSyncPlanner.strictTimeoutMilliseconds) ? true : nil
                        }
                        let app = try await cluster.connect(Bench.writerIP, name: "app")
                        _ = try await app.query("CREATE TABLE mmm_bench.released (id INT PRIMARY KEY)")
                        // db2's IO thread stays connected but receives nothing: its server answers, so the writer keeps
                        // waiting for its ACK (wait_no_slave stays ON).
                        let db2 = try await cluster.connect(try bench.host("db2").ip, name: "db2")
                        _ = try await db2.query("STOP SLAVE IO_THREAD")
                        await db2.close()
                        let before = try await cluster.semiSync("db1").1
                        let started = ContinuousClock.now
                        _ = try await app.query("INSERT INTO mmm_bench.released VALUES (1)")
                        let waited = ContinuousClock.now - started
                        await app.close()
                        let after = try await cluster.semiSync("db1").1
                        print("zero_loss release: the INSERT returned after \(waited); no_tx \(before.masterNoTransactions) -> \(after.masterNoTransactions)")
                        #expect(waited >= .seconds(2), "it waited at least semi_sync_timeout")
                        #expect(waited < .seconds(10), "the agent released it within a few rounds")
                        #expect(after.masterNoTransactions == before.masterNoTransactions + 1, "it returned without an ACK")
                        #expect(cluster.agents["db1"]!.log.contains("Released commits waiting for a semi-sync ACK"))
                        let state = try await cluster.semiSync("db1").0
                        #expect(state.masterEnabled, "the master side is on again: the next commits wait")
                    }
                }
            }
        }

        @Test("zero_loss: the crashed writer's un-ACKed transaction is truncated by `bench.sh restart --rejoin`", .timeLimit(.minutes(15)))
        func unACKedTransactionIsTruncatedOnRejoin() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await AgentCluster.with(bench, commonExtra: "failover_policy zero_loss\nsemi_sync_timeout 5") { cluster in
                    try await cluster.whileRenewing(["db1", "db2"]) {
                        try await cluster.push(
                            epoch: 1, writer: "db1",
                            roles: ["db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2]]
                        )
                        _ = try await eventually(timeout: .seconds(15), "db1 is a semi-sync master ACKed by db2") { () -> Bool? in
                            let state = try await cluster.semiSync("db1").0
                            return state.masterActive && state.masterClients == 1 ? true : nil
                        }
                        let app = try await cluster.connect(Bench.writerIP, name: "app")
                        _ = try await app.query("CREATE TABLE mmm_bench.unacked (id INT PRIMARY KEY)")
                        _ = try await app.query("INSERT INTO mmm_bench.unacked VALUES (1)")
                        _ = try await eventually("db2 has row 1") { () -> Bool? in
                            try await cluster.row("SELECT COUNT(*) AS n FROM mmm_bench.unacked", on: "db2").int("n") == 1 ? true : nil
                        }
                        let acked = try await cluster.row("SELECT @@gtid_binlog_pos AS p", on: "db1").requiredString("p")

                        // db2 stops receiving: the next commit on db1 waits for an ACK that never comes; db1 dies then.
                        let db2 = try await cluster.connect(try bench.host("db2").ip, name: "db2")
                        _ = try await db2.query("STOP SLAVE IO_THREAD")
                        await db2.close()
                        let waiting = Task { try await app.query("INSERT INTO mmm_bench.unacked VALUES (2)") }
                        _ = try await eventually("the INSERT waits for its ACK") { () -> Bool? in
                            let row = try await cluster.row(
                                "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE '%semi-sync ACK%'", on: "db1"
                            )
                            return try row.int("n") == 1 ? true : nil
                        }
                        let unacked = try await cluster.row("SELECT @@gtid_binlog_pos AS p", on: "db1").requiredString("p")
                        #expect(unacked != acked, "the waiting transaction is in db1's binlog")
                        try bench.crash(try bench.host("db1"))
                        let outcome = await waiting.result
                        #expect(throws: (any Error).self, "the client never got an OK") { try outcome.get() }
                        await app.close()

                        let restart = try await IntegrationTests.BenchIntegrationTests.run(
                            Bench.scriptURL().path, ["restart", "db1", "--rejoin"]
                        )
                        print("zero_loss rejoin: \(restart.output)")
                        #expect(restart.status == 0)
                        let after = try await eventually("db1 answers again") { () -> String? in
                            try await cluster.row("SELECT @@gtid_binlog_pos AS p", on: "db1").requiredString("p")
                        }
                        print("zero_loss rejoin: db1 binlog acked \(acked), with the un-ACKed one \(unacked), after restart \(after)")
                        #expect(after == acked, "the un-ACKed transaction was truncated")
                        #expect(try await cluster.row("SELECT COUNT(*) AS n FROM mmm_bench.unacked WHERE id = 2", on: "db1").int("n") == 0)
                        let state = ProcessInfo.processInfo.environment["MMM_BENCH_STATE"] ?? "/tmp/mmm-bench"
                        let errorLog = try String(contentsOfFile: "\(state)/db1/error.log", encoding: .utf8)
                        #expect(errorLog.contains("Successfully truncated binlog file"))
                    }
                }
            }
        }

        @Test("fence order on a frozen writer: VIP dropped at once, readOnly=false; read_only=ON after SIGCONT", .timeLimit(.minutes(15)))
        func fenceOrderOnAFrozenWriter() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await AgentCluster.with(bench) { cluster in
                    try await cluster.whileRenewing(["db1", "db2"]) {
                        try await cluster.push(
                            epoch: 1, writer: "db1",
                            roles: ["db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2]]
                        )
                        _ = try await eventually("the writer VIP reaches a writable db1") { () -> Bool? in
                            let who = try await cluster.whoAnswers(Bench.writerIP)
                            return who.host == "db1" && !who.readOnly ? true : nil
                        }
                        let pid = try bench.host("db1").pid
                        #expect(kill(pid, SIGSTOP) == 0)
                        defer { kill(pid, SIGCONT) }
                        let started = ContinuousClock.now
                        let answer = try await cluster.send(
                            .fence(FenceOrder(target: "db1", epoch: 2, reason: "test: frozen writer")), to: "db1"
                        )
                        let took = ContinuousClock.now - started
                        print("fence order on a frozen writer answered in \(took): \(answer)")
                        guard case .fenced(let report) = answer else {
                            Issue.record("expected fenced, got \(answer)")
                            return
                        }
                        #expect(!report.readOnly, "a frozen server cannot be made read-only")
                        #expect(report.rolesDropped == [AgentCluster.writer])
                        #expect(took < .seconds(4))
                        #expect(try await cluster.holdsAddress("db1", Bench.writerIP) == false, "the writer IP left db1")
                        #expect(try await cluster.holdsAddress("db1", Bench.readerIPs[0]), "the reader IP stays")

                        // Still frozen a while later: convergence must not take the VIP back.
                        try await Task.sleep(for: .seconds(2))
                        #expect(try await cluster.holdsAddress("db1", Bench.writerIP) == false)

                        #expect(kill(pid, SIGCONT) == 0)
                        let resumed = ContinuousClock.now
                        _ = try await eventually("db1 is read-only after SIGCONT") { () -> Bool? in
                            try await cluster.row("SELECT @@global.read_only AS ro", on: "db1").bool("ro") == true ? true : nil
                        }
                        print("fence order: db1 read_only=ON \(ContinuousClock.now - resumed) after SIGCONT")
                        #expect(ContinuousClock.now - resumed < .seconds(8))
                        #expect(try await cluster.holdsAddress("db1", Bench.writerIP) == false)
                        #expect(cluster.agents["db1"]!.log.contains("could not be made read-only"))

                        // A second order on the live, read-only server: readOnly=true, nothing left to drop.
                        guard case .fenced(let again) = try await cluster.send(
                            .fence(FenceOrder(target: "db1", epoch: 3, reason: "test: again")), to: "db1"
                        ) else {
                            Issue.record("the second fence order failed")
                            return
                        }
                        #expect(again.readOnly)
                        #expect(again.rolesDropped.isEmpty)

                        // An order naming another host, sent to db2's agent, fences db1's server over SQL (the path
                        // the monitor takes when db1's own agent is silent), and never db2 itself.
                        let proxy = try await cluster.send(.fence(FenceOrder(target: "db1", epoch: 4, reason: "test")), to: "db2")
                        guard case .fenced(let report) = proxy else {
                            Issue.record("db2 did not fence db1 over SQL: \(proxy)")
                            return
                        }
                        #expect(report.target == "db1" && report.readOnly && report.rolesDropped.isEmpty)
                        #expect(try await cluster.row("SELECT @@global.read_only AS ro", on: "db1").bool("ro") == true)
                        #expect(try await cluster.row("SELECT @@global.read_only AS ro", on: "db2").bool("ro") == true)
                    }
                }
            }
        }
    }
}
