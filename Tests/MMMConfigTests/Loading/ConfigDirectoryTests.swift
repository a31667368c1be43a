import Foundation
import MMMConfig
import MMMCore
import Testing

@Suite struct ConfigDirectoryTests {
    private let common = TestConfigs.path("mmm_common.conf")

    // MARK: - The seed's files

    @Test func seedFilesLoadExceptTheSelfPeerErrors() throws {
        let directory = TestConfigs.directory(try TestConfigs.fixtureFiles("seed"))
        for program in [ConfigProgram.agent, .monitor] {
            let result = directory.validate(ConfigDirectory.fileName(for: program, cluster: nil), program: program)
            #expect(result.problems.map(\.description) == [
                "\(self.common):16: `peer db1` in <host db1> names the host itself; a master's peer is the other master; write `peer db2` (the other master)",
                "\(self.common):22: `peer db2` in <host db2> names the host itself; a master's peer is the other master; write `peer db1` (the other master)",
            ])
            #expect(result.configuration == nil)
        }
    }

    @Test func fixedSeedLoadsForAgentAndMonitor() throws {
        let directory = TestConfigs.directory(try TestConfigs.fixtureFiles("seed-fixed"))
        let agent = try directory.loadAgent()
        #expect(agent.this == "db1")
        let db1 = try #require(agent.thisHost)
        // The Korean trailing comments are not part of the values (MMM 2.2 would keep them).
        #expect(db1.replicationUser == "repl_user")
        #expect(db1.agentUser == "mmm_agent")
        #expect(db1.replicationPassword?.revealed() == "test123")
        #expect(db1.clusterInterface == "eth0")
        #expect(db1.binPath == "/usr/libexec/mysql-mmm/")
        #expect(db1.peer == "db2")
        #expect(agent.host(named: "db2")?.peer == "db1")
        #expect(agent.roles.map(\.name) == ["writer", "reader"])
        #expect(agent.role(named: "writer")?.ips == [IPAddress("192.168.1.210")!])
        #expect(agent.role(named: "reader")?.mode == .balanced)
        #expect(agent.monitor == nil)

        let monitor = try directory.loadMonitor()
        let section = try #require(monitor.monitor)
        #expect(section.ip == IPAddress("127.0.0.1"))
        #expect(section.pingIPs == [IPAddress("192.168.1.101")!, IPAddress("192.168.1.102")!])
        #expect(section.autoSetOnline == .seconds(60))
        #expect(section.statusPath == "/var/lib/mysql-mmm/mmm_mond.status")
        #expect(section.resolvedKillHostBin == "/usr/libexec/mysql-mmm/monitor/kill_host")
        #expect(section.mode == .active)
        #expect(section.carefulStartup)
        #expect(monitor.host(named: "db2")?.monitorUser == "mmm_monitor")
        #expect(monitor.host(named: "db2")?.monitorPassword?.revealed() == "test123")
        #expect(monitor.debug == false)
        #expect(monitor.checks.mysql.trapPeriod == .milliseconds(750))
        #expect(monitor.checks.repBacklog.maxBacklog == .seconds(60))

        #expect(try directory.loadControl().monitor?.port == 9988)
    }

    @Test func seedAgentFileOfDB2Loads() throws {
        var files = try TestConfigs.fixtureFiles("seed-fixed")
        files["mmm_agent.conf"] = try TestConfigs.fixtureFiles("seed-db2")["mmm_agent.conf"]
        let configuration = try TestConfigs.directory(files).loadAgent()
        #expect(configuration.thisHost?.ip == IPAddress("192.168.1.102"))
    }

    @Test func loadThrowsOneInvalidConfigurationErrorListingEveryError() throws {
        let directory = TestConfigs.directory(try TestConfigs.fixtureFiles("seed"))
        let error = try #require(throws: MMMError.self) { try directory.loadAgent() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.hasPrefix("2 errors in the configuration:\n"))
        #expect(error.message.contains("\(self.common):16: `peer db1` in <host db1> names the host itself"))
        #expect(error.message.contains("\(self.common):22: `peer db2` in <host db2> names the host itself"))
        #expect(!error.description.contains("test123"))
    }

    @Test func invalidClusterNameIsRejected() throws {
        let directory = TestConfigs.directory([:])
        let error = try #require(throws: MMMError.self) { try directory.loadMonitor(cluster: "../etc") }
        #expect(error.code == .invalidArgument)
    }

    // MARK: - File permissions

    @Test(arguments: [0o644, 0o640, 0o604, 0o602, 0o620] as [UInt16])
    func fileHoldingPasswordsMustNotBeAccessibleToOthers(mode: UInt16) throws {
        let directory = TestConfigs.directory(
            ["mmm_common.conf": TestConfigs.common, "mmm_agent.conf": TestConfigs.agent],
            mode: mode
        )
        let problems = directory.validate("mmm_agent.conf", program: .agent).problems
        // Only mmm_common.conf holds passwords; mmm_agent.conf may be readable.
        #expect(problems.count == 1, "\(problems)")
        let problem = try #require(problems.first)
        #expect(problem.location == SourceLocation(file: self.common, line: 8))
        #expect(problem.message.hasPrefix("the file holds passwords but its mode 0\(String(mode, radix: 8)) lets other users"))
        #expect(problem.fix == "run `chmod 600 \(self.common)` (owner root)")
    }

    @Test(arguments: [0o600, 0o400, 0o700] as [UInt16])
    func privateModesAreAccepted(mode: UInt16) {
        let directory = TestConfigs.directory(
            ["mmm_common.conf": TestConfigs.common, "mmm_agent.conf": TestConfigs.agent],
            mode: mode
        )
        #expect(directory.validate("mmm_agent.conf", program: .agent).problems.isEmpty)
    }

    @Test func realFilesAreCheckedForTheirModeOnDisk() throws {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("mmm-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let source = try TestConfigs.fixtureURL("seed-fixed")
        for name in ["mmm_common.conf", "mmm_agent.conf", "mmm_mon.conf"] {
            let target = temporary.appendingPathComponent(name)
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target.path)
        }
        let directory = ConfigDirectory(path: temporary.path)
        #expect(try directory.loadAgent().this == "db1")
        #expect(directory.checkConfig().isOK)

        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644],
            ofItemAtPath: temporary.appendingPathComponent("mmm_mon.conf").path
        )
        let problems = directory.validate("mmm_mon.conf", program: .monitor).problems
        #expect(problems.map(\.location) == [SourceLocation(file: temporary.appendingPathComponent("mmm_mon.conf").path, line: 21)])
    }

    // MARK: - Passwords never shown

    @Test func passwordsNeverAppearInProblemsErrorsOrDescriptions() throws {
        // Every kind of problem at once, with passwords that look like names and a password
        // typed on a line of its own (which the parser sees as an unknown directive).
        var common = TestConfigs.common(replacingLine: 10, with: "    agent_password       Agent-Pass#2\n    Agent-Pass#2")
        common = common.replacing("    peer db2\n", with: "    peer db1\n")
        common += "agent_secret Monitor-Pass#3\n<Repl-Pass#1>\n"
        let directory = TestConfigs.directory(
            ["mmm_common.conf": common, "mmm_agent.conf": TestConfigs.agent, "mmm_mon.conf": TestConfigs.monitor],
            mode: 0o666
        )
        var texts: [String] = []
        for program in ConfigProgram.allCases {
            let result = directory.validate(ConfigDirectory.fileName(for: program, cluster: nil), program: program)
            #expect(result.problems.count >= 4)
            texts += result.problems.map(\.description) + result.problems.map { String(reflecting: $0) }
            do {
                _ = try directory.load(program)
            } catch {
                texts += [error.description, String(reflecting: error), error.message]
            }
        }
        texts += directory.checkConfig().lines
        #expect(texts.contains { $0.contains("<redacted>") })
        for secret in TestConfigs.commonSecrets {
            #expect(!texts.contains { $0.contains(secret) }, "\(secret) leaked")
        }
    }

    @Test(arguments: ["=", ":", "= ", ":\t"])
    func passwordWrittenWithASeparatorIsNotEchoed(separator: String) throws {
        // `agent_password=secret` is one word, an unknown directive; its value was never stored as a
        // secret, so only the problem's own wording can keep the password out.
        let common = TestConfigs.common(replacingLine: 10, with: "    agent_password\(separator)Agent-Pass#2")
        let problems = TestConfigs.problems(common: common)
        #expect(!problems.isEmpty)
        for problem in problems {
            #expect(!problem.description.contains("Agent-Pass#2"), "leaked: \(problem)")
            #expect(!problem.description.contains("Pass#2"), "leaked: \(problem)")
        }
        // Line 10 names the mistake; db1 and db2 (lines 15, 21) then lack the password the agent needs.
        #expect(problems.map(\.location.line) == [10, 15, 21])
        #expect(problems.first?.fix == "write `agent_password VALUE` (the name, then spaces, then the value)")
    }

    @Test func loadedConfigurationDoesNotPrintItsPasswords() throws {
        let configuration = try TestConfigs.directory([
            "mmm_common.conf": TestConfigs.common + "agent_secret 0123456789abcdef-secret\n",
            "mmm_agent.conf": TestConfigs.agent,
        ]).loadAgent()
        var dumped = ""
        dump(configuration, to: &dumped)
        let texts = [
            "\(configuration)", String(reflecting: configuration), dumped,
            "\(configuration.hosts)", "\(configuration.protocolSecret(forHost: "db1")!)",
        ]
        for text in texts {
            for secret in TestConfigs.commonSecrets + ["0123456789abcdef-secret"] {
                #expect(!text.contains(secret), "\(secret) leaked in \(text.prefix(80))")
            }
        }
        #expect("\(configuration.hosts[0].agentPassword!)" == "<redacted>")
    }

    // MARK: - check-config

    @Test func checkConfigReportsTheSeedsProblemsAndFails() throws {
        let report = TestConfigs.directory(try TestConfigs.fixtureFiles("seed"), mode: 0o644).checkConfig()
        #expect(!report.isOK)
        #expect(report.errorCount == 4)
        #expect(report.lines == [
            "\(self.common):8: the file holds passwords but its mode 0644 lets other users read it; run `chmod 600 \(self.common)` (owner root)",
            "\(self.common):16: `peer db1` in <host db1> names the host itself; a master's peer is the other master; write `peer db2` (the other master)",
            "\(self.common):22: `peer db2` in <host db2> names the host itself; a master's peer is the other master; write `peer db1` (the other master)",
            "/etc/mysql-mmm/mmm_mon.conf:21: the file holds passwords but its mode 0644 lets other users read it; run `chmod 600 /etc/mysql-mmm/mmm_mon.conf` (owner root)",
            "mmm_control: configuration in /etc/mysql-mmm has 4 errors and 0 warnings (mmm_agent.conf, mmm_common.conf, mmm_mon.conf)",
        ])
    }

    @Test func checkConfigPrintsOKForTheFixedSeed() throws {
        let report = TestConfigs.directory(try TestConfigs.fixtureFiles("seed-fixed")).checkConfig()
        #expect(report.isOK)
        #expect(report.lines == [
            "mmm_control: configuration in /etc/mysql-mmm is OK (mmm_agent.conf, mmm_common.conf, mmm_mon.conf; 0 warnings)"
        ])
    }

    @Test func checkConfigCoversClusterFilesAndSelectsOneCluster() throws {
        var files = try TestConfigs.fixtureFiles("seed-fixed")
        files["mmm_agent_c2.conf"] = "include mmm_common.conf\nthis db3\n"
        files["mmm_mon_log.conf"] = "log4perl.logger = INFO\n"
        let directory = TestConfigs.directory(files)
        #expect(directory.clusters() == [nil, "c2"])

        let all = directory.checkConfig()
        #expect(!all.isOK)
        #expect(all.lines.first == "/etc/mysql-mmm/mmm_agent_c2.conf:2: `this db3` names no <host> section; write `this NAME` with the local host's section name (one of: db1, db2)")

        let onlyC2 = directory.checkConfig(cluster: "c2")
        #expect(onlyC2.checkedFiles == [TestConfigs.path("mmm_agent_c2.conf"), self.common])
        #expect(onlyC2.errorCount == 1)

        let missing = directory.checkConfig(cluster: "c3")
        #expect(!missing.isOK)
        #expect(missing.lines == ["mmm_control: no mmm_agent_c3.conf or mmm_mon_c3.conf in /etc/mysql-mmm; nothing to check (use --config-dir DIR)"])
    }

    @Test func checkConfigOfAnEmptyDirectoryFails() {
        let report = TestConfigs.directory([:]).checkConfig()
        #expect(!report.isOK)
        #expect(report.lines.count == 1)
    }

    @Test func warningsDoNotFailCheckConfig() throws {
        var files = try TestConfigs.fixtureFiles("seed-fixed")
        files["mmm_common.conf"] = files["mmm_common.conf"]!.replacing("    mode    balanced", with: "    mode    balanced\n    prefer db1")
        let report = TestConfigs.directory(files).checkConfig()
        #expect(report.isOK)
        #expect(report.warningCount == 1)
        #expect(report.lines.count == 2)
        #expect(report.lines[0].contains(": warning: `prefer` in <role reader> is ignored"))
    }

    @Test func fileNamesFollowMMM() {
        #expect(ConfigDirectory.fileName(for: .agent, cluster: nil) == "mmm_agent.conf")
        #expect(ConfigDirectory.fileName(for: .monitor, cluster: "c1") == "mmm_mon_c1.conf")
        #expect(ConfigDirectory.fileName(for: .control, cluster: nil) == "mmm_mon.conf")
        #expect(ConfigDirectory().path == "/etc/mysql-mmm")
    }
}
