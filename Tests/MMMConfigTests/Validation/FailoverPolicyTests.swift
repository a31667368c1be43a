import Foundation
import MMMConfig
import Testing

/// `failover_policy` at the top level (agents and monitor) and in `<monitor>` (monitor only), and `semi_sync_timeout`.
@Suite struct FailoverPolicyTests {
    private let common = TestConfigs.path("mmm_common.conf")
    private let monitorFile = TestConfigs.path("mmm_mon.conf")

    /// The monitor file with `extra` added inside `<monitor>`.
    private func monitor(with extra: String) -> String {
        TestConfigs.monitor.replacingOccurrences(of: "</monitor>", with: "    \(extra)\n</monitor>")
    }

    private func validate(common: String, monitor: String = TestConfigs.monitor, program: ConfigProgram) -> ConfigValidation {
        TestConfigs.directory(["mmm_common.conf": common, "mmm_agent.conf": TestConfigs.agent, "mmm_mon.conf": monitor])
            .validate(ConfigDirectory.fileName(for: program, cluster: nil), program: program)
    }

    @Test func defaultsWhenNotWritten() throws {
        let configuration = try #require(self.validate(common: TestConfigs.common, program: .monitor).configuration)
        #expect(configuration.failoverPolicy == .default)
        #expect(configuration.monitor?.failoverPolicy == .default)
        #expect(configuration.semiSyncTimeout == .seconds(10))
    }

    @Test func topLevelReachesTheAgentAndTheMonitor() throws {
        let common = "failover_policy zero_loss\nsemi_sync_timeout 2.5\n" + TestConfigs.common
        let agent = self.validate(common: common, program: .agent)
        #expect(agent.problems.isEmpty, "\(agent.problems)")
        #expect(agent.configuration?.failoverPolicy == .zeroLoss)
        #expect(agent.configuration?.semiSyncTimeout == .milliseconds(2500))
        let monitor = try #require(self.validate(common: common, program: .monitor).configuration)
        #expect(monitor.failoverPolicy == .zeroLoss)
        #expect(monitor.monitor?.failoverPolicy == .zeroLoss)
    }

    @Test func monitorSectionFormStillWorksAndWarnsThatAgentsDoNotSeeIt() throws {
        let result = self.validate(common: TestConfigs.common, monitor: self.monitor(with: "failover_policy zero_loss"), program: .monitor)
        let configuration = try #require(result.configuration)
        #expect(configuration.monitor?.failoverPolicy == .zeroLoss)
        #expect(configuration.failoverPolicy == .zeroLoss)
        #expect(result.problems.count == 1)
        let warning = try #require(result.problems.first)
        #expect(warning.severity == .warning)
        #expect(warning.location == SourceLocation(file: self.monitorFile, line: 9))
        #expect(warning.fix == "move `failover_policy zero_loss` to the top level of mmm_common.conf")
    }

    @Test func bothFormsAgreeingIsFine() throws {
        let result = self.validate(
            common: "failover_policy zero_loss\n" + TestConfigs.common, monitor: self.monitor(with: "failover_policy ZERO_LOSS"),
            program: .monitor
        )
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.configuration?.monitor?.failoverPolicy == .zeroLoss)
    }

    @Test func bothFormsDifferingIsAnErrorNamingBothPlaces() throws {
        let result = self.validate(
            common: "failover_policy zero_loss\n" + TestConfigs.common, monitor: self.monitor(with: "failover_policy default"),
            program: .monitor
        )
        #expect(result.configuration == nil)
        #expect(result.problems.count == 1)
        let problem = try #require(result.problems.first)
        #expect(problem.description == """
            \(self.monitorFile):9: `failover_policy default` in <monitor> differs from `failover_policy zero_loss` at the \
            top level (\(self.common):1); write `failover_policy` once, at the top level of mmm_common.conf (the agents \
            read it there too), or make both say the same
            """)
    }

    @Test func unknownPolicyAtTheTopLevel() throws {
        let result = self.validate(common: "failover_policy lossless\n" + TestConfigs.common, program: .agent)
        let problem = try #require(result.problems.first)
        #expect(result.problems.count == 1)
        #expect(problem.location == SourceLocation(file: self.common, line: 1))
        #expect(problem.fix == "write `failover_policy default` or `failover_policy zero_loss`")
    }

    @Test(arguments: ["0", "-1", "soon", "3601", "0.0001"])
    func badSemiSyncTimeout(text: String) throws {
        let result = self.validate(common: "semi_sync_timeout \(text)\n" + TestConfigs.common, program: .agent)
        #expect(result.configuration == nil)
        let problem = try #require(result.problems.first)
        #expect(result.problems.count == 1)
        #expect(problem.location == SourceLocation(file: self.common, line: 1))
        #expect(problem.message.contains("semi_sync_timeout \(text)"))
    }
}
