import MMMConfig
import Testing

/// One test per validation rule: each shows the file, the line and the fix.
@Suite struct ConfigValidationTests {
    private let common = TestConfigs.path("mmm_common.conf")

    private func only(_ problems: [ConfigProblem]) throws -> ConfigProblem {
        #expect(problems.count == 1, "\(problems)")
        return try #require(problems.first)
    }

    @Test func roleHostWithoutHostSection() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 28, with: "    hosts db1, db3")))
        #expect(problem.description == """
            \(self.common):28: <role writer> names host db3, which has no <host db3> section; \
            add a <host db3> section with its `ip` and `mode`, or remove it: `hosts db1`
            """)
    }

    @Test func preferOutsideTheRoleHosts() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common(replacingLine: 30, with: "    mode exclusive\n    prefer db3"))
        )
        #expect(problem.description == """
            \(self.common):31: `prefer db3` in <role writer> is not one of the role's hosts (db1, db2); \
            write `prefer db1` (one of `hosts`), or add db3 to `hosts`
            """)
    }

    @Test func preferOnABalancedRoleIsAWarning() throws {
        let directory = TestConfigs.directory([
            "mmm_common.conf": TestConfigs.common(replacingLine: 36, with: "    mode balanced\n    prefer db2"),
            "mmm_agent.conf": TestConfigs.agent,
        ])
        let result = directory.validate("mmm_agent.conf", program: .agent)
        let problem = try self.only(result.problems)
        #expect(problem.severity == .warning)
        #expect(problem.location.line == 37)
        #expect(result.configuration != nil)
    }

    @Test func duplicateHostIP() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 22, with: "    ip 192.168.1.101")))
        #expect(problem.description == """
            \(self.common):22: `ip 192.168.1.101` of <host db2> is already the address of <host db1> (\(self.common):16); \
            give each host its own permanent address
            """)
    }

    @Test(arguments: ["192.168.1.300", "192.168.01.1", "192.168.1", "192.168.1.1.1", "db1.example", "1.2.3.4/24", "::1::2"])
    func malformedHostIP(text: String) throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 16, with: "    ip \(text)")))
        #expect(problem.location == SourceLocation(file: self.common, line: 16))
        #expect(problem.message == "`\(text)` in `ip` of <host db1> is not a valid IP address")
        #expect(problem.fix.contains("192.168.1.101"))
    }

    @Test func malformedRoleIP() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common(replacingLine: 35, with: "    ips 192.168.1.220, 192.168.1.2211"))
        )
        #expect(problem.location == SourceLocation(file: self.common, line: 35))
        #expect(problem.message == "`192.168.1.2211` in `ips` of <role reader> is not a valid IP address")
    }

    @Test func duplicateRoleIP() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common(replacingLine: 35, with: "    ips 192.168.1.220, 192.168.1.210"))
        )
        #expect(problem.description == """
            \(self.common):35: role address 192.168.1.210 of <role reader> is already used by <role writer> (\(self.common):29); \
            give every role IP its own unused address
            """)
    }

    @Test func roleIPEqualToAHostIP() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 29, with: "    ips 192.168.1.102")))
        #expect(problem.location == SourceLocation(file: self.common, line: 29))
        #expect(problem.message.contains("role address 192.168.1.102 of <role writer> is the permanent `ip` of <host db2>"))
        #expect(problem.fix.contains("unused address"))
    }

    @Test(arguments: ["0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255"])
    func roleIPThatCannotMove(_ address: String) throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 29, with: "    ips \(address)")))
        #expect(problem.location == SourceLocation(file: self.common, line: 29))
        #expect(problem.message.contains("role address \(address) of <role writer> is a this-network, loopback, multicast or reserved address"))
        #expect(problem.fix.contains("unicast"))
    }

    @Test func exclusiveRoleWithTwoIPs() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common(replacingLine: 29, with: "    ips 192.168.1.210, 192.168.1.211"))
        )
        #expect(problem.location.line == 29)
        #expect(problem.fix == "write one address, e.g. `ips 192.168.1.210`")
    }

    @Test func activeMasterRoleWithMoreThanTwoHosts() throws {
        // MMM's monitor refuses to start when more than two hosts can take the active master role
        // (check_master_configuration); the agent does not care.
        let common = TestConfigs.common(replacingLine: 28, with: "    hosts db1, db2, db3") + """
            <host db3>
                ip   192.168.1.103
                mode slave
            </host>

            """
        let problem = try self.only(TestConfigs.problems(common: common, program: .monitor))
        #expect(problem.description == """
            \(self.common):28: <role writer> (the active master role) lists 3 hosts; MMM supports exactly two masters \
            that can be the writer; list the two masters, e.g. `hosts db1, db2`
            """)
        #expect(TestConfigs.problems(common: common, program: .agent).isEmpty)
    }

    @Test func masterWithoutPeer() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 18, with: "")))
        #expect(problem.description == "\(self.common):15: <host db1> has `mode master` but no `peer`; add `peer db2` (the other master) to <host db1>")
    }

    @Test func peerNamingItself() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 18, with: "    peer db1")))
        #expect(problem.description == """
            \(self.common):18: `peer db1` in <host db1> names the host itself; a master's peer is the other master; \
            write `peer db2` (the other master)
            """)
    }

    @Test func peerNamingAnUnknownHost() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 24, with: "    peer db9")))
        #expect(problem.description == "\(self.common):24: `peer db9` in <host db2> names no <host> section; write `peer db1` (the other master), or add <host db9>")
    }

    @Test func peerOfAMasterThatIsASlave() throws {
        let common = TestConfigs.common + "<host db3>\n    ip 192.168.1.103\n    mode slave\n</host>\n"
        let problem = try self.only(TestConfigs.problems(common: common.replacing("    peer db2\n", with: "    peer db3\n")))
        #expect(problem.location.line == 18)
        #expect(problem.message == "`peer db3` in <host db1> names a slave; a master's peer is the other master")
    }

    @Test func thisNamingNoHost() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common, extraFiles: ["mmm_agent.conf": "include mmm_common.conf\nthis db7\n"])
        )
        #expect(problem.description == "\(TestConfigs.path("mmm_agent.conf")):2: `this db7` names no <host> section; write `this NAME` with the local host's section name (one of: db1, db2)")
    }

    @Test func agentWithoutThis() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common, extraFiles: ["mmm_agent.conf": "include mmm_common.conf\n"])
        )
        #expect(problem.description == "\(TestConfigs.path("mmm_agent.conf")): the top level has no `this`, which agent needs; add `this db1` at the top level")
    }

    @Test func activeMasterRoleMustNameAnExclusiveRole() throws {
        let unknown = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 1, with: "active_master_role primary")))
        #expect(unknown.location.line == 1)
        #expect(unknown.fix.contains("one of: writer, reader"))
        let balanced = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 1, with: "active_master_role reader")))
        #expect(balanced.message.contains("names a balanced role"))
    }

    @Test func missingRequiredDirectiveNamesSectionAndTemplate() {
        let problems = TestConfigs.problems(common: TestConfigs.common(replacingLine: 9, with: ""))
        #expect(problems.map(\.description) == [
            "\(self.common):15: <host db1> has no `agent_user`, which agent needs; add `agent_user mmm_agent` to <host db1> or to <host default>",
            "\(self.common):21: <host db2> has no `agent_user`, which agent needs; add `agent_user mmm_agent` to <host db2> or to <host default>",
        ])
        // The monitor does not need agent_user.
        #expect(TestConfigs.problems(common: TestConfigs.common(replacingLine: 9, with: ""), program: .monitor).isEmpty)
    }

    @Test func monitorNeedsAMonitorSection() throws {
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common, program: .monitor, extraFiles: ["mmm_mon.conf": "include mmm_common.conf\n"])
        )
        #expect(problem.location == SourceLocation(file: TestConfigs.path("mmm_mon.conf"), line: nil))
        #expect(problem.message == "there is no <monitor> section, which monitor needs")
    }

    @Test func monitorPidPathExampleIsTheMonitors() throws {
        // Regression: the fix suggested the agent's pid file for <monitor>.
        let monitor = TestConfigs.monitor.replacing("    pid_path     /run/mmm-mon.pid\n", with: "")
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common, program: .monitor, extraFiles: ["mmm_mon.conf": monitor])
        )
        #expect(problem.message == "<monitor> has no `pid_path`, which monitor needs")
        #expect(problem.fix == "add `pid_path /run/mysql-mmm-monitor.pid` to <monitor>")
    }

    @Test func pingIPsMustNotBeRoleAddresses() throws {
        let monitor = TestConfigs.monitor.replacing("ping_ips     192.168.1.1", with: "ping_ips     192.168.1.1, 192.168.1.210")
        let problem = try self.only(
            TestConfigs.problems(common: TestConfigs.common, program: .monitor, extraFiles: ["mmm_mon.conf": monitor])
        )
        #expect(problem.location == SourceLocation(file: TestConfigs.path("mmm_mon.conf"), line: 8))
        #expect(problem.message.contains("lists the role address 192.168.1.210"))
    }

    @Test(arguments: ["eth0/1", "a-very-long-interface", "eth 0"])
    func invalidInterfaceName(name: String) throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 4, with: "    cluster_interface \(name)")))
        // Reported once, at the template's line where the value was written, not once per host.
        #expect(problem.location.line == 4)
        #expect(problem.message == "`cluster_interface \(name)` in <host default> is not a valid interface name")
    }

    @Test func enumValuesAreChecked() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common(replacingLine: 17, with: "    mode primary")))
        #expect(problem.description == "\(self.common):17: `mode primary` in <host db1> is not allowed; write `mode master` or `mode slave`")
    }

    @Test func numbersAndDurationsAreChecked() {
        let common = TestConfigs.common(replacingLine: 16, with: "    ip 192.168.1.101\n    agent_port 70000")
            + "<check mysql>\n    trap_period -1\n    timeout 0\n</check>\nmax_kill_retries ten\n"
        let problems = TestConfigs.problems(common: common)
        #expect(problems.map(\.location.line) == [17, 40, 41, 43])
        #expect(problems[0].message == "`agent_port 70000` in <host db1> is not a whole number from 1 to 65535")
        #expect(problems[1].message == "`trap_period -1` in <check mysql> is not a positive number of seconds")
        #expect(problems[2].message == "`timeout 0` in <check mysql> is not a positive number of seconds")
        #expect(problems[2].fix == "write seconds as digits with an optional fraction, e.g. `timeout 2` or `timeout 0.5`")
    }

    @Test func checkPeriodsAndTimeoutsMustBePositive() {
        let common = TestConfigs.common + "<check ping>\n    check_period 0\n    trap_period 0.0\n    timeout -0.5\n</check>\n"
        let problems = TestConfigs.problems(common: common)
        #expect(problems.map(\.location.line) == [39, 40, 41])
        #expect(problems.map(\.message) == [
            "`check_period 0` in <check ping> is not a positive number of seconds",
            "`trap_period 0.0` in <check ping> is not a positive number of seconds",
            "`timeout -0.5` in <check ping> is not a positive number of seconds",
        ])
        #expect(problems.first?.description.hasPrefix("\(self.common):39: ") == true)
    }

    @Test func unknownCheckName() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common + "<check http>\n</check>\n"))
        #expect(problem.location.line == 38)
        #expect(problem.message == "unknown check `http`")
    }

    @Test func sslSocketNeedsCertificates() {
        let problems = TestConfigs.problems(common: TestConfigs.common + "<socket>\n    type ssl\n    cert_file /etc/c.pem\n</socket>\n")
        #expect(problems.map(\.message) == [
            "<socket> has no `key_file`, which agent needs",
            "<socket> has no `ca_file`, which agent needs",
        ])
        #expect(problems.allSatisfy { $0.location.line == 38 })
    }

    @Test func endpointExecIsRequiredAndAbsolute() {
        let missing = TestConfigs.problems(common: TestConfigs.common(replacingLine: 4, with: "    cluster_interface eth0\n    endpoint_provider exec"))
        #expect(missing.map(\.location.line) == [5, 5])
        #expect(missing.first?.message == "<host db1> uses `endpoint_provider exec` but has no `endpoint_exec`")
        let relative = TestConfigs.problems(
            common: TestConfigs.common(replacingLine: 4, with: "    cluster_interface eth0\n    endpoint_provider exec\n    endpoint_exec mover.sh")
        )
        #expect(relative.map(\.location.line) == [6])
        #expect(relative.first?.message == "`endpoint_exec` in <host default> is not an absolute path")
    }

    @Test func shortAgentSecretIsRejected() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common + "agent_secret short-one\n"))
        #expect(problem.location.line == 38)
        #expect(!problem.description.contains("short-one"))
    }

    @Test func badMonitorPublicKeyIsRejectedWithItsLine() throws {
        let problem = try self.only(TestConfigs.problems(common: TestConfigs.common + "monitor_public_key abc=\n"))
        #expect(problem.location.line == 38)
        #expect(problem.description.contains("monitor_public_key"))
        #expect(problem.description.contains("--generate-signing-key"))
    }

    @Test func monitorKeysLoad() throws {
        let key = "gBSZWcFvjsFXfp1CntmS0RgdckQSNGm9D2P+4ke3g8A="
        let monitor = TestConfigs.monitor.replacing(
            "</monitor>", with: "    monitor_signing_key /etc/mysql-mmm/monitor.key\n</monitor>"
        )
        let directory = TestConfigs.directory([
            "mmm_common.conf": TestConfigs.common + "monitor_public_key \(key)\n", "mmm_mon.conf": monitor,
        ])
        let configuration = try directory.loadMonitor()
        #expect(configuration.monitorPublicKey == key)
        #expect(configuration.monitor?.signingKeyPath == "/etc/mysql-mmm/monitor.key")
    }

    @Test func newDirectivesLoadWithTheirValues() throws {
        let common = TestConfigs.common + """
            agent_secret         0123456789abcdef0123
            lease_timeout        1.5
            lease_safety_margin  0.5
            <check mysql>
                recovery_period  3
            </check>

            """
        let monitor = TestConfigs.monitor.replacing(
            "</monitor>",
            with: "    failover_policy zero_loss\n    drain_timeout 4.5\n    drain_timeout_action skip\n"
                + "    cadence_report_interval 10\n</monitor>"
        )
        let directory = TestConfigs.directory(["mmm_common.conf": common, "mmm_mon.conf": monitor])
        let configuration = try directory.loadMonitor()
        #expect(configuration.leaseTimeout == .milliseconds(1500))
        #expect(configuration.leaseSafetyMargin == .milliseconds(500))
        #expect(configuration.checks.mysql.recoveryPeriod == .seconds(3))
        #expect(configuration.checks.ping.recoveryPeriod == .seconds(1))
        let monitorSection = try #require(configuration.monitor)
        #expect(monitorSection.failoverPolicy == .zeroLoss)
        #expect(monitorSection.drainTimeout == .milliseconds(4500))
        #expect(monitorSection.drainTimeoutAction == .skip)
        #expect(monitorSection.cadenceReportInterval == .seconds(10))
        #expect(configuration.protocolSecret(forHost: "db1") == .configured(Secret("0123456789abcdef0123")))
    }

    @Test func protocolSecretIsDerivedFromTheAgentPasswordWithoutAgentSecret() throws {
        let configuration = try TestConfigs.directory([
            "mmm_common.conf": TestConfigs.common, "mmm_agent.conf": TestConfigs.agent,
        ]).loadAgent()
        #expect(configuration.protocolSecret(forHost: "db2") == .derivedFromAgentPassword(Secret("Agent-Pass#2")))
        #expect(configuration.protocolSecret(forHost: "nope") == nil)
    }

    @Test func everyProblemIsReportedAtOnce() {
        var common = TestConfigs.common(replacingLine: 18, with: "    peer db1")
        common = common.replacing("    ip   192.168.1.102", with: "    ip   192.168.1.101")
        common = common.replacing("    hosts  db1, db2\n    ips    192.168.1.210", with: "    hosts  db1, db4\n    ips    192.168.1.210\n    prefer db5")
        common += "bogus_directive 1\n"
        let problems = TestConfigs.problems(common: common, program: .agent)
        #expect(problems.map(\.location.line) == [18, 22, 28, 30, 39])
    }

    @Test func configurationIsReturnedOnlyWithoutErrors() {
        let result = TestConfigs.directory([
            "mmm_common.conf": TestConfigs.common(replacingLine: 18, with: "    peer db1"),
            "mmm_agent.conf": TestConfigs.agent,
        ]).validate("mmm_agent.conf", program: .agent)
        #expect(result.hasErrors)
        #expect(result.configuration == nil)
    }
}
