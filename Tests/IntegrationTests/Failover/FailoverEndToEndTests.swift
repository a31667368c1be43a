import Foundation
import MMMCore
import MMMSystem
import MMMTestSupport
import MariaDBClient
import NIOConcurrencyHelpers
import Testing

extension IntegrationTests {
    /// Issue 6's scenarios on the bench, each on a fresh 2-host bench under continuous writes through the writer VIP
    /// (``WriteLoad``) with a ``WriterSampler`` watching for two writers every 100 ms. Each prints one
    /// `SCENARIO <name>: outage ..., acknowledged ..., lost ..., duplicates ..., two-writer samples ...` line.
    @Suite(
        "Failover, switchover and rejoin under write load",
        .enabled(if: Bench.modeFromEnvironment == .netns, "agents and VIPs need the namespace bench")
    )
    struct FailoverEndToEndTests {
        /// The writer role as `show` prints it.
        static let writerRole = "writer(\(Bench.writerIP))"

        /// Runs `ip` with `arguments` and fails on a non-zero status.
        static func ip(_ arguments: [String]) async throws {
            let result = try await IntegrationTests.BenchIntegrationTests.run("/usr/sbin/ip", arguments)
            guard result.status == 0 else {
                throw MMMError(.commandFailed, "ip \(arguments.joined(separator: " ")) failed: \(result.output)")
            }
        }

        @Test("a. switchover both ways under load: nothing lost, no replication error, never two writers", .timeLimit(.minutes(5)))
        func switchoverBothWays() async throws {
            try await FailoverScenario.run("switchover") { scenario in
                var notes: [String] = []
                for (index, target) in [scenario.standby, scenario.writer].enumerated() {
                    let asked = ContinuousClock.now
                    let move = try await scenario.cluster.control("move_role", "writer", target)
                    let answered = ContinuousClock.now
                    #expect(move.status == 0, "move_role writer \(target): \(move.output)")
                    let (reached, resumed) = try await scenario.waitForWrites(on: target, after: answered, timeout: .seconds(30))
                    let gap = scenario.load.longestGap(from: asked, to: ContinuousClock.now)
                    notes.append(
                        "move \(index + 1) to \(target): mmm_control answered in \(scenario.since(asked, answered)) ms, VIP on \(target) writable \(scenario.since(asked, reached)) ms after the command, write gap \(gap.map { milliseconds(of: $0.duration) } ?? -1) ms"
                    )
                    // Let the load run on the new writer before moving back.
                    try await scenario.load.waitForAcknowledgements(100, after: resumed.at, timeout: .seconds(10))
                }
                let writer = try await scenario.writerInShow()
                #expect(writer == scenario.writer, "the writer is back on \(scenario.writer)")
                return ScenarioOutcome(
                    finalWriter: scenario.writer, event: nil, requireZeroLoss: true,
                    replicationChecked: ["db1", "db2"], notes: notes
                )
            }
        }

        @Test("b. kill -9 of the writer's mariadbd: writes resume on the standby, never two writers", .timeLimit(.minutes(4)))
        func writerCrash() async throws {
            try await FailoverScenario.run("crash") { scenario in
                let crashed = ContinuousClock.now
                try scenario.bench.crash(try scenario.bench.host(scenario.writer))
                let resumed = await expecting("writes resume on \(scenario.standby) within 30 s of kill -9") {
                    try await scenario.waitForWrites(on: scenario.standby, after: crashed, timeout: .seconds(30)).acknowledgement
                }
                let show = try await scenario.cluster.showLine(scenario.writer)
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: crashed, requireZeroLoss: false,
                    replicationChecked: [scenario.standby],
                    notes: [
                        resumed.map { "writes resumed on \(scenario.standby) \(scenario.since(crashed, $0.at)) ms after kill -9" } ?? "writes did NOT resume within 30 s",
                        "old writer in show: \(show.trimmingCharacters(in: .whitespaces))",
                    ],
                    printLogs: resumed == nil
                )
            }
        }

        @Test("c. the writer's mariadbd frozen (SIGSTOP): writes resume on the standby, never two writers", .timeLimit(.minutes(4)))
        func writerFrozen() async throws {
            try await FailoverScenario.run("sigstop") { scenario in
                let old = try scenario.bench.host(scenario.writer)
                let frozen = ContinuousClock.now
                guard kill(old.pid, SIGSTOP) == 0 else { throw MMMError(.commandFailed, "SIGSTOP \(old.pid) failed: errno \(errno)") }
                var notes: [String] = []
                var failed = false
                try await restoring({ _ = kill(old.pid, SIGCONT) }) {
                    let resumed = await expecting("writes resume on \(scenario.standby) within 30 s of SIGSTOP") {
                        try await scenario.waitForWrites(on: scenario.standby, after: frozen, timeout: .seconds(30)).acknowledgement
                    }
                    notes.append(resumed.map { "writes resumed on \(scenario.standby) \(scenario.since(frozen, $0.at)) ms after SIGSTOP" } ?? "writes did NOT resume within 30 s of SIGSTOP")
                    failed = resumed == nil
                    // Stay frozen a little longer: a late writer claim would show up in the sampler now.
                    try await Task.sleep(for: .seconds(2))
                }
                // Thawed, the old writer must be fenced (read-only, no VIP) and stay so.
                let thawed = ContinuousClock.now
                let fenced = await expecting("\(scenario.writer) read-only and \(scenario.standby) the only VIP holder within 20 s of SIGCONT") {
                    try await eventually(timeout: .seconds(20), "\(scenario.writer) read-only without the VIP after SIGCONT") { () -> Bool? in
                        let last = scenario.sampler.samples.last
                        // Not writable: read-only, or not running (the bench's kill_host_bin stops a server its agent
                        // could not fence).
                        return last.map { $0.readOnly[scenario.writer] != false } == true && last?.vipHolders == [scenario.standby] ? true : nil
                    }
                }
                notes.append(fenced != nil ? "old writer fenced and \(scenario.standby) sole VIP holder \(scenario.since(thawed, ContinuousClock.now)) ms after SIGCONT" : "after SIGCONT: NOT (old writer read-only and \(scenario.standby) sole VIP holder) within 20 s")
                try await Task.sleep(for: .seconds(2))
                let writer = try await scenario.writerInShow()
                #expect(writer == scenario.standby)
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: frozen, requireZeroLoss: false,
                    replicationChecked: [scenario.standby], notes: notes, printLogs: failed || fenced == nil
                )
            }
        }

        @Test("d. the writer's host cut off (link down): writes resume on the standby, never two writers", .timeLimit(.minutes(4)))
        func writerCutOff() async throws {
            try await FailoverScenario.run("link-down") { scenario in
                let namespace = "mmmb-\(scenario.writer)"
                let cut = ContinuousClock.now
                try await Self.ip(["-n", namespace, "link", "set", "eth0", "down"])
                var notes: [String] = []
                var failed = false
                try await restoring({ _ = try? await Self.ip(["-n", namespace, "link", "set", "eth0", "up"]) }) {
                    let resumed = await expecting("writes resume on \(scenario.standby) within 30 s of link down") {
                        try await scenario.waitForWrites(on: scenario.standby, after: cut, timeout: .seconds(30)).acknowledgement
                    }
                    notes.append(resumed.map { "writes resumed on \(scenario.standby) \(scenario.since(cut, $0.at)) ms after link down" } ?? "writes did NOT resume within 30 s of link down")
                    failed = resumed == nil
                    try await Task.sleep(for: .seconds(2))
                }
                let reconnected = ContinuousClock.now
                let fenced = await expecting("\(scenario.writer) read-only and \(scenario.standby) the only VIP holder within 20 s of link up") {
                    try await eventually(timeout: .seconds(20), "\(scenario.writer) read-only without the VIP after link up") { () -> Bool? in
                        let last = scenario.sampler.samples.last
                        // Not writable: read-only, or not running (the bench's kill_host_bin stops a server its agent
                        // could not fence).
                        return last.map { $0.readOnly[scenario.writer] != false } == true && last?.vipHolders == [scenario.standby] ? true : nil
                    }
                }
                notes.append(fenced != nil ? "old writer read-only and \(scenario.standby) sole VIP holder \(scenario.since(reconnected, ContinuousClock.now)) ms after link up" : "after link up: NOT (old writer read-only and \(scenario.standby) sole VIP holder) within 20 s")
                try await Task.sleep(for: .seconds(2))
                let writer = try await scenario.writerInShow()
                #expect(writer == scenario.standby)
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: cut, requireZeroLoss: false,
                    replicationChecked: [scenario.standby], notes: notes, printLogs: failed || fenced == nil
                )
            }
        }

        /// The monitor runs in the root namespace and reaches the writer at its own address from the bridge address
        /// 198.18.0.1, which is also the test process's (the load's) address. The load connects to the VIP instead,
        /// so a policy rule in the writer's namespace that blackholes only packets *from the writer's own address to
        /// 198.18.0.1* cuts the monitor (its SQL checks, pings and agent connections all target the own address)
        /// while the load's replies (from the VIP) and replication (from and to 198.18.0.102) still flow. The sampler
        /// reads `read_only` over the Unix sockets, which the rule does not touch.
        @Test("e. monitor partitioned from the writer for 45 s, then healed, clients on both sides: no two writers, nothing acknowledged lost", .timeLimit(.minutes(5)))
        func monitorPartitionedFromWriter() async throws {
            try await FailoverScenario.run("monitor-partition") { scenario in
                let old = try scenario.bench.host(scenario.writer)
                let namespace = "mmmb-\(scenario.writer)"
                let rule = ["-n", namespace, "rule", "%", "from", old.ip, "to", "198.18.0.1", "blackhole"]
                var partitionFailed = false
                // A second client inside the writer's namespace (bench finding 1: clients on both sides of the cut),
                // one `mariadb` process per insert through the VIP; every insert it saw succeed must be on the final
                // writer.
                try await scenario.execute("CREATE TABLE mmm_bench.inside (id INT PRIMARY KEY)", on: scenario.writer)
                let insideAcknowledged = NIOLockedValueBox<[Int]>([])
                let insideStop = NIOLockedValueBox(false)
                let cut = ContinuousClock.now
                try await Self.ip(rule.map { $0 == "%" ? "add" : $0 })
                var notes: [String] = []
                try await restoring({ _ = try? await Self.ip(rule.map { $0 == "%" ? "del" : $0 }) }) {
                    async let inside: Void = {
                        var id = 0
                        while !insideStop.withLockedValue({ $0 }) {
                            id += 1
                            let result = try? await IntegrationTests.BenchIntegrationTests.run(
                                "/usr/sbin/ip",
                                [
                                    "netns", "exec", namespace, "/usr/bin/mariadb", "--connect-timeout=1", "-h", Bench.writerIP,
                                    "-u", "mmm_load", "-pmmm_load_pw", "-e", "INSERT INTO mmm_bench.inside VALUES (\(id))",
                                ]
                            )
                            if result?.status == 0 { insideAcknowledged.withLockedValue { $0.append(id) } }
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }()
                    // Long enough for detection, the writer lease (3 s), the monitor's earliest promotion (7.4 s), and as
                    // long as the bench finding's cut (45 s), whose heal is what went wrong.
                    try await Task.sleep(for: .seconds(45))
                    insideStop.withLockedValue { $0 = true }
                    await inside
                    let writer = try await scenario.writerInShow()
                    notes.append("writer in show after 45 s of partition: \(writer ?? "none or two")")
                    let oldLine = try await scenario.cluster.showLine(scenario.writer)
                    notes.append("old writer in show: \(oldLine.trimmingCharacters(in: .whitespaces))")
                    let writing = scenario.load.firstAcknowledgement(after: ContinuousClock.now - .seconds(2)) != nil
                    notes.append(writing ? "writes flowing at the end of the partition" : "NO writes in the last 2 s of the partition")
                    #expect(writing, "writes go on (old writer) or resumed (new writer) during the partition")
                    partitionFailed = !writing
                }
                let healed = ContinuousClock.now
                let finalWriter = try await eventually(timeout: .seconds(20), "one writer in show after the partition healed") { () -> String? in
                    try await scenario.writerInShow()
                }
                let (_, after) = try await scenario.waitForWrites(on: finalWriter, after: healed, timeout: .seconds(20))
                notes.append("after healing: writer \(finalWriter), first write \(scenario.since(healed, after.at)) ms after")
                // Bench finding 1: at the heal the fenced old writer must not take the role back from the monitor's first
                // poll. The sampler (checked by the scenario) would see two writers; here also its own state after it.
                try await Task.sleep(for: .seconds(5))
                let acknowledgedInside = insideAcknowledged.withLockedValue { $0 }
                let present = try await scenario.value("(SELECT GROUP_CONCAT(id) FROM mmm_bench.inside)", on: finalWriter) ?? ""
                let presentIDs = Set(present.split(separator: ",").compactMap { Int($0) })
                let lostInside = acknowledgedInside.filter { !presentIDs.contains($0) }
                notes.append("client inside \(scenario.writer)'s namespace: \(acknowledgedInside.count) inserts acknowledged, \(lostInside.count) missing on \(finalWriter)")
                #expect(lostInside.isEmpty, "acknowledged inside the cut-off side but missing on \(finalWriter): \(lostInside.prefix(20))")
                if finalWriter == scenario.standby {
                    #expect(try await scenario.value("@@read_only", on: scenario.writer) == "1", "the fenced old writer stays read-only after the heal")
                    let held = try await scenario.cluster.showLine(scenario.writer)
                    #expect(!held.contains(Self.writerRole), "the old writer holds no writer role after the heal: \(held)")
                    notes.append("5 s after the heal the old writer is still fenced: \(held.trimmingCharacters(in: .whitespaces))")
                }
                if finalWriter == scenario.standby, let promoted = scenario.sampler.samples.first(where: { $0.writable == [scenario.standby] }) {
                    notes.append("failover: \(scenario.standby) writable \(scenario.since(cut, promoted.at)) ms after the cut")
                }
                if let fenced = scenario.sampler.samples.first(where: { $0.readOnly[scenario.writer] == true }) {
                    notes.append("old writer read-only \(scenario.since(cut, fenced.at)) ms after the cut")
                }
                return ScenarioOutcome(
                    // Replication stayed up and the old writer is fenced before any promotion, so nothing
                    // acknowledged may be missing on whichever host writes at the end.
                    finalWriter: finalWriter, event: cut, requireZeroLoss: true, replicationChecked: ["db1", "db2"], notes: notes,
                    printLogs: partitionFailed
                )
            }
        }

        /// A clean return: the load pauses and the standby applies all of the writer's binlog before the crash, so the
        /// old writer has nothing the standby lacks. Restarted with `read_only=ON` (MMM requires it in every
        /// server's `my.cnf`; the bench writes OFF for db1), it must be repointed and go ONLINE with a reader role.
        @Test("f. the old writer returning clean after a crash rejoins ONLINE with a reader role", .timeLimit(.minutes(5)))
        func cleanRejoin() async throws {
            try await FailoverScenario.run("rejoin") { scenario in
                await scenario.load.pause()
                let position = try await scenario.value("@@gtid_binlog_pos", on: scenario.writer) ?? ""
                let waited = try await scenario.value("MASTER_GTID_WAIT('\(position)', 5)", on: scenario.standby)
                #expect(waited == "0", "\(scenario.standby) applied \(scenario.writer)'s \(position) before the crash")
                let crashed = ContinuousClock.now
                try scenario.bench.crash(try scenario.bench.host(scenario.writer))
                scenario.load.resume()
                let resumed = await expecting("writes resume on \(scenario.standby) within 30 s of kill -9") {
                    try await scenario.waitForWrites(on: scenario.standby, after: crashed, timeout: .seconds(30)).acknowledgement
                }
                var notes = [resumed.map { "writes resumed on \(scenario.standby) \(scenario.since(crashed, $0.at)) ms after kill -9" } ?? "writes did NOT resume within 30 s of kill -9"]

                let restarted = ContinuousClock.now
                _ = try await scenario.bench.restartServer(try scenario.bench.host(scenario.writer), options: ["--read-only=ON"])
                notes.append("mariadbd answered \(scenario.since(restarted, ContinuousClock.now)) ms after the restart began")
                let online = await expecting("\(scenario.writer) ONLINE with a reader role within 60 s of its restart") {
                    try await eventually(timeout: .seconds(60), "\(scenario.writer) ONLINE with a reader role") { () -> String? in
                        let line = try await scenario.cluster.showLine(scenario.writer)
                        return line.contains("/ONLINE.") && line.contains("reader(") && !line.contains(Self.writerRole) ? line : nil
                    }
                }
                let line = try await scenario.cluster.showLine(scenario.writer).trimmingCharacters(in: .whitespaces)
                notes.append(online != nil ? "ONLINE with a reader role \(scenario.since(restarted, ContinuousClock.now)) ms after the restart began: \(line)" : "NOT ONLINE with a reader role 60 s after the restart: \(line)")
                // Rejoined means it stays there: replicating from the writer, not dropped again a second later.
                try await Task.sleep(for: .seconds(5))
                let later = try await scenario.cluster.showLine(scenario.writer).trimmingCharacters(in: .whitespaces)
                let stays = later.contains("/ONLINE.") && later.contains("reader(")
                #expect(stays, "\(scenario.writer) still ONLINE with a reader role 5 s later: \(later)")
                notes.append("5 s later: \(later)")
                // Both directions replicate again: the standby's writes reach the returned host.
                let standbyPosition = try await scenario.value("@@gtid_binlog_pos", on: scenario.standby) ?? ""
                let caughtUp = try await scenario.value("MASTER_GTID_WAIT('\(standbyPosition)', 5)", on: scenario.writer)
                #expect(caughtUp == "0", "the returned \(scenario.writer) replicates \(scenario.standby)'s \(standbyPosition)")
                let status = try await scenario.value("@@read_only", on: scenario.writer)
                #expect(status == "1", "the returned host stays read-only")
                // And the other way (bench finding 5: the ring closed again, as MMM leaves it): a row written as root
                // on the returned master reaches the writer, and both tables match.
                try await scenario.execute("CREATE TABLE IF NOT EXISTS mmm_bench.ring (id INT PRIMARY KEY)", on: scenario.standby)
                let created = try await scenario.value("@@gtid_binlog_pos", on: scenario.standby) ?? ""
                #expect(try await scenario.value("MASTER_GTID_WAIT('\(created)', 5)", on: scenario.writer) == "0")
                try await scenario.execute("INSERT INTO mmm_bench.ring VALUES (1)", on: scenario.writer)
                let ringPosition = try await scenario.value("@@gtid_binlog_pos", on: scenario.writer) ?? ""
                let ringClosed = try await eventually(timeout: .seconds(15), "\(scenario.standby) replicates from the returned \(scenario.writer)") { () -> String? in
                    try await scenario.value("MASTER_GTID_WAIT('\(ringPosition)', 1)", on: scenario.standby) == "0" ? "closed" : nil
                }
                notes.append("ring: a row written on \(scenario.writer) reached \(scenario.standby) (\(ringClosed))")
                let onReturned = try await scenario.value("(SELECT COUNT(*) FROM mmm_bench.ring)", on: scenario.writer)
                let onWriter = try await scenario.value("(SELECT COUNT(*) FROM mmm_bench.ring)", on: scenario.standby)
                #expect(onReturned == "1" && onWriter == "1", "\(String(describing: onReturned)), \(String(describing: onWriter))")
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: crashed, requireZeroLoss: true,
                    replicationChecked: ["db1", "db2"], notes: notes, printLogs: resumed == nil || online == nil || !stays
                )
            }
        }
    
        @Test("g. kill -9 of the writer under the zero-loss policy: no acknowledged insert lost", .timeLimit(.minutes(4)))
        func writerCrashZeroLoss() async throws {
            // semi_sync_timeout 1: after the failover the new writer has no ACKer until the old one rejoins, and its
            // first commit waits that long before going on asynchronously (docs/agent.md).
            try await FailoverScenario.run("crash-zero-loss", commonExtra: "failover_policy zero_loss\nsemi_sync_timeout 1") { scenario in
                let enabled = try await eventually("semi-sync master on \(scenario.writer)") { () -> Bool? in
                    try await scenario.value("@@rpl_semi_sync_master_enabled", on: scenario.writer) == "1" ? true : nil
                }
                #expect(enabled)
                let crashed = ContinuousClock.now
                try scenario.bench.crash(try scenario.bench.host(scenario.writer))
                let resumed = await expecting("writes resume on \(scenario.standby) within 30 s of kill -9") {
                    try await scenario.waitForWrites(on: scenario.standby, after: crashed, timeout: .seconds(30)).acknowledgement
                }
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: crashed, requireZeroLoss: true,
                    replicationChecked: [scenario.standby],
                    notes: [resumed.map { "writes resumed on \(scenario.standby) \(scenario.since(crashed, $0.at)) ms after kill -9" } ?? "writes did NOT resume within 30 s"],
                    printLogs: resumed == nil
                )
            }
        }

        @Test("h. an old writer returning with rows the standby never received is held in REPLICATION_FAIL with its errant GTIDs", .timeLimit(.minutes(5)))
        func errantRejoin() async throws {
            try await FailoverScenario.run("errant-rejoin") { scenario in
                // Cut replication into the standby, let the writer acknowledge rows the standby never gets, then crash
                // the writer before the monitor judges the standby's replication (its trap period).
                try await scenario.execute("STOP SLAVE IO_THREAD", on: scenario.standby)
                let cut = ContinuousClock.now
                try await scenario.load.waitForAcknowledgements(20, after: cut, timeout: .seconds(5))
                let crashed = ContinuousClock.now
                try scenario.bench.crash(try scenario.bench.host(scenario.writer))
                let resumed = await expecting("writes resume on \(scenario.standby) within 30 s of kill -9") {
                    try await scenario.waitForWrites(on: scenario.standby, after: crashed, timeout: .seconds(30)).acknowledgement
                }
                var notes = [resumed.map { "writes resumed on \(scenario.standby) \(scenario.since(crashed, $0.at)) ms after kill -9" } ?? "writes did NOT resume within 30 s"]
                _ = try await scenario.bench.restartServer(try scenario.bench.host(scenario.writer), options: ["--read-only=ON"])
                let held = await expecting("\(scenario.writer) REPLICATION_FAIL with its errant GTIDs in show") {
                    try await eventually(timeout: .seconds(30), "errant \(scenario.writer) held") { () -> String? in
                        let show = try await scenario.cluster.control("show").output
                        let line = show.split(separator: "\n").first { $0.hasPrefix("  \(scenario.writer)(") } ?? ""
                        return line.contains("/REPLICATION_FAIL.") && show.contains("# Host \(scenario.writer) has errant transactions") ? show : nil
                    }
                }
                // Never ONLINE by itself, and the operator can see what and where.
                try await Task.sleep(for: .seconds(5))
                let later = try await scenario.cluster.showLine(scenario.writer)
                #expect(later.contains("/REPLICATION_FAIL."), "still held 5 s later: \(later)")
                let errant = try await scenario.cluster.control("errant", scenario.writer)
                #expect(errant.status == 0 && errant.output.contains("has transactions the writer \(scenario.standby) lacks"), "\(errant.output)")
                #expect(errant.output.contains("mysqlbinlog --start-position="), "binlog location: \(errant.output)")
                notes.append("held: \(later.trimmingCharacters(in: .whitespaces))")
                if let held { notes.append(held.split(separator: "\n").filter { $0.contains("errant") }.joined(separator: " ")) }
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: crashed, requireZeroLoss: false,
                    replicationChecked: [scenario.standby], notes: notes, printLogs: resumed == nil || held == nil
                )
            }
        }

        /// Bench finding 2 (bench case 2), replayed with the finding's steps against the real programs: db1 and db2
        /// masters (db1 the writer), db3 `mode slave` replicating from the writer, `failover_policy zero_loss` with
        /// every other setting at its default (so `semi_sync_timeout` 10 s), and the scenario's load inserting through
        /// the writer VIP.
        ///
        /// What it does, in order:
        /// 0. If the monitor made db2 the first writer, `mmm_control move_role writer db1`, and waits for writes on db1.
        /// 1. Waits until semi-sync is on as the policy wants it: the writer a semi-sync master, active, with exactly
        ///    one ACKing client; the standby master ACKing; db3 not ACKing. Then 50 more inserts are acknowledged.
        /// 2. Moves the standby namespace's `lookup local` rule from preference 0 to 2 (no effect by itself), so that
        ///    a policy rule can come before it for packets addressed to the standby itself.
        /// 3. The cut: `ip rule add pref 1 from <writer's address> iif eth0 blackhole` in the standby's namespace.
        ///    Every packet from the writer's address arriving at the standby is dropped without an answer (the
        ///    namespace does not forward, so no ICMP is sent back): the replication connection stalls, it is not
        ///    broken. Packets from the standby to the writer, and all other traffic, pass. This is what the
        ///    finding's nftables rule did (no nftables on the bench machine).
        /// 4. 300 ms after the `ip rule add` returned: `kill -9` of the writer's `mariadbd` (its agent keeps running).
        /// 5. 600 ms after the `ip rule add` returned: `ip rule del` (the kill came 300 ms into a 600 ms cut, as in the
        ///    finding), then the local rule goes back to preference 0.
        ///
        /// Then, with generous deadlines rather than timings: writes through the VIP resume on the standby within
        /// 60 s of the kill (the new writer's first commit may wait the whole `semi_sync_timeout` for an ACK that no
        /// host can send any more); and at the end, after one more second of writes: no acknowledged insert missing
        /// on the new writer; db3 replicating from it (IO and SQL threads `Yes`, `Last_IO_Errno` and `Last_SQL_Errno`
        /// 0), at its `gtid_binlog_pos` and holding every acknowledged insert; no two-writer sample. The notes give
        /// the real instants of each step, the old writer's last GTIDs read from its binlog after the kill, and the
        /// positions of the standby and db3 one second after the heal and at the end.
        @Test("i. zero_loss with a replica: the standby cut off from the writer for 600 ms, kill -9 of the writer 300 ms into it: nothing acknowledged lost, the replica follows the new writer", .timeLimit(.minutes(5)))
        func cutThenCrashZeroLossWithReplica() async throws {
            try await FailoverScenario.run("cut-crash-zero-loss", hosts: 3, commonExtra: "failover_policy zero_loss") { scenario in
                let replica = "db3"
                var notes: [String] = []
                var failed = false
                // The finding's roles: db1 the writer. The monitor's first choice may be db2 (both are eligible).
                if scenario.writer != "db1" {
                    let moved = ContinuousClock.now
                    let move = try await scenario.cluster.control("move_role", "writer", "db1")
                    guard move.status == 0 else { throw MMMError(.commandFailed, "move_role writer db1: \(move.output)") }
                    try await scenario.waitForWrites(on: "db1", after: moved, timeout: .seconds(30))
                    notes.append("the monitor's first writer was \(scenario.writer); moved to db1 with move_role")
                }
                let (writer, standby) = ("db1", "db2")
                let old = try scenario.bench.host(writer)
                let standbyIP = try scenario.bench.host(standby).ip
                let namespace = "mmmb-\(standby)"

                let writerIP = old.ip
                let semiSync = try await eventually(timeout: .seconds(30), "semi-sync on: \(writer) ACKed by \(standby) alone, \(replica) following \(writer)") {
                    () -> String? in
                    let master = try await scenario.semiSync(on: writer)
                    let acker = try await scenario.semiSync(on: standby)
                    let follower = try await scenario.semiSync(on: replica)
                    let source = try await scenario.replicaStatus(on: replica)
                    guard master.masterEnabled, master.masterActive, master.masterClients == 1, master.waitPoint == .afterSync,
                        acker.slaveActive, !follower.slaveActive, source?.masterHost == writerIP, source?.ioThread == .yes
                    else { return nil }
                    return "\(writer) master active with \(master.masterClients) ACKing client, timeout \(master.timeoutMilliseconds) ms; \(standby) ACKs; \(replica) does not"
                }
                notes.append("semi-sync: \(semiSync)")
                try await scenario.load.waitForAcknowledgements(50, after: ContinuousClock.now, timeout: .seconds(10))

                try await Self.ip(["-n", namespace, "rule", "add", "pref", "2", "lookup", "local"])
                try await Self.ip(["-n", namespace, "rule", "del", "pref", "0", "lookup", "local"])
                let cutRule = ["-n", namespace, "rule", "%", "pref", "1", "from", old.ip, "iif", "eth0", "blackhole"]
                let undo: () async -> Void = {
                    _ = try? await Self.ip(cutRule.map { $0 == "%" ? "del" : $0 })
                    _ = try? await Self.ip(["-n", namespace, "rule", "add", "pref", "0", "lookup", "local"])
                    _ = try? await Self.ip(["-n", namespace, "rule", "del", "pref", "2", "lookup", "local"])
                }
                let cutAsked = ContinuousClock.now
                var cut = cutAsked
                var killed = cutAsked
                var healAsked = cutAsked
                var healed = cutAsked
                try await restoring(undo) {
                    try await Self.ip(cutRule.map { $0 == "%" ? "add" : $0 })
                    cut = ContinuousClock.now
                    try await Task.sleep(until: cut + .milliseconds(300), clock: .continuous)
                    try scenario.bench.crash(old)
                    killed = ContinuousClock.now
                    try await Task.sleep(until: cut + .milliseconds(600), clock: .continuous)
                    healAsked = ContinuousClock.now
                    try await Self.ip(cutRule.map { $0 == "%" ? "del" : $0 })
                    healed = ContinuousClock.now
                }
                notes.append(
                    "cut: `ip rule add` took \(scenario.since(cutAsked, cut)) ms; from its return: kill -9 at +\(scenario.since(cut, killed)) ms, `ip rule del` from +\(scenario.since(cut, healAsked)) to +\(scenario.since(cut, healed)) ms"
                )
                let inDoubt = scenario.load.failures.filter { $0.at >= cut && $0.at < killed + .seconds(1) && $0.id != nil }
                notes.append("inserts in doubt (failed) within 1 s of the kill: \(inDoubt.compactMap(\.id))")
                let lastAcknowledged = scenario.load.acknowledgements.last { $0.at <= killed }
                notes.append("last insert acknowledged by \(writer): id \(lastAcknowledged.map { String($0.id) } ?? "none"), \(lastAcknowledged.map { String(scenario.since($0.at, killed)) } ?? "?") ms before the kill")
                notes.append("\(writer)'s binlog at the kill ends with \(await Self.lastGTIDs(in: old))")

                try await Task.sleep(until: healed + .seconds(1), clock: .continuous)
                notes.append("1 s after the heal: \(await scenario.positionSummary(of: standby)); \(await scenario.positionSummary(of: replica))")

                let resumed = await expecting("writes resume on \(standby) within 60 s of kill -9") {
                    try await scenario.waitForWrites(on: standby, after: killed, timeout: .seconds(60))
                }
                if let resumed {
                    notes.append("VIP on \(standby) writable \(scenario.since(killed, resumed.vipReached)) ms after kill -9, first acknowledged insert there \(scenario.since(killed, resumed.acknowledgement.at)) ms after kill -9")
                } else {
                    notes.append("writes did NOT resume on \(standby) within 60 s of kill -9")
                    failed = true
                }
                notes.append("\(standby) semi-sync after the wait: \(await Self.semiSyncStatus(on: standby, scenario))")
                if let promoted = scenario.sampler.samples.first(where: { $0.at > killed && $0.writable == [standby] }) {
                    notes.append("\(standby) writable \(scenario.since(killed, promoted.at)) ms after kill -9")
                }
                // The monitor repoints db3 after the promotion; give it a moment before the end-of-run check.
                let following = await expecting("\(replica) replicates from \(standby) within 30 s") {
                    try await eventually(timeout: .seconds(30), "\(replica) replicates from \(standby)") { () -> Bool? in
                        let status = try await scenario.replicaStatus(on: replica)
                        return status?.masterHost == standbyIP && status?.ioThread == .yes && status?.sqlThreadRunning == true ? true : nil
                    }
                }
                failed = failed || following == nil
                notes.append("at the end of the steps: \(await scenario.positionSummary(of: standby)); \(await scenario.positionSummary(of: replica))")
                return ScenarioOutcome(
                    finalWriter: standby, event: killed, requireZeroLoss: true,
                    replicationChecked: [standby, replica], followers: [replica], notes: notes, printLogs: failed
                )
            }
        }

        @Test("j. the writer's whole host frozen for 10 s (mariadbd and agent, no kill_host_bin): writes resume on the standby, the woken writer fences itself at once", .timeLimit(.minutes(5)))
        func writerHostFrozenShort() async throws {
            try await Self.writerHostFrozen(seconds: 10, zeroLoss: false)
        }

        @Test("k. the writer's whole host frozen for 30 s under zero_loss (no kill_host_bin): writes resume on the standby, the woken writer fences itself, nothing acknowledged lost", .timeLimit(.minutes(5)))
        func writerHostFrozenLongZeroLoss() async throws {
            try await Self.writerHostFrozen(seconds: 30, zeroLoss: true)
        }

        /// Issue 17 on the bench: the writer's mariadbd and its agent stopped together (SIGSTOP, what a VM freeze looks
        /// like: the host's kernel still answers ARP for the VIP and accepts TCP connections into the listen backlog),
        /// without `kill_host_bin`, so that only the writer lease lets the promotion past the silent host; then both
        /// woken together (SIGCONT).
        ///
        /// Expected: writes through the VIP resume on the standby while the host is still frozen (the new writer takes
        /// the VIP although the frozen kernel answers ARP for it: the old writer's lease has certainly run out); after
        /// the wake the old writer's agent fences it before anything else (read-only, VIP dropped) and both VIP holders
        /// last only that long; no acknowledged insert is missing on the new writer.
        static func writerHostFrozen(seconds: Int, zeroLoss: Bool) async throws {
            let name = "host-freeze-\(seconds)s\(zeroLoss ? "-zero-loss" : "")"
            try await FailoverScenario.run(name, commonExtra: zeroLoss ? "failover_policy zero_loss" : "", killHostBin: false) { scenario in
                let old = try scenario.bench.host(scenario.writer)
                guard let agent = scenario.cluster.agents[scenario.writer] else {
                    throw MMMError(.commandFailed, "no agent process for \(scenario.writer)")
                }
                if zeroLoss {
                    _ = await expecting("semi-sync master on \(scenario.writer)") {
                        try await eventually(timeout: .seconds(30), "semi-sync master active on \(scenario.writer)") { () -> Bool? in
                            let master = try await scenario.semiSync(on: scenario.writer)
                            return master.masterEnabled && master.masterActive && master.masterClients == 1 ? true : nil
                        }
                    }
                }
                var notes: [String] = []
                var failed = false
                let frozen = ContinuousClock.now
                // Both stopped in the same instant as far as the host's clients can tell: mariadbd first, so that the
                // agent cannot fence it in between.
                guard kill(old.pid, SIGSTOP) == 0, kill(agent.pid, SIGSTOP) == 0 else {
                    _ = kill(old.pid, SIGCONT)
                    _ = kill(agent.pid, SIGCONT)
                    throw MMMError(.commandFailed, "SIGSTOP of \(scenario.writer)'s mariadbd (\(old.pid)) or agent (\(agent.pid)) failed: errno \(errno)")
                }
                var woken = frozen
                try await restoring({
                    _ = kill(old.pid, SIGCONT)
                    _ = kill(agent.pid, SIGCONT)
                }) {
                    // The wake comes at its time whether or not the promotion finished first.
                    let waking = Task { () -> ContinuousClock.Instant in
                        try? await Task.sleep(until: frozen + .seconds(seconds), clock: .continuous)
                        // The agent first: whatever order the kernel resumes them in, the agent must fence a server
                        // that already runs; this order gives the server no head start.
                        _ = kill(agent.pid, SIGCONT)
                        _ = kill(old.pid, SIGCONT)
                        return ContinuousClock.now
                    }
                    // The promotion goes on once the frozen writer's lease has certainly run out: about 2.3 s to confirm
                    // the failure plus the lease bound (7.4 s with the defaults, WriterLease.Configuration), whatever
                    // the freeze's length. A freeze shorter than that may end first; then the woken agent's own fence
                    // lets the promotion finish.
                    let mustResumeWhileFrozen = seconds >= 20
                    let resumed = await expecting("writes resume on \(scenario.standby)\(mustResumeWhileFrozen ? " while \(scenario.writer) is frozen (\(seconds) s)" : "")") {
                        try await scenario.waitForWrites(on: scenario.standby, after: frozen, timeout: .seconds(mustResumeWhileFrozen ? seconds : seconds + 20))
                    }
                    woken = await waking.value
                    if let resumed {
                        notes.append(
                            "VIP on \(scenario.standby) writable \(scenario.since(frozen, resumed.vipReached)) ms after the freeze (\(resumed.vipReached < woken ? "before" : "after") the wake), first acknowledged insert there \(scenario.since(frozen, resumed.acknowledgement.at)) ms after it"
                        )
                    } else {
                        notes.append("writes did NOT resume on \(scenario.standby)")
                        failed = true
                    }
                }
                let fenced = await expecting("\(scenario.writer) read-only without the VIP within 10 s of the wake") {
                    try await eventually(timeout: .seconds(10), "\(scenario.writer) read-only without the VIP after SIGCONT") {
                        () -> ContinuousClock.Instant? in
                        scenario.sampler.samples.first { $0.at >= woken && $0.readOnly[scenario.writer] == true && !$0.vipHolders.contains(scenario.writer) }?.at
                    }
                }
                let samplesAfterWake = scenario.sampler.samples.filter { $0.at >= woken }
                let bothHolding = samplesAfterWake.filter { $0.vipHolders.count > 1 }
                let lastBoth = bothHolding.last.map { scenario.since(woken, $0.at) }
                let bothWritable = samplesAfterWake.filter { $0.writable.count > 1 }
                notes.append(
                    "two writable hosts after the wake: \(bothWritable.count) samples, the last \(bothWritable.last.map { "\(scenario.since(woken, $0.at)) ms" } ?? "none") after the wake"
                )
                // What the old writer acknowledged around the freeze and in the window between the wake and its fence:
                // the candidates for a loss under the default policy (docs/agent.md, "A frozen writer").
                let acknowledgedAtFreeze = scenario.load.acknowledgements.filter { $0.at >= frozen - .milliseconds(200) && $0.at < frozen + .seconds(2) }
                let acknowledgedAtWake = scenario.load.acknowledgements.filter { $0.at >= woken && $0.at < (fenced ?? woken + .seconds(2)) }
                notes.append(
                    "inserts acknowledged from 200 ms before the freeze to 2 s into it: \(acknowledgedAtFreeze.map { "\($0.id)@\(scenario.since(frozen, $0.at))ms" }); between the wake and the fence: \(acknowledgedAtWake.map { "\($0.id)@\(scenario.since(woken, $0.at))ms" })"
                )
                notes.append(
                    fenced.map { "\(scenario.writer) read-only without the VIP \(scenario.since(woken, $0)) ms after the wake (sampled every 100 ms)" }
                        ?? "\(scenario.writer) NOT fenced within 10 s of the wake"
                )
                notes.append("two VIP holders after the wake: \(bothHolding.count) samples, the last \(lastBoth.map { "\($0) ms" } ?? "none") after the wake")
                // One line for scripts/freeze-benchmark.sh: from the wake to the old writer read-only without the VIP, and
                // to the last sample with two VIP holders and with two writable hosts (0: none after the wake).
                print(
                    "SCENARIO \(name) wake: fenced \(fenced.map { scenario.since(woken, $0) } ?? -1) ms, two VIP holders \(lastBoth ?? 0) ms, two writable \(bothWritable.last.map { scenario.since(woken, $0.at) } ?? 0) ms"
                )
                let fenceLog = agent.log.split(separator: "\n").filter { $0.contains("Lease fence done") || $0.contains("Writer lease lost") }
                notes.append("\(scenario.writer) agent: \(fenceLog.suffix(2).map { String($0.suffix(220)) }.joined(separator: " | "))")
                failed = failed || fenced == nil
                if fenced == nil {
                    let sessions = (try? await scenario.value(
                        "(SELECT GROUP_CONCAT(CONCAT_WS(' ', ID, USER, COMMAND, TIME_MS, STATE, LEFT(INFO, 60)) SEPARATOR ' | ') FROM information_schema.PROCESSLIST)",
                        on: scenario.writer
                    )) ?? nil
                    notes.append("\(scenario.writer) sessions: \(sessions ?? "(unreadable)")")
                }
                try await Task.sleep(for: .seconds(2))
                let writer = try await scenario.writerInShow()
                #expect(writer == scenario.standby, "\(scenario.standby) holds the writer role in show")
                return ScenarioOutcome(
                    finalWriter: scenario.standby, event: frozen, requireZeroLoss: true,
                    replicationChecked: [scenario.standby], notes: notes, printLogs: failed,
                    // The fence on waking is bounded by the lease's fence deadline (1.5 s); one more sample of slack.
                    frozen: (scenario.writer, frozen, woken, .milliseconds(1600))
                )
            }
        }

        /// `host`'s semi-sync master variables and counters (read over its socket) and how often its error log says
        /// a commit timed out waiting for an ACK, as one line for the notes; or why they could not be read.
        static func semiSyncStatus(on host: String, _ scenario: FailoverScenario) async -> String {
            let status = (try? await scenario.value(
                """
                (SELECT GROUP_CONCAT(CONCAT(LOWER(VARIABLE_NAME), '=', VARIABLE_VALUE) ORDER BY VARIABLE_NAME SEPARATOR ' ') \
                FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_STATUS', \
                'RPL_SEMI_SYNC_MASTER_CLIENTS', 'RPL_SEMI_SYNC_MASTER_WAIT_SESSIONS', 'RPL_SEMI_SYNC_MASTER_YES_TX', \
                'RPL_SEMI_SYNC_MASTER_NO_TX', 'RPL_SEMI_SYNC_MASTER_NO_TIMES'))
                """, on: host
            )) ?? nil
            let variables = (try? await scenario.value(
                "CONCAT('master_enabled=', @@rpl_semi_sync_master_enabled, ' timeout=', @@rpl_semi_sync_master_timeout, ' wait_no_slave=', @@rpl_semi_sync_master_wait_no_slave)",
                on: host
            )) ?? nil
            var text = "\(variables ?? "(variables unreadable)") \(status ?? "(status unreadable)")"
            if let host = try? scenario.bench.host(host) {
                let errorLog = URL(fileURLWithPath: host.socket).deletingLastPathComponent().appendingPathComponent("error.log").path
                let log = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
                let timeouts = log.components(separatedBy: "Timeout waiting for reply of binlog").count - 1
                let switchedOff = log.components(separatedBy: "Semi-sync replication switched OFF").count - 1
                text += "; error log: \(timeouts) ACK timeouts, \(switchedOff) switched OFF"
            }
            return text
        }

        /// The last GTID per domain in the newest binlog file of `host` (whose server is down), read with
        /// `mariadb-binlog` from its datadir, e.g. `0-1-3,1-1-912,2-2-4`; or why it could not be read.
        static func lastGTIDs(in host: BenchHost) async -> String {
            let data = URL(fileURLWithPath: host.socket).deletingLastPathComponent().appendingPathComponent("data").path
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: data)) ?? [])
                .filter { $0.hasPrefix("mysql-bin.") && $0.dropFirst("mysql-bin.".count).allSatisfy(\.isNumber) }.sorted()
            guard let newest = files.last else { return "(no binlog in \(data))" }
            // The status is not checked: a binlog its server never closed may be reported as such, and still be read.
            guard let read = try? await IntegrationTests.BenchIntegrationTests.run("/usr/bin/mariadb-binlog", ["--no-defaults", "\(data)/\(newest)"])
            else { return "(mariadb-binlog \(newest) could not run)" }
            var last: [UInt32: String] = [:]
            // Event header lines: `#261207 22:49:16 server id 1  end_log_pos 385 CRC32 0x...  GTID 1-1-5 trans`.
            for line in read.output.split(separator: "\n") where line.hasPrefix("#") {
                let words = line.split(whereSeparator: \.isWhitespace)
                guard let index = words.firstIndex(of: "GTID"), index + 1 < words.endIndex else { continue }
                let gtid = String(words[index + 1])
                if let domain = gtid.split(separator: "-").first.flatMap({ UInt32($0) }) { last[domain] = gtid }
            }
            guard !last.isEmpty else { return "(no GTID in \(newest), mariadb-binlog status \(read.status))" }
            return last.sorted { $0.key < $1.key }.map(\.value).joined(separator: ",") + " (\(newest))"
        }
    }
}
