import MMMConfig
import MMMCore
import Testing

@Suite struct ConfigParserTests {
    private func load(_ common: String, program: ConfigProgram = .agent) throws -> MMMConfiguration {
        let directory = TestConfigs.directory([
            "mmm_common.conf": common, "mmm_agent.conf": TestConfigs.agent, "mmm_mon.conf": TestConfigs.monitor,
        ])
        let result = directory.validate(ConfigDirectory.fileName(for: program, cluster: nil), program: program)
        #expect(result.problems.isEmpty, "\(result.problems)")
        return try #require(result.configuration)
    }

    @Test func baseConfigurationLoadsWithTypedValues() throws {
        let configuration = try self.load(TestConfigs.common)
        #expect(configuration.this == "db1")
        #expect(configuration.activeMasterRole == "writer")
        #expect(configuration.hosts.map(\.name) == ["db1", "db2"])
        let db1 = try #require(configuration.host(named: "db1"))
        #expect(db1.ip == IPAddress("192.168.1.101"))
        #expect(db1.mode == .master)
        #expect(db1.peer == "db2")
        #expect(db1.agentPort == 9989)
        #expect(db1.mysqlPort == 3306)
        #expect(db1.endpointProvider == .vip)
        #expect(configuration.thisHost?.name == "db1")
        let reader = try #require(configuration.role(named: "reader"))
        #expect(reader.mode == .balanced)
        #expect(reader.hosts == ["db1", "db2"])
        #expect(reader.ips == [IPAddress("192.168.1.220")!, IPAddress("192.168.1.221")!])
        #expect(configuration.activeMasterRoleConfiguration?.ips == [IPAddress("192.168.1.210")!])
    }

    @Test func hashInsideAValueStaysPartOfIt() throws {
        let configuration = try self.load(TestConfigs.common)
        #expect(configuration.host(named: "db1")?.replicationPassword?.revealed() == "Repl-Pass#1")
        #expect(configuration.host(named: "db2")?.agentPassword?.revealed() == "Agent-Pass#2")
    }

    @Test(arguments: [
        ("    replication_user  repl_user   #replication용 계정 ", "repl_user"),
        ("    replication_user  repl_user\t# tab before the hash", "repl_user"),
        ("    replication_user  repl#user", "repl#user"),
        ("    replication_user  repl#user # comment", "repl#user"),
        ("    replication_user  two words   ", "two words"),
    ])
    func trailingCommentStartsAtWhitespaceFollowedByHash(line: String, expected: String) throws {
        let configuration = try self.load(TestConfigs.common(replacingLine: 7, with: line))
        #expect(configuration.host(named: "db1")?.replicationUser == expected)
    }

    @Test func fullLineCommentsAndCommentedOutSectionsAreIgnored() throws {
        let common = TestConfigs.common + """
            # a comment
               # an indented comment
            #<host db3>
            #    ip      192.168.100.51
            #</host>
            """
        let configuration = try self.load(common)
        #expect(configuration.hosts.count == 2)
    }

    @Test func hostDefaultIsATemplateAndAnExplicitValueWins() throws {
        let common = TestConfigs.common(replacingLine: 18, with: "    peer db2\n    agent_user db1_agent")
        let configuration = try self.load(common)
        #expect(configuration.host(named: "db1")?.agentUser == "db1_agent")
        #expect(configuration.host(named: "db2")?.agentUser == "mmm_agent")
        #expect(configuration.host(named: "db2")?.clusterInterface == "eth0")
    }

    @Test func roleNamedDefaultIsARoleNotATemplate() throws {
        // Only host, check and copy_method sections have a `default` template in MMM; `<role default>`
        // is an ordinary role and must not vanish silently.
        let common = TestConfigs.common + """
            <role default>
                hosts  db1, db2
                ips    192.168.1.230
                mode   exclusive
            </role>

            """
        let configuration = try self.load(common)
        let role = try #require(configuration.role(named: "default"))
        #expect(role.hosts == ["db1", "db2"])
        #expect(role.ips == [IPAddress("192.168.1.230")!])
    }

    @Test func sectionsMergeAcrossFilesAsInMMM() throws {
        // The seed's mmm_mon.conf adds monitor_user to the <host default> of mmm_common.conf.
        let common = TestConfigs.common.replacing("        monitor_user         mmm_monitor\n", with: "")
        let monitor = TestConfigs.monitor + "<host default>\n    monitor_user watcher\n</host>\n"
        let directory = TestConfigs.directory(["mmm_common.conf": common, "mmm_mon.conf": monitor])
        let configuration = try directory.loadMonitor()
        #expect(configuration.host(named: "db2")?.monitorUser == "watcher")
        #expect(configuration.host(named: "db2")?.agentUser == "mmm_agent")
    }

    @Test(arguments: [
        ("true", true), ("on", true), ("yes", true), ("1", true), ("TRUE", true), ("Yes", true),
        ("false", false), ("off", false), ("no", false), ("0", false), ("OFF", false),
    ])
    func booleansAcceptMMMSpellings(text: String, expected: Bool) throws {
        let configuration = try self.load(TestConfigs.common + "debug \(text)\n")
        #expect(configuration.debug == expected)
    }

    @Test func invalidBooleanIsReportedWithLine() {
        let problems = TestConfigs.problems(common: TestConfigs.common + "debug maybe\n")
        #expect(problems.map(\.description) == [
            "/etc/mysql-mmm/mmm_common.conf:38: `debug maybe` in the top level is not a boolean; write `debug 1` or `debug 0` (also accepted: true/false, on/off, yes/no)"
        ])
    }

    @Test func listsAreCommaSeparatedWithOptionalSpaces() throws {
        let common = TestConfigs.common(replacingLine: 35, with: "    ips 192.168.1.220,192.168.1.221 ,  192.168.1.222")
        let configuration = try self.load(common)
        #expect(configuration.role(named: "reader")?.ips.count == 3)
    }

    @Test func emptyListItemIsReported() {
        let problems = TestConfigs.problems(common: TestConfigs.common(replacingLine: 34, with: "    hosts db1,,db2"))
        #expect(problems.map(\.location.line) == [34])
        #expect(problems.first?.message.contains("empty item") == true)
    }

    @Test func includeAppendsConfAndIsRelativeToTheDirectory() throws {
        let agent = "include mmm_common\nthis db2\n"
        let directory = TestConfigs.directory(["mmm_common.conf": TestConfigs.common, "mmm_agent.conf": agent])
        let configuration = try directory.loadAgent()
        #expect(configuration.this == "db2")
    }

    @Test func nestedIncludesAndLoopsAreHandled() {
        let directory = TestConfigs.directory([
            "mmm_agent.conf": "include a.conf\nthis db1\n",
            "a.conf": "include b.conf\n",
            "b.conf": TestConfigs.common + "include a.conf\n",
        ])
        let result = directory.validate("mmm_agent.conf", program: .agent)
        #expect(result.problems.map(\.description) == [
            "/etc/mysql-mmm/b.conf:38: `include a.conf` includes a file that is already being read (a loop); remove this include"
        ])
        #expect(result.files == [TestConfigs.path("mmm_agent.conf"), TestConfigs.path("a.conf"), TestConfigs.path("b.conf")])
    }

    @Test func missingIncludeIsReportedAtTheIncludeLine() {
        let directory = TestConfigs.directory(["mmm_agent.conf": "# agent\ninclude mmm_commn.conf\nthis db1\n"])
        let problems = directory.validate("mmm_agent.conf", program: .agent).problems
        let include = problems.first { $0.message == "included file /etc/mysql-mmm/mmm_commn.conf does not exist" }
        #expect(include?.location == SourceLocation(file: TestConfigs.path("mmm_agent.conf"), line: 2))
        #expect(include?.fix == "create it, or correct the name (relative names are looked up in /etc/mysql-mmm)")
    }

    @Test func selfClosingSectionsAreAccepted() throws {
        let configuration = try self.load(TestConfigs.common + "<socket/>\n<check mysql/>\n")
        #expect(configuration.socket.type == .plain)
        #expect(configuration.checks.mysql.trapPeriod == .milliseconds(750))
    }

    @Test func checkDefaultTemplateAndFractionalDurations() throws {
        let checks = """
            <check default>
                trap_period      2.5
                check_period     0.25
                recovery_period  1
            </check>
            <check ping>
                trap_period 0.75
            </check>

            """
        let configuration = try self.load(TestConfigs.common + checks)
        #expect(configuration.checks.ping.trapPeriod == .milliseconds(750))
        #expect(configuration.checks.ping.checkPeriod == .milliseconds(250))
        #expect(configuration.checks.mysql.trapPeriod == .milliseconds(2500))
        #expect(configuration.checks.repBacklog.recoveryPeriod == .seconds(1))
        #expect(configuration.checks.repBacklog.timeout == .seconds(1))
        #expect(configuration.checks.ping.timeout == .milliseconds(500))
        #expect(configuration.checks.repBacklog.maxBacklog == .seconds(60))
    }

    @Test func grammarErrorsAreAllReportedWithTheirLines() {
        let common = TestConfigs.common + """
            <hots db3>
            </hots>
            <monitor primary>
            </monitor>
            <host>
            </host>
            <role writer>
              hosts db1, db2
            </host>
            debug
            <socket>
            <check ping>
            """
        let lines = TestConfigs.problems(common: common).filter { $0.location.file.hasSuffix("mmm_common.conf") }
            .map { "\($0.location.line ?? 0) \($0.message)" }
        #expect(lines == [
            "38 unknown section `<hots>`",
            "40 <monitor> is a unique section and takes no name (found `primary`)",
            "42 <host> needs a name",
            "46 `</host>` closes <role writer>",
            "47 `debug` has no value",
            "49 <check ping> opened inside <socket>",
            "49 <check ping> is never closed",
        ])
    }

    @Test func unknownDirectivesSuggestTheRightNameOrPlace() {
        let common = TestConfigs.common(replacingLine: 16, with: "    ip 192.168.1.101\n    agent_pasword x\n    status_path /x")
        let problems = TestConfigs.problems(common: common)
        #expect(problems.map(\.description) == [
            "/etc/mysql-mmm/mmm_common.conf:17: unknown directive `agent_pasword` in <host db1>; did you mean `agent_password`?",
            "/etc/mysql-mmm/mmm_common.conf:18: unknown directive `status_path` in <host db1>; move it to <monitor>",
        ])
    }

    @Test func windowsLineEndingsAreAccepted() throws {
        let configuration = try self.load(TestConfigs.common.replacing("\n", with: "\r\n"))
        #expect(configuration.host(named: "db1")?.ip == IPAddress("192.168.1.101"))
    }
}
