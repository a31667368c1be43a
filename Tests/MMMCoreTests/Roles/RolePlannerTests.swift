import MMMCore
import Testing

@Suite struct RolePlannerTests {
    private let writer = ClusterFixtures.writer
    private let readers = ClusterFixtures.readers

    private static let online = HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: true)
    private static let onlineNoWriter = HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: false)
    private static let onlineAgentDown = HostEligibility(isOnline: true, canReceiveRoles: false, canBecomeWriter: false)

    private func plan(
        _ topology: ClusterTopology = ClusterFixtures.topology(),
        current: [RoleIP: String] = [:],
        eligibility: [String: HostEligibility],
        mode: MonitorMode = .active,
        inTransit: String? = nil
    ) -> RolePlan {
        RolePlanner(topology: topology).plan(
            current: RoleAssignment(holders: current),
            eligibility: eligibility,
            mode: mode,
            writerInTransit: inTransit
        )
    }

    @Test func orphanedWriterGoesToFirstLeastLoadedHostAsACandidateOnly() {
        let plan = self.plan(eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online])
        #expect(plan.writerCandidate == "db1")
        #expect(plan.assignment.holder(of: self.writer) == nil)
    }

    @Test func orphanedWriterPrefersThePreferredHost() {
        let plan = self.plan(
            ClusterFixtures.topology(writerPrefer: "db2"),
            eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online]
        )
        #expect(plan.writerCandidate == "db2")
    }

    @Test func preferredHostThatCannotWriteIsSkipped() {
        let plan = self.plan(
            ClusterFixtures.topology(writerPrefer: "db2"),
            eligibility: ["db1": Self.online, "db2": Self.onlineNoWriter, "db3": Self.online]
        )
        #expect(plan.writerCandidate == "db1")
    }

    @Test func noWriterCandidateWithoutAnEligibleHost() {
        let plan = self.plan(eligibility: ["db1": Self.onlineNoWriter, "db2": .none, "db3": Self.online])
        #expect(plan.writerCandidate == nil)
        #expect(plan.assignment.holder(of: self.writer) == nil)
    }

    @Test func noWriterPlanningWhileAPromotionIsInTransit() {
        let plan = self.plan(eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online], inTransit: "db2")
        #expect(plan.writerCandidate == nil)
    }

    @Test func readersSpreadEvenlyWithTheWriterCountingHalf() {
        let plan = self.plan(
            current: [self.writer: "db1"],
            eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online]
        )
        for host in ["db1", "db2", "db3"] {
            #expect(plan.assignment.roles(of: host).filter { $0.role == "reader" }.count == 1)
        }
    }

    @Test func readersRebalanceOntoAReturningHost() {
        let current: [RoleIP: String] = [self.writer: "db1", self.readers[0]: "db2", self.readers[1]: "db2", self.readers[2]: "db1"]
        let plan = self.plan(current: current, eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online])
        #expect(plan.assignment.roles(of: "db3").count == 1)
        #expect(plan.assignment.roles(of: "db2").count == 1)
        // The writer is never moved by balancing.
        #expect(plan.assignment.holder(of: self.writer) == "db1")
    }

    @Test func twoHostsWithThreeReadersStayWithinOneRole() {
        // db1: writer (0.5) + reader, db2: two readers -> 1.5 vs 2: balanced, MMM's stable state.
        let topology = ClusterFixtures.topology(readerHosts: ["db1", "db2"])
        let plan = self.plan(topology, current: [self.writer: "db1"], eligibility: ["db1": Self.online, "db2": Self.online])
        #expect(plan.assignment.roles(of: "db1").count == 2)
        #expect(plan.assignment.roles(of: "db2").count == 2)
    }

    @Test func rolesLeaveHostsThatAreNotOnline() {
        let current: [RoleIP: String] = [self.writer: "db1", self.readers[0]: "db1", self.readers[1]: "db2", self.readers[2]: "db3"]
        let plan = self.plan(current: current, eligibility: ["db1": .none, "db2": Self.online, "db3": Self.online])
        #expect(plan.assignment.roles(of: "db1").isEmpty)
        #expect(plan.writerCandidate == "db2")
        #expect(plan.assignment.holders.count == 3)
    }

    @Test func agentDownHostKeepsRolesButGetsNothingNew() {
        let current: [RoleIP: String] = [self.writer: "db1", self.readers[0]: "db3"]
        let plan = self.plan(current: current, eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.onlineAgentDown])
        #expect(plan.assignment.roles(of: "db3") == [self.readers[0]])
        #expect(plan.assignment.holders.count == 4)
    }

    @Test(arguments: [MonitorMode.active, .manual, .wait])
    func preferIsObeyedOnlyInActiveMode(mode: MonitorMode) {
        let plan = self.plan(
            ClusterFixtures.topology(writerPrefer: "db1"),
            current: [self.writer: "db2"],
            eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online],
            mode: mode
        )
        if mode == .active {
            #expect(plan.assignment.holder(of: self.writer) == nil)
            #expect(plan.writerCandidate == "db1")
        } else {
            #expect(plan.assignment.holder(of: self.writer) == "db2")
            #expect(plan.writerCandidate == nil)
        }
    }

    @Test func planningIsIdempotent() {
        let eligibility = ["db1": Self.online, "db2": Self.online, "db3": Self.online]
        let first = self.plan(current: [self.writer: "db2"], eligibility: eligibility)
        let second = self.plan(current: first.assignment.holders, eligibility: eligibility)
        #expect(second.assignment == first.assignment)
        #expect(second.writerCandidate == nil)
    }
}
