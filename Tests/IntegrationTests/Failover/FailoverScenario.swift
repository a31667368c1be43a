import Foundation
import MMMCore
import MMMSystem
import MMMTestSupport
import MariaDBClient
import Testing

/// What a scenario's body reports when it got through its steps.
struct ScenarioOutcome {
    /// The host holding the writer role at the end (the loss check reads its table).
    var finalWriter: String
    /// The failure (crash, freeze, cut): "first write after" is measured from it; `nil` for a planned switchover,
    /// where writes go on to the old writer until it is fenced.
    var event: ContinuousClock.Instant?
    /// True where no acknowledged write may be lost (switchover; the zero-loss policy).
    var requireZeroLoss: Bool
    /// Hosts whose `SHOW SLAVE STATUS` must show no `Last_SQL_Errno` at the end.
    var replicationChecked: [String]
    /// Replicas that must, at the end, replicate from the final writer (IO and SQL threads running, no
    /// `Last_IO_Errno` or `Last_SQL_Errno`), reach its `gtid_binlog_pos`, and hold every acknowledged insert.
    var followers: [String] = []
    /// Extra timings for the detail line.
    var notes: [String] = []
    /// Set when the body recorded a failed expectation, so that the logs are printed.
    var printLogs = false
    /// A host whose processes were all stopped (SIGSTOP) from `from` to `to`: while frozen its kernel keeps the writer
    /// VIP on its interface (and answers ARP for it), but nothing on it can take a write, so a sample where it and the
    /// new writer both hold the VIP is not a conflict. At the wake its mariadbd runs on, writable, until its agent has
    /// fenced it: until `to + afterWake` a sample where it is writable beside the new writer is not counted either
    /// (the scenario measures and reports that window; no agent can close it, a fence that powers the host off can).
    /// A frozen server does not answer, so it is never counted writable while frozen.
    var frozen: (host: String, from: ContinuousClock.Instant, to: ContinuousClock.Instant, afterWake: Duration)?

    /// Whether `sample` is a conflict: two writable hosts or two VIP holders, outside the frozen host's exemption.
    func isConflict(_ sample: WriterSampler.Sample) -> Bool {
        guard sample.isConflict else { return false }
        guard let frozen = self.frozen, sample.writable.count < 3, sample.vipHolders.count < 3,
            sample.at >= frozen.from, sample.at <= frozen.to + frozen.afterWake
        else { return true }
        // A sample started just before the wake may read the woken server.
        let writableExempt = sample.writable.count < 2 || (sample.writable.contains(frozen.host) && sample.at + sample.took >= frozen.to)
        let vipExempt = sample.vipHolders.count < 2 || sample.vipHolders.contains(frozen.host)
        return !(writableExempt && vipExempt)
    }
}

/// One failover scenario: a fresh bench (db1, db2 masters; with more hosts, `mode slave` replicas db3.. of db1),
/// `MonitorCluster` (real agents, `mmm_mond`, `mmm_control`), a ``WriteLoad`` through the writer VIP and a
/// ``WriterSampler`` watching for two writers.
///
/// ``run(_:hosts:commonExtra:killHostBin:_:)`` waits until the writer is assigned and the load writes, runs the body, keeps writing one more second,
/// then measures and prints `SCENARIO <name>: outage <ms> ms, acknowledged <n>, lost <k>, duplicates <d>, two-writer
/// samples <s>` (also when the body failed, then marked incomplete), and expects: no two-writer sample, no duplicate,
/// no `Last_SQL_Errno`, no loss where the outcome requires it, and the outcome's followers replicating from the final
/// writer with every acknowledged insert.
struct FailoverScenario {
    /// The name in the printed lines (`SCENARIO <name>: ...`).
    let name: String
    /// The agents, the monitor and `mmm_control`.
    let cluster: MonitorCluster
    /// The inserts through the writer VIP.
    let load: WriteLoad
    /// The two-writer watch.
    let sampler: WriterSampler
    /// The host that held the writer role when the load started.
    let writer: String
    /// The other master.
    let standby: String
    /// When the load started.
    let started: ContinuousClock.Instant

    /// The bench the cluster runs on.
    var bench: Bench { self.cluster.bench }

    /// Runs the scenario `name` on a bench of `hosts` hosts with `body` doing the disruptive steps; `commonExtra` is
    /// added to the top level of `mmm_common.conf`; `killHostBin` false leaves `kill_host_bin` out of `mmm_mon.conf`.
    static func run(
        _ name: String,
        hosts: Int = 2,
        commonExtra: String = "",
        killHostBin: Bool = true,
        _ body: (FailoverScenario) async throws -> ScenarioOutcome
    ) async throws {
        try await Bench.withBench(hosts: hosts) { bench in
            try await MonitorCluster.with(bench, commonExtra: commonExtra, killHostBin: killHostBin) { cluster in
                let (writer, standby) = try await Self.initialWriter(cluster)
                let configuration = WriteLoad.Configuration(
                    address: Bench.writerIP, adminUser: bench.adminUser, adminPassword: bench.adminPassword
                )
                try await WriterSampler.with(bench: bench) { sampler in
                    try await WriteLoad.with(configuration) { load in
                        let started = ContinuousClock.now
                        try await load.waitForAcknowledgements(100, after: started, timeout: .seconds(10))
                        let scenario = FailoverScenario(
                            name: name, cluster: cluster, load: load, sampler: sampler, writer: writer,
                            standby: standby, started: started
                        )
                        let outcome: ScenarioOutcome
                        do {
                            outcome = try await body(scenario)
                        } catch {
                            await load.stop()
                            await sampler.stop()
                            scenario.printLine(check: nil, outcome: nil, replicationErrors: nil, incomplete: "\(error)")
                            scenario.printDetails(outcome: nil)
                            scenario.printLogs()
                            throw error
                        }
                        try await scenario.finish(outcome)
                    }
                }
            }
        }
    }

    /// Waits for the first writer: assigned in `show`, both hosts ONLINE, the VIP reaching it writable.
    static func initialWriter(_ cluster: MonitorCluster) async throws -> (writer: String, standby: String) {
        let writer = try await eventually(timeout: .seconds(30), "a writer is assigned") { () -> String? in
            for host in ["db1", "db2"] where try await cluster.showLine(host).contains("writer(\(Bench.writerIP))") {
                return host
            }
            return nil
        }
        let standby = writer == "db1" ? "db2" : "db1"
        try await cluster.waitFor(writer, "ONLINE")
        try await cluster.waitFor(standby, "ONLINE")
        _ = try await eventually(timeout: .seconds(10), "the writer VIP reaches \(writer), writable") { () -> Bool? in
            let who = try await cluster.whoAnswers(Bench.writerIP)
            return who.host == writer && !who.readOnly ? true : nil
        }
        // A cluster in service has run for a while: the monitor has read every agent's interface (every 2 s), so it
        // knows where the writer VIP is and hands it over on a move without the 300 ms duplicate-address probe
        // (docs/monitor.md, "Handing over the writer IP"). Scenarios measure that steady state, not the first seconds.
        try await Task.sleep(for: .milliseconds(2500))
        return (writer, standby)
    }

    /// Waits until `show` names `host` as the writer and the writer VIP reaches `host` writable (`mmm_control
    /// move_role` answers before the promotion is done), then until the load got an acknowledged insert after that;
    /// returns when the VIP was first seen on `host` and the first acknowledgement after that.
    @discardableResult
    func waitForWrites(on host: String, after instant: ContinuousClock.Instant, timeout: Duration) async throws
        -> (vipReached: ContinuousClock.Instant, acknowledgement: WriteLoad.Acknowledgement)
    {
        let reached = try await eventually(timeout: timeout, "\(host) holds the writer role and answers on the VIP, writable") {
            () -> ContinuousClock.Instant? in
            guard try await self.cluster.showLine(host).contains("writer(\(Bench.writerIP))") else { return nil }
            let who = try await self.cluster.whoAnswers(Bench.writerIP)
            return who.host == host && !who.readOnly ? ContinuousClock.now : nil
        }
        let remaining = max(.seconds(2), timeout - (ContinuousClock.now - instant))
        let acknowledgement = try await self.load.waitForAcknowledgements(1, after: reached, timeout: remaining)
        return (reached, acknowledgement)
    }

    /// The host holding the writer role in `show` now, if exactly one does.
    func writerInShow() async throws -> String? {
        var holders: [String] = []
        for host in ["db1", "db2"] where try await self.cluster.showLine(host).contains("writer(\(Bench.writerIP))") {
            holders.append(host)
        }
        return holders.count == 1 ? holders[0] : nil
    }

    /// Milliseconds from the event to `instant`.
    func since(_ event: ContinuousClock.Instant, _ instant: ContinuousClock.Instant) -> Int64 {
        milliseconds(of: instant - event)
    }

    /// A root connection configuration over `host`'s Unix socket (reaches it whatever the network does).
    func socketConfiguration(_ host: String) throws -> MariaDBConfiguration {
        let host = try self.bench.host(host)
        return MariaDBConfiguration(
            name: host.name, host: host.ip, port: host.port, unixSocket: host.socket, user: "root", password: "",
            connectTimeout: .seconds(2), readTimeout: .seconds(10)
        )
    }

    /// `Last_SQL_Errno`/`Last_SQL_Error` of every replication connection on `host` that has one, as text; `nil` if
    /// the host does not answer.
    func replicationErrors(on host: String) async -> [String]? {
        guard let configuration = try? self.socketConfiguration(host),
            let connection = try? await MariaDBConnection.connect(configuration, on: self.cluster.executor)
        else { return nil }
        let statuses = try? await connection.replicaStatuses()
        await connection.close()
        guard let statuses else { return nil }
        return statuses.filter { $0.lastSQLErrno != 0 }.map { "\(host): Last_SQL_Errno \($0.lastSQLErrno) \($0.lastSQLError)" }
    }

    /// The default replication connection of `host` (`SHOW ALL SLAVES STATUS`, the unnamed one), read over its
    /// socket; `nil` if it has none.
    func replicaStatus(on host: String) async throws -> ReplicaStatus? {
        let connection = try await MariaDBConnection.connect(try self.socketConfiguration(host), on: self.cluster.executor)
        do {
            let status = try await connection.replicaStatuses().first { $0.connectionName.isEmpty }
            await connection.close()
            return status
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The semi-sync variables and state of `host`, read over its socket.
    func semiSync(on host: String) async throws -> SemiSyncObservation {
        let connection = try await MariaDBConnection.connect(try self.socketConfiguration(host), on: self.cluster.executor)
        do {
            let observation = try await connection.semiSyncObservation()
            await connection.close()
            return observation
        } catch {
            await connection.close()
            throw error
        }
    }

    /// `host`'s GTID positions as one line for the report: `binlog <gtid_binlog_pos> applied <gtid_slave_pos>
    /// received <Gtid_IO_Pos> (IO <state> <Last_IO_Errno>, SQL <running> <Last_SQL_Errno>, master <Master_Host>)`,
    /// or why they could not be read.
    func positionSummary(of host: String) async -> String {
        do {
            let binlog = try await self.value("@@gtid_binlog_pos", on: host) ?? "NULL"
            let applied = try await self.value("@@gtid_slave_pos", on: host) ?? "NULL"
            guard let status = try await self.replicaStatus(on: host) else {
                return "\(host): binlog \(binlog) applied \(applied), no replication"
            }
            return "\(host): binlog \(binlog) applied \(applied) received \(status.gtidIOPos) (IO \(status.ioThread.rawValue) \(status.lastIOErrno) \(status.lastIOError.prefix(200)), SQL \(status.sqlThreadRunning ? "Yes" : "No") \(status.lastSQLErrno), master \(status.masterHost))"
        } catch {
            return "\(host): unreadable (\(error))"
        }
    }

    /// Runs `sql` on `host` over its socket.
    func execute(_ sql: String, on host: String) async throws {
        let connection = try await MariaDBConnection.connect(try self.socketConfiguration(host), on: self.cluster.executor)
        do {
            _ = try await connection.query(sql)
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    /// `SELECT expression` on `host` over its socket.
    func value(_ expression: String, on host: String) async throws -> String? {
        let connection = try await MariaDBConnection.connect(try self.socketConfiguration(host), on: self.cluster.executor)
        do {
            let row = try await connection.query("SELECT \(expression) AS v").singleRow(expression)
            await connection.close()
            return try row.string("v")
        } catch {
            await connection.close()
            throw error
        }
    }

    // MARK: - Measuring and reporting

    private func finish(_ outcome: ScenarioOutcome) async throws {
        // The final writer keeps taking writes for a second: the result must include writes after the recovery.
        _ = try? await self.load.waitForAcknowledgements(20, after: ContinuousClock.now, timeout: .seconds(5))
        try? await Task.sleep(for: .seconds(1))
        await self.load.stop()
        await self.sampler.stop()
        // The writer may still be applying what the old writer sent; let it finish before counting the table.
        try? await Task.sleep(for: .milliseconds(500))
        let check = try await self.load.check(on: self.socketConfiguration(outcome.finalWriter))
        var replication: [String] = []
        var unanswered: [String] = []
        for host in outcome.replicationChecked {
            if let errors = await self.replicationErrors(on: host) { replication += errors } else { unanswered.append(host) }
        }
        var followerProblems: [String] = []
        for host in outcome.followers {
            followerProblems += await self.followerProblems(host, writer: outcome.finalWriter)
        }
        self.printLine(check: check, outcome: outcome, replicationErrors: replication.count + unanswered.count, incomplete: nil)
        self.printDetails(outcome: outcome)
        let show = (try? await self.cluster.control("show").output) ?? ""
        for line in show.split(separator: "\n") where line.hasPrefix("  db") || line.hasPrefix("#") {
            print("SCENARIO \(self.name) show: \(line.trimmingCharacters(in: .whitespaces))")
        }
        if !replication.isEmpty { print("SCENARIO \(self.name) replication: \(replication.joined(separator: "; "))") }

        let conflicts = self.sampler.samples.filter(outcome.isConflict)
        let resumed = self.load.longestGap()?.open == false
        #expect(conflicts.isEmpty, "never two writers: \(conflicts.count) samples with two writable hosts or two VIP holders, first: \(conflicts.first?.summary ?? "")")
        #expect(resumed, "writes resumed on \(outcome.finalWriter) before the end")
        #expect(check.duplicates.isEmpty, "no transaction applied twice: ids \(check.duplicates.prefix(10))")
        #expect(replication.isEmpty, "no Last_SQL_Errno: \(replication)")
        #expect(unanswered.isEmpty, "\(unanswered) answered SHOW SLAVE STATUS")
        #expect(followerProblems.isEmpty, "the replicas follow \(outcome.finalWriter) with every acknowledged insert: \(followerProblems)")
        if outcome.requireZeroLoss {
            #expect(check.lost.isEmpty, "no acknowledged write lost: \(check.lost.count) missing on \(outcome.finalWriter), first \(check.lost.prefix(10))")
        }
        let failed = !conflicts.isEmpty || !resumed || !check.duplicates.isEmpty || !replication.isEmpty
            || !unanswered.isEmpty || !followerProblems.isEmpty || (outcome.requireZeroLoss && !check.lost.isEmpty)
        // MMM_SCENARIO_LOGS=1 prints the logs of a passing run too, for looking at where the time goes.
        let asked = ProcessInfo.processInfo.environment["MMM_SCENARIO_LOGS"] == "1"
        if failed || outcome.printLogs || asked {
            self.printLogs(limit: asked ? 400 : 80)
            if let report = try? await self.cluster.control("failover_report") {
                print("--- failover report (\(self.name)):\n\(report.output)")
            }
        }
    }

    /// What is wrong with replica `host` at the end (nothing: empty): it must replicate from `writer` without error,
    /// reach `writer`'s `gtid_binlog_pos` within 15 s, and hold every acknowledged insert. Prints one
    /// `SCENARIO <name> follower <host>: ...` line with what it found.
    private func followerProblems(_ host: String, writer: String) async -> [String] {
        do {
            let writerIP = try self.bench.host(writer).ip
            let position = try await self.value("@@gtid_binlog_pos", on: writer) ?? ""
            let waited = try await self.value("MASTER_GTID_WAIT('\(position)', 15)", on: host)
            guard let status = try await self.replicaStatus(on: host) else {
                print("SCENARIO \(self.name) follower \(host): no replication configured")
                return ["\(host) has no replication configured"]
            }
            let check = try await self.load.check(on: self.socketConfiguration(host))
            let summary = await self.positionSummary(of: host)
            print("SCENARIO \(self.name) follower \(summary); reached \(writer)'s \(position): \(waited == "0" ? "yes" : "NO (\(waited ?? "NULL"))"); acknowledged \(check.acknowledged), missing \(check.lost.count)")
            var problems: [String] = []
            if status.masterHost != writerIP { problems.append("\(host) replicates from \(status.masterHost), not \(writer) (\(writerIP))") }
            if status.ioThread != .yes || !status.sqlThreadRunning {
                problems.append("\(host): Slave_IO_Running \(status.ioThread.rawValue), Slave_SQL_Running \(status.sqlThreadRunning ? "Yes" : "No")")
            }
            if status.lastIOErrno != 0 { problems.append("\(host): Last_IO_Errno \(status.lastIOErrno) \(status.lastIOError)") }
            if status.lastSQLErrno != 0 { problems.append("\(host): Last_SQL_Errno \(status.lastSQLErrno) \(status.lastSQLError)") }
            if waited != "0" { problems.append("\(host) did not reach \(writer)'s \(position) (MASTER_GTID_WAIT \(waited ?? "NULL"))") }
            if !check.lost.isEmpty { problems.append("\(check.lost.count) acknowledged inserts missing on \(host), first \(check.lost.prefix(10))") }
            return problems
        } catch {
            print("SCENARIO \(self.name) follower \(host): could not be checked: \(error)")
            return ["\(host) could not be checked: \(error)"]
        }
    }

    /// The line the benchmark issue collects.
    private func printLine(check: WriteLoad.Check?, outcome: ScenarioOutcome?, replicationErrors: Int?, incomplete: String?) {
        let gap = self.load.longestGap()
        let outage = gap.map { "\(milliseconds(of: $0.duration))\($0.open ? "+ (never resumed)" : "")" } ?? "?"
        let lost = check.map { String($0.lost.count) } ?? "?"
        let duplicates = check.map { String($0.duplicates.count) } ?? "?"
        // Recovery: from the failure to the first acknowledged write on the new writer, i.e. the end of the longest
        // gap (an insert already in flight on a frozen or cut-off writer may still be acknowledged just after the
        // event); "-" for a switchover, whose measure is the outage (the refused-write window).
        var recovery = "-"
        if let event = outcome?.event {
            if let gap, !gap.open, gap.to > event {
                recovery = "\(self.since(event, gap.to))"
            } else {
                recovery = self.load.firstAcknowledgement(after: event).map { "\(self.since(event, $0.at))" } ?? "?"
            }
        }
        var line = "SCENARIO \(self.name): outage \(outage) ms, recovery \(recovery) ms, acknowledged \(self.load.acknowledgedIDs.count), lost \(lost), duplicates \(duplicates), replication errors \(replicationErrors.map(String.init) ?? "?"), two-writer samples \(outcome.map { self.sampler.samples.filter($0.isConflict).count } ?? self.sampler.conflicts.count)"
        if let incomplete { line += " (INCOMPLETE: \(incomplete.prefix(300)))" }
        print(line)
    }

    private func printDetails(outcome: ScenarioOutcome?) {
        var parts: [String] = []
        if let outcome {
            if let event = outcome.event {
                if let first = self.load.firstAcknowledgement(after: event) {
                    parts.append("first acknowledged write \(self.since(event, first.at)) ms after the event")
                } else {
                    parts.append("no acknowledged write after the event")
                }
            }
            parts += outcome.notes
        }
        if let gap = self.load.longestGap() {
            parts.append("longest gap from +\(self.since(self.started, gap.from)) ms to +\(self.since(self.started, gap.to)) ms after the load started")
        }
        parts.append("samples \(self.sampler.samples.count)")
        parts.append(self.load.failureSummary)
        print("SCENARIO \(self.name) detail: \(parts.joined(separator: "; "))")
        for line in self.sampler.timeline(from: self.started) {
            print("SCENARIO \(self.name) timeline: \(line)")
        }
    }

    /// The monitor's and agents' log lines at `notice` and above (and errors), without the per-request and
    /// per-tick noise, the last `limit` of each.
    private func printLogs(limit: Int = 80) {
        func interesting(_ log: String) -> String {
            let lines = log.split(separator: "\n").filter { line in
                !line.contains(" debug ") && !line.contains(" info mmm_mond: mmm.error_reply=false")
                    && !line.contains("skipping ticks until it ends")
            }
            return lines.suffix(limit).map { String($0.prefix(600)) }.joined(separator: "\n")
        }
        print("--- monitor log (\(self.name), notice and above):\n\(interesting(self.cluster.monitor.log))")
        for (name, agent) in self.cluster.agents.sorted(by: { $0.key < $1.key }) {
            print("--- \(name) agent log (\(self.name), notice and above):\n\(interesting(agent.log))")
        }
    }
}

/// Awaits `step`; if it throws, records a test issue naming `what` and the error and returns `nil`, so that the
/// scenario goes on to its measurements (losses, two-writer samples, the recovery after an undo) instead of ending
/// at the first failed expectation.
func expecting<T>(_ what: String, _ step: () async throws -> T) async -> T? {
    do {
        return try await step()
    } catch {
        Issue.record("\(what): \(error)")
        return nil
    }
}

/// Runs `body`; runs `undo` afterwards whether `body` threw or not (e.g. SIGCONT, link up), then rethrows.
func restoring<T>(_ undo: () async -> Void, _ body: () async throws -> T) async throws -> T {
    do {
        let value = try await body()
        await undo()
        return value
    } catch {
        await undo()
        throw error
    }
}
