import Foundation
import MMMCore
import MMMSystem
import MMMTestSupport
import MariaDBClient
import Testing

/// The seed's topology on the bench (db1, db2 masters of each other; exclusive writer VIP, balanced reader VIPs), a real
/// `mmm_agentd` in each host's namespace, a real `mmm_mond`, and the real `mmm_control` binary as the operator.
struct MonitorCluster {
    let bench: Bench
    let agents: [String: BackgroundProcess]
    var monitor: BackgroundProcess
    let executor: MariaDBExecutor
    static let root = "/tmp/mmm-monitor-e2e"
    static let monitorDirectory = "\(root)/monitor"
    /// Small enough that a test can build the lag (the default is 60 s).
    static let maxBacklog = 3

    /// Starts the agents and the monitor, runs `body`, and always stops them (SIGTERM) and removes their files.
    static func with(
        _ bench: Bench,
        commonExtra: String = "",
        killHostBin: Bool = true,
        _ body: (inout MonitorCluster) async throws -> Void
    ) async throws {
        Self.stopLeftoverDaemon()
        try? FileManager.default.removeItem(atPath: Self.root)
        var agents: [String: BackgroundProcess] = [:]
        var monitor: BackgroundProcess?
        let executor = MariaDBExecutor(numberOfThreads: 16)
        let extra = "<check rep_backlog>\n    max_backlog \(Self.maxBacklog)\n</check>\n"
        do {
            for host in bench.hosts {
                let directory = "\(Self.root)/\(host.name)"
                try bench.writeMMMConfiguration(to: directory, this: host.name, monitorExtra: extra, commonExtra: commonExtra)
                agents[host.name] = try bench.startAgent(for: host, configDirectory: directory)
            }
            try bench.writeMMMConfiguration(
                to: Self.monitorDirectory, monitorExtra: extra, commonExtra: commonExtra, killHostBin: killHostBin
            )
            monitor = try bench.startMonitor(configDirectory: Self.monitorDirectory)
            var cluster = MonitorCluster(bench: bench, agents: agents, monitor: monitor!, executor: executor)
            try await body(&cluster)
            monitor = cluster.monitor
        } catch {
            if let monitor { print("--- monitor log:\n\(monitor.log.suffix(6000))") }
            for (name, agent) in agents { print("--- \(name) agent log:\n\(agent.log.suffix(3000))") }
            if let monitor { _ = await monitor.stop() }
            for agent in agents.values { _ = await agent.stop() }
            try? await executor.shutdownGracefully()
            throw error
        }
        if let monitor {
            #expect(await monitor.stop() == 0, "the monitor exits cleanly on SIGTERM")
            #expect(!monitor.log.contains(Bench.agentSecret), "the monitor never logs the secret")
        }
        for agent in agents.values { _ = await agent.stop() }
        try await executor.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: Self.root)
    }

    /// Stops an `mmm_mond --daemon` that a crashed or killed earlier run left behind (it would answer on the control
    /// port and push statuses to this run's agents): the pid in its pid file, only if that process is an `mmm_mond`
    /// running with this test's config directory.
    static func stopLeftoverDaemon() {
        guard let text = try? String(contentsOfFile: "\(Self.monitorDirectory)/mmm_mond.pid", encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return }
        let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.first?.hasSuffix("/mmm_mond") == true, arguments.contains(Self.monitorDirectory) else { return }
        kill(pid, SIGKILL)
    }

    /// Runs `mmm_control` with the monitor's config and returns its exit status and output.
    func control(_ arguments: String...) async throws -> CommandResult {
        try await IntegrationTests.BenchIntegrationTests.run(
            "\(Bench.binDirectory)/mmm_control",
            ["--config-dir", Self.monitorDirectory] + arguments
        )
    }

    /// `mmm_control show`'s host line for `host` (`  db1(198.18.0.101) master/ONLINE. Roles: ...`).
    func showLine(_ host: String) async throws -> String {
        let show = try await self.control("show")
        return show.output.split(separator: "\n").first { $0.hasPrefix("  \(host)(") }.map(String.init) ?? ""
    }

    /// Waits until `show` has `host` in `state` with exactly `roles` (MMM's text, e.g. `writer(198.18.0.200)`).
    @discardableResult
    func waitFor(_ host: String, _ state: String, roles: [String]? = nil, timeout: Duration = .seconds(20)) async throws -> String {
        try await eventually(timeout: timeout, "\(host) \(state) with roles \(roles ?? ["any"])") { () -> String? in
            let line = try await self.showLine(host)
            guard line.contains("/\(state). Roles:") else { return nil }
            if let roles {
                let shown = line.components(separatedBy: "Roles: ").last ?? ""
                let listed = shown.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard listed.sorted() == roles.sorted() else { return nil }
            }
            return line
        }
    }

    /// A connection to `address` with the bench's admin account.
    ///
    /// The connect deadline is generous: on a loaded two-core CI machine a TCP connect to a namespace host has taken
    /// longer than 500 ms, and the tests measure roles, not connect latency.
    func connect(_ address: String) async throws -> MariaDBConnection {
        try await MariaDBConnection.connect(
            MariaDBConfiguration(
                name: "test", host: address, user: self.bench.adminUser, password: self.bench.adminPassword,
                connectTimeout: .seconds(3), readTimeout: .seconds(5)
            ),
            on: self.executor
        )
    }

    /// Runs one statement on `address`.
    func execute(_ sql: String, on address: String) async throws {
        let connection = try await self.connect(address)
        do {
            _ = try await connection.query(sql)
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    /// `@@hostname` and `@@read_only` of whoever answers on `address`.
    func whoAnswers(_ address: String) async throws -> (host: String, readOnly: Bool) {
        let connection = try await self.connect(address)
        do {
            let row = try await connection.query("SELECT @@hostname AS h, @@read_only AS ro").singleRow("who")
            await connection.close()
            return (try row.requiredString("h"), try row.bool("ro") ?? true)
        } catch {
            await connection.close()
            throw error
        }
    }
}

extension IntegrationTests {
    @Suite("mmm_mond and mmm_control end to end", .enabled(if: Bench.modeFromEnvironment == .netns, "agents need the namespace bench"))
    struct MonitorEndToEndTests {
        static let writer = "writer(\(Bench.writerIP))"

        @Test("show, checks, set_offline/set_online, REPLICATION_FAIL, REPLICATION_DELAY, a hung host, a restart", .timeLimit(.minutes(5)))
        func seedTopology() async throws {
            try await Bench.withBench(hosts: 2) { bench in
                try await MonitorCluster.with(bench) { cluster in
                    // First start, no status file, both hosts healthy: the writer is assigned within a few cycles
                    // (no auto_set_online wait), the reader roles spread over both masters.
                    let first = try await eventually(timeout: .seconds(20), "a writer is assigned") { () -> String? in
                        let show = try await cluster.control("show")
                        return show.output.contains(Self.writer) ? show.output : nil
                    }
                    let writerLineAtStart = first.split(separator: "\n").first { $0.hasPrefix("  db") && $0.contains(Self.writer) }
                    let writerHost = writerLineAtStart?.hasPrefix("  db1(") == true ? "db1" : "db2"
                    let other = writerHost == "db1" ? "db2" : "db1"
                    try await cluster.waitFor(writerHost, "ONLINE")
                    let writerLine = try await cluster.showLine(writerHost)
                    #expect(writerLine.contains(Self.writer), "\(writerLine)")
                    try await cluster.waitFor(other, "ONLINE")
                    _ = try await eventually("each master has a reader role") { () -> Bool? in
                        let a = try await cluster.showLine("db1"), b = try await cluster.showLine("db2")
                        return a.contains("reader(") && b.contains("reader(") ? true : nil
                    }
                    let show = try await cluster.control("show")
                    #expect(show.status == 0)
                    let hostLines = show.output.split(separator: "\n").filter { $0.hasPrefix("  db") }
                    #expect(hostLines.count == 2)
                    #expect(hostLines.first?.hasPrefix("  db1(198.18.0.101) master/ONLINE. Roles: ") == true, "hosts sorted, MMM's layout: \(show.output)")
                    #expect(hostLines.last?.hasPrefix("  db2(198.18.0.102) master/ONLINE. Roles: ") == true, "\(show.output)")
                    let who = try await cluster.whoAnswers(Bench.writerIP)
                    #expect(who.host == writerHost && !who.readOnly, "the writer VIP reaches the writable writer")

                    // checks all: four checks per host, all OK, in MMM's layout.
                    let checks = try await eventually("every check is OK") { () -> String? in
                        let checks = try await cluster.control("checks", "all")
                        let ok = checks.output.split(separator: "\n").filter { $0.contains("[last change:") && $0.contains("]  OK") }
                        return ok.count == 8 ? checks.output : nil
                    }
                    let checkLines = checks.split(separator: "\n")
                    for host in ["db1", "db2"] {
                        for check in ["ping", "mysql", "rep_threads", "rep_backlog"] {
                            #expect(
                                checkLines.contains { $0.hasPrefix(host) && $0.contains(" \(check) ") && $0.contains("]  OK") },
                                "\(host) \(check) OK in: \(checks)"
                            )
                        }
                    }

                    // set_offline the writer: it loses every role, the writer moves to the other master.
                    let offline = try await cluster.control("set_offline", writerHost)
                    #expect(offline.status == 0, "\(offline.output)")
                    #expect(offline.output.contains("OK: State of '\(writerHost)' changed to ADMIN_OFFLINE."), "\(offline.output)")
                    try await cluster.waitFor(writerHost, "ADMIN_OFFLINE", roles: [])
                    try await cluster.waitFor(other, "ONLINE")
                    _ = try await eventually("the writer VIP reaches \(other), writable") { () -> Bool? in
                        let who = try await cluster.whoAnswers(Bench.writerIP)
                        return who.host == other && !who.readOnly ? true : nil
                    }
                    // show lists the writer role once the monitor has seen the new writer hold it (its next system-info
                    // poll, up to 2 s): until then it says the role is not taken yet.
                    let otherLine = try await eventually("show lists the writer role on \(other)") { () -> String? in
                        let line = try await cluster.showLine(other)
                        return line.contains(Self.writer) ? line : nil
                    }
                    #expect(otherLine.components(separatedBy: "reader(").count == 3, "both readers and the writer on \(other): \(otherLine)")
                    let oldWriter = try await cluster.whoAnswers(cluster.bench.host(writerHost).ip)
                    #expect(oldWriter.readOnly, "the old writer was fenced")

                    // set_online: it comes back ONLINE and gets a reader role back (balanced); the writer stays.
                    // MMM refuses while the peer's replication checks fail ("Please, wait some time"): right after the
                    // move the new writer's checks may still be settling (seen once in CI); a DBA asks again.
                    let online = try await eventually(timeout: .seconds(15), "set_online \(writerHost) is accepted") { () -> CommandResult? in
                        let answer = try await cluster.control("set_online", writerHost)
                        return answer.output.contains("Please, wait some time") ? nil : answer
                    }
                    #expect(online.output.contains("OK: State of '\(writerHost)' changed to ONLINE."), "\(online.output)")
                    try await cluster.waitFor(writerHost, "ONLINE")
                    _ = try await eventually("\(writerHost) gets a reader role back") { () -> Bool? in
                        try await cluster.showLine(writerHost).contains("reader(") ? true : nil
                    }
                    #expect(try await cluster.showLine(other).contains(Self.writer))
                    let newWriter = other, standby = writerHost

                    // Bad input changes nothing and exits non-zero.
                    let before = try await cluster.control("show").output
                    let unknownHost = try await cluster.control("set_offline", "db9")
                    #expect(unknownHost.status != 0 && unknownHost.output.contains("ERROR: Unknown host name 'db9'!"), "\(unknownHost.output)")
                    let unknownRole = try await cluster.control("move_role", "nosuchrole", standby)
                    #expect(unknownRole.status != 0 && unknownRole.output.contains("ERROR:"), "\(unknownRole.output)")
                    #expect(try await cluster.control("show").output == before, "refused commands change nothing")

                    // Stopping replication on the standby: REPLICATION_FAIL, and its reader role moves away. First wait
                    // until the monitor has compared the returned standby's GTIDs and told it to follow the writer (the
                    // writer then follows it too: the ring is closed): a stop before that instruction would be undone by
                    // it, as a returning host's replication is started when the monitor names its source.
                    let standbyIP = try cluster.bench.host(standby).ip
                    let writerIP = try cluster.bench.host(newWriter).ip
                    _ = try await eventually(timeout: .seconds(20), "the ring closed: \(newWriter) replicates from \(standby)") { () -> Bool? in
                        let connection = try await cluster.connect(writerIP)
                        let status = try await connection.replicaStatuses().first
                        await connection.close()
                        return status?.masterHost == standbyIP && status?.ioThread == .yes && status?.sqlThreadRunning == true ? true : nil
                    }
                    try await Task.sleep(for: .seconds(2))
                    try await cluster.execute("STOP SLAVE", on: standbyIP)
                    try await cluster.waitFor(standby, "REPLICATION_FAIL", roles: [])
                    _ = try await eventually("both readers on \(newWriter)") { () -> Bool? in
                        try await cluster.showLine(newWriter).components(separatedBy: "reader(").count == 3 ? true : nil
                    }
                    try await cluster.execute("START SLAVE", on: standbyIP)
                    try await cluster.waitFor(standby, "ONLINE")

                    // Lag beyond max_backlog: a read lock holds the standby's SQL thread while the writer writes.
                    let lock = try await cluster.connect(standbyIP)
                    _ = try await lock.query("FLUSH TABLES WITH READ LOCK")
                    try await cluster.execute("CREATE TABLE IF NOT EXISTS mmm_bench.lag (id INT PRIMARY KEY AUTO_INCREMENT, at TIMESTAMP)", on: Bench.writerIP)
                    let delayed = try await eventually(timeout: .seconds(30), "\(standby) REPLICATION_DELAY") { () -> String? in
                        try await cluster.execute("INSERT INTO mmm_bench.lag (at) VALUES (NOW())", on: Bench.writerIP)
                        let line = try await cluster.showLine(standby)
                        return line.contains("/REPLICATION_DELAY.") ? line : nil
                    }
                    #expect(delayed.hasSuffix("Roles: "), "a delayed host holds no role: \(delayed)")
                    _ = try await lock.query("UNLOCK TABLES")
                    await lock.close()
                    try await cluster.waitFor(standby, "ONLINE", timeout: .seconds(30))

                    // A hung mariadbd (SIGSTOP) on the standby: marked down by its deadline; the writer stays.
                    let hung = try cluster.bench.host(standby)
                    #expect(kill(hung.pid, SIGSTOP) == 0)
                    do {
                        try await cluster.waitFor(standby, "HARD_OFFLINE", roles: [], timeout: .seconds(15))
                        let writerStill = try await cluster.showLine(newWriter)
                        #expect(writerStill.contains("/ONLINE.") && writerStill.contains(Self.writer), "\(writerStill)")
                        let checksAll = try await cluster.control("checks", newWriter, "mysql").output
                        #expect(checksAll.contains("]  OK"), "the other host's checks still pass: \(checksAll)")
                    } catch {
                        kill(hung.pid, SIGCONT)
                        throw error
                    }
                    #expect(kill(hung.pid, SIGCONT) == 0)
                    try await cluster.waitFor(standby, "ONLINE", timeout: .seconds(30))
                    _ = try await eventually("\(standby) gets a reader role back") { () -> Bool? in
                        try await cluster.showLine(standby).contains("reader(") ? true : nil
                    }

                    // The monitor restarted mid-run (this time as a daemon) comes back with the same roles from its
                    // status file.
                    let rolesBefore = try await cluster.control("show").output
                    #expect(await cluster.monitor.stop() == 0, "SIGTERM stops the monitor cleanly")
                    let status = try String(contentsOfFile: "\(MonitorCluster.monitorDirectory)/mmm_mond.status", encoding: .utf8)
                    #expect(status.contains("\"schemaVersion\""), "the status file was written")
                    let daemonLog = "\(MonitorCluster.monitorDirectory)/mmm_mond-daemon.log"
                    let started = try await IntegrationTests.BenchIntegrationTests.run(
                        "\(Bench.binDirectory)/mmm_mond",
                        ["--config-dir", MonitorCluster.monitorDirectory, "--daemon", "--log-file", daemonLog]
                    )
                    #expect(started.status == 0, "\(started.output)")
                    let pidText = try String(contentsOfFile: "\(MonitorCluster.monitorDirectory)/mmm_mond.pid", encoding: .utf8)
                    let daemonPID = pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                    #expect(daemonPID > 0 && started.output.contains("pid \(daemonPID)"), "\(started.output)")
                    do {
                        let rolesAfter = try await eventually("the restarted monitor answers") { () -> String? in
                            let show = try await cluster.control("show")
                            return show.status == 0 ? show.output : nil
                        }
                        #expect(rolesAfter == rolesBefore, "same states and roles after the restart")
                        let writerAfter = try await cluster.whoAnswers(Bench.writerIP)
                        #expect(writerAfter.host == newWriter && !writerAfter.readOnly)

                        // A second copy is refused by the locked pid file, clearly.
                        let second = try await IntegrationTests.BenchIntegrationTests.run(
                            "\(Bench.binDirectory)/mmm_mond", ["--config-dir", MonitorCluster.monitorDirectory]
                        )
                        #expect(second.status != 0 && second.output.contains("already running as pid \(daemonPID)"), "\(second.output)")

                        // A client with the wrong secret is refused and changes nothing.
                        let wrongKey = "\(MonitorCluster.root)/wrong-key"
                        try cluster.bench.writeMMMConfiguration(to: wrongKey)
                        let common = "\(wrongKey)/mmm_common.conf"
                        let text = try String(contentsOfFile: common, encoding: .utf8)
                        try text.replacingOccurrences(of: Bench.agentSecret, with: "not-the-cluster-secret-0123456789")
                            .write(toFile: common, atomically: true, encoding: .utf8)
                        let refused = try await IntegrationTests.BenchIntegrationTests.run(
                            "\(Bench.binDirectory)/mmm_control", ["--config-dir", wrongKey, "set_offline", newWriter]
                        )
                        #expect(refused.status != 0, "an unauthenticated command fails: \(refused.output)")
                        #expect(try await cluster.control("show").output == rolesAfter, "and changes nothing")

                        // A broken config stops mmm_mond at once with the file and line.
                        let broken = "\(MonitorCluster.root)/broken"
                        try cluster.bench.writeMMMConfiguration(to: broken)
                        let brokenCommon = "\(broken)/mmm_common.conf"
                        let brokenText = try String(contentsOfFile: brokenCommon, encoding: .utf8)
                        try brokenText.replacingOccurrences(of: "mode    exclusive", with: "mode    exclusiv")
                            .write(toFile: brokenCommon, atomically: true, encoding: .utf8)
                        let badStart = try await IntegrationTests.BenchIntegrationTests.run(
                            "\(Bench.binDirectory)/mmm_mond", ["--config-dir", broken]
                        )
                        #expect(badStart.status != 0)
                        #expect(badStart.output.contains("mmm_common.conf:") && badStart.output.contains("exclusiv"), "\(badStart.output)")
                    } catch {
                        // Never kill(0, …): that is this process group.
                        if daemonPID > 0 { kill(daemonPID, SIGTERM) }
                        throw error
                    }
                    #expect(kill(daemonPID, SIGTERM) == 0)
                    _ = try await eventually("the daemon exits on SIGTERM") { () -> Bool? in
                        kill(daemonPID, 0) != 0 ? true : nil
                    }
                    cluster.monitor = try cluster.bench.startMonitor(configDirectory: MonitorCluster.monitorDirectory)
                }
            }
        }
    }
}
