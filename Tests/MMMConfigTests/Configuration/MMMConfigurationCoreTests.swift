import MMMConfig
import MMMCore
import Testing

/// The seed's files, once loaded, drive the decision core: config and core agree on hosts, roles and policies.
@Suite struct MMMConfigurationCoreTests {
    @Test func seedTopologyReachesTheCore() throws {
        let configuration = try TestConfigs.directory(try TestConfigs.fixtureFiles("seed-fixed")).loadMonitor()
        let topology = try configuration.clusterTopology()
        #expect(topology.hosts.map(\.name) == ["db1", "db2"])
        #expect(topology.hosts.map(\.ip) == ["192.168.1.101", "192.168.1.102"])
        #expect(topology.hosts.map(\.mode) == [.master, .master])
        #expect(topology.hosts.map(\.peer) == ["db2", "db1"])
        #expect(topology.writerRoleIP == RoleIP(role: "writer", ip: "192.168.1.210"))
        #expect(topology.roles.first { $0.name == "reader" }?.mode == .balanced)
        #expect(topology.allRoleIPs.count == 2)
    }

    @Test func seedPolicyKeepsMMMsMeaningOfZeroAndTheSeedsValues() throws {
        let configuration = try TestConfigs.directory(try TestConfigs.fixtureFiles("seed-fixed")).loadMonitor()
        let policy = configuration.clusterPolicy()
        #expect(policy.autoSetOnline == .seconds(60), "the seed sets auto_set_online 60")
        #expect(policy.initialMode == .active)
        #expect(policy.flapCount == 3 && policy.flapDuration == .seconds(3600))
        let checks = configuration.checkPolicies()
        #expect(checks.count == CheckKind.allCases.count)
        #expect(checks[.mysql]?.trapPeriod == configuration.checks.mysql.trapPeriod)
        #expect(checks[.repBacklog]?.maxBacklog == 60)

        var zero = configuration
        zero.monitor?.autoSetOnline = .zero
        zero.monitor?.waitForOtherMaster = .zero
        #expect(zero.clusterPolicy().autoSetOnline == nil)
        #expect(zero.clusterPolicy().waitForOtherMaster == nil)
    }

    @Test func fastDefaultsReachTheCoreWhenDirectivesAreAbsent() throws {
        // TestConfigs.monitor has no <check> section and no auto_set_online.
        let configuration = try TestConfigs.directory(["mmm_common.conf": TestConfigs.common, "mmm_mon.conf": TestConfigs.monitor])
            .loadMonitor()
        let expected: [(CheckKind, period: Duration, trap: Duration, timeout: Duration)] = [
            (.ping, .milliseconds(250), .seconds(1), .milliseconds(500)),
            (.mysql, .milliseconds(250), .milliseconds(750), .milliseconds(500)),
            (.repThreads, .milliseconds(500), .milliseconds(1500), .seconds(1)),
            (.repBacklog, .seconds(1), .seconds(3), .seconds(1)),
        ]
        let policies = configuration.checkPolicies()
        for (kind, period, trap, timeout) in expected {
            let check = configuration.checks[kind]
            #expect(check.checkPeriod == period, "\(kind)")
            #expect(check.trapPeriod == trap, "\(kind)")
            #expect(check.timeout == timeout, "\(kind)")
            #expect(check.recoveryPeriod == .seconds(1), "\(kind)")
            #expect(check.maxBacklog == .seconds(60), "\(kind)")
            #expect(check.restartAfter == 10000, "\(kind)")
            #expect(policies[kind] == CheckPolicy(trapPeriod: trap, recoveryPeriod: .seconds(1), maxBacklog: 60), "\(kind)")
        }
        #expect(configuration.monitor?.autoSetOnline == .seconds(10))
        #expect(configuration.clusterPolicy().autoSetOnline == .seconds(10))
    }

    @Test func writtenDirectivesOverrideTheDefaults() throws {
        let checks = "<check default>\n    check_period 5\n</check>\n<check mysql>\n    trap_period 10\n    timeout 2\n</check>\n"
        let monitor = TestConfigs.monitor.replacing("</monitor>", with: "    auto_set_online 0\n</monitor>")
        let configuration = try TestConfigs.directory(["mmm_common.conf": TestConfigs.common + checks, "mmm_mon.conf": monitor])
            .loadMonitor()
        #expect(configuration.checks.ping.checkPeriod == .seconds(5))
        #expect(configuration.checks.ping.trapPeriod == .seconds(1))
        #expect(configuration.checks.mysql.checkPeriod == .seconds(5))
        #expect(configuration.checks.mysql.trapPeriod == .seconds(10))
        #expect(configuration.checks.mysql.timeout == .seconds(2))
        #expect(configuration.checkPolicies()[.mysql]?.trapPeriod == .seconds(10))
        #expect(configuration.monitor?.autoSetOnline == .zero)
        #expect(configuration.clusterPolicy().autoSetOnline == nil, "an explicit auto_set_online 0 disables it")
    }

    @Test func seedClusterAssignsTheWriterOnlyThroughADrain() throws {
        let configuration = try TestConfigs.directory(try TestConfigs.fixtureFiles("seed-fixed")).loadMonitor()
        var machine = ClusterStateMachine(
            topology: try configuration.clusterTopology(), policy: configuration.clusterPolicy(),
            checkPolicies: configuration.checkPolicies(), at: .zero
        )
        _ = machine.started(at: .zero)
        for host in ["db1", "db2"] {
            for check in CheckKind.allCases {
                _ = machine.probeCompleted(host: host, check: check, outcome: .ok(message: ""), at: .zero)
            }
            _ = machine.agentAnswered(host: host, uptime: .seconds(1000), at: .zero)
        }
        let reply = machine.setOnlineRequested(host: "db1", agentReachable: true, at: .seconds(1))
        #expect(reply.text.hasPrefix("OK: State of 'db1' changed to ONLINE."))
        #expect(reply.actions.contains(.drainThenPromote(host: "db1", previousWriter: nil)))
        #expect(machine.writer == nil, "no writer before the drain is confirmed")
        _ = machine.promotionDrained(host: "db1", at: .seconds(2))
        #expect(machine.writer == "db1")
    }

    @Test func missingActiveMasterRoleIsAClearError() throws {
        var configuration = try TestConfigs.directory(try TestConfigs.fixtureFiles("seed-fixed")).loadMonitor()
        configuration.activeMasterRole = nil
        let error = #expect(throws: MMMError.self) { try configuration.clusterTopology() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("active_master_role writer") == true)
    }
}
