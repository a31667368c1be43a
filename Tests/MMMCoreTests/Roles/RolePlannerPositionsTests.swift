import MMMCore
import Testing

/// The writer candidate chosen by how much it has (DESIGN.md §4 step 3, fact R12): ``RolePlanner/mostAdvanced(among:positions:)``
/// and its use by the planner.
@Suite struct RolePlannerPositionsTests {
    private let writer = ClusterFixtures.writer

    private static let online = HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: true)
    private static let onlineNoWriter = HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: false)

    /// db1 and db2 masters, db3 a replica; all three may hold the writer role.
    static func threeWriters(prefer: String? = nil) -> ClusterTopology {
        // The literal topology is valid; a failure here is a broken fixture.
        try! ClusterTopology(
            hosts: [
                HostSpec(name: "db1", ip: "192.168.0.31", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "192.168.0.32", mode: .master, peer: "db1"),
                HostSpec(name: "db3", ip: "192.168.0.33", mode: .slave),
            ],
            roles: [
                RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2", "db3"], ips: ["192.168.0.50"], prefer: prefer),
                RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2", "db3"], ips: ["192.168.0.51", "192.168.0.52"]),
            ],
            activeMasterRole: "writer"
        )
    }

    /// A position from its text; the literals are valid.
    static func position(_ text: String) -> GTIDPosition {
        try! GTIDPosition(parsing: text)
    }

    /// Positions where received and applied are the same.
    static func at(_ text: String) -> ReplicationPositions {
        ReplicationPositions(received: Self.position(text), applied: Self.position(text))
    }

    private func plan(
        _ topology: ClusterTopology,
        current: [RoleIP: String] = [:],
        eligibility: [String: HostEligibility],
        mode: MonitorMode = .active,
        positions: [String: ReplicationPositions]
    ) -> RolePlan {
        RolePlanner(topology: topology).plan(
            current: RoleAssignment(holders: current),
            eligibility: eligibility,
            mode: mode,
            writerInTransit: nil,
            positions: positions
        )
    }

    /// db1 (the old writer) gone, db2 and db3 may write.
    private static let db1Gone: [String: HostEligibility] = ["db1": .none, "db2": Self.online, "db3": Self.online]

    @Test func anOrphanedWriterGoesToTheMostAdvancedHostNotTheFirstInConfigurationOrder() {
        let plan = self.plan(Self.threeWriters(), eligibility: Self.db1Gone, positions: ["db2": Self.at("0-1-5"), "db3": Self.at("0-1-7")])
        #expect(plan.writerCandidate == "db3")
        #expect(plan.assignment.holder(of: self.writer) == nil)
    }

    @Test(arguments: [MonitorMode.active, .manual, .wait])
    func thePreferredHostIsPassedOverWhenAnotherReceivedMore(mode: MonitorMode) {
        let plan = self.plan(
            Self.threeWriters(prefer: "db2"), eligibility: Self.db1Gone, mode: mode,
            positions: ["db2": Self.at("0-1-3,1-1-5"), "db3": Self.at("0-1-3,1-1-7")]
        )
        #expect(plan.writerCandidate == "db3")
    }

    @Test func aDomainOnlyTheOtherHostHasCountsAsBehind() {
        let plan = self.plan(
            Self.threeWriters(prefer: "db2"), eligibility: Self.db1Gone,
            positions: ["db2": Self.at("0-1-3"), "db3": Self.at("0-1-3,1-1-1")]
        )
        #expect(plan.writerCandidate == "db3")
    }

    @Test func equalPositionsKeepThePreferredHost() {
        let plan = self.plan(
            Self.threeWriters(prefer: "db3"), eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online],
            positions: ["db1": Self.at("0-1-7"), "db2": Self.at("0-1-7"), "db3": Self.at("0-2-7")]
        )
        #expect(plan.writerCandidate == "db3", "server IDs do not decide")
    }

    @Test func equalPositionsWithoutPreferKeepTheFirstLeastLoadedHost() {
        let plan = self.plan(Self.threeWriters(), eligibility: Self.db1Gone, positions: ["db2": Self.at("0-1-7"), "db3": Self.at("0-1-7")])
        #expect(plan.writerCandidate == "db2")
    }

    @Test func aHostWithAnUnknownPositionNeverBeatsOneKnownToHaveReceivedSomething() {
        let plan = self.plan(Self.threeWriters(prefer: "db2"), eligibility: Self.db1Gone, positions: ["db3": Self.at("0-1-1")])
        #expect(plan.writerCandidate == "db3")
    }

    @Test func withNoPositionKnownTheCandidateIsChosenAsBefore() {
        for prefer in [nil, "db2", "db3"] {
            let planner = RolePlanner(topology: Self.threeWriters(prefer: prefer))
            let without = planner.plan(current: RoleAssignment(), eligibility: Self.db1Gone, mode: .active, writerInTransit: nil)
            let withEmpty = planner.plan(current: RoleAssignment(), eligibility: Self.db1Gone, mode: .active, writerInTransit: nil, positions: [:])
            #expect(without == withEmpty)
            #expect(without.writerCandidate == (prefer ?? "db2"))
        }
    }

    @Test func appliedDecidesBetweenHostsThatReceivedTheSame() {
        let positions = [
            "db2": ReplicationPositions(received: Self.position("0-1-9"), applied: Self.position("0-1-7")),
            "db3": ReplicationPositions(received: Self.position("0-1-9"), applied: Self.position("0-1-9")),
        ]
        let plan = self.plan(Self.threeWriters(prefer: "db2"), eligibility: Self.db1Gone, positions: positions)
        #expect(plan.writerCandidate == "db3")
    }

    @Test func receivedOutranksApplied() {
        let positions = [
            "db2": ReplicationPositions(received: Self.position("0-1-9"), applied: Self.position("0-1-5")),
            "db3": ReplicationPositions(received: Self.position("0-1-8"), applied: Self.position("0-1-8")),
        ]
        let plan = self.plan(Self.threeWriters(prefer: "db3"), eligibility: Self.db1Gone, positions: positions)
        #expect(plan.writerCandidate == "db2")
    }

    @Test func whatAHostCommittedCountsAsReceived() {
        // db2 is not a replica (no Gtid_IO_Pos) but has 0-1-9 in its binlog: ahead of db3's relay log.
        let positions = [
            "db2": ReplicationPositions(received: .empty, applied: Self.position("0-1-9")),
            "db3": ReplicationPositions(received: Self.position("0-1-8"), applied: Self.position("0-1-8")),
        ]
        #expect(positions["db2"]?.received == Self.position("0-1-9"))
        let plan = self.plan(Self.threeWriters(prefer: "db3"), eligibility: Self.db1Gone, positions: positions)
        #expect(plan.writerCandidate == "db2")
    }

    @Test func incomparablePositionsKeepTheUsualOrder() {
        // Each has a transaction the other lacks: neither is behind the other.
        let positions = ["db2": Self.at("0-1-5,2-2-3"), "db3": Self.at("0-1-7,2-2-1")]
        #expect(self.plan(Self.threeWriters(prefer: "db2"), eligibility: Self.db1Gone, positions: positions).writerCandidate == "db2")
        #expect(self.plan(Self.threeWriters(prefer: "db3"), eligibility: Self.db1Gone, positions: positions).writerCandidate == "db3")
    }

    @Test func aHostThatMayNotWriteIsNotCompared() {
        // db3 received more but its replication checks fail: it neither becomes writer nor holds db2 back.
        let plan = self.plan(
            Self.threeWriters(), eligibility: ["db1": .none, "db2": Self.online, "db3": Self.onlineNoWriter],
            positions: ["db2": Self.at("0-1-5"), "db3": Self.at("0-1-7")]
        )
        #expect(plan.writerCandidate == "db2")
    }

    @Test func theLiveHolderDoesNotHoldBackAMoveToThePreferredHost() {
        // ACTIVE mode moves the writer to `prefer`; the promotion drains db1 to the fenced holder's binlog first.
        let plan = self.plan(
            Self.threeWriters(prefer: "db1"), current: [self.writer: "db2"],
            eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.onlineNoWriter],
            positions: ["db1": Self.at("0-1-5"), "db2": Self.at("0-1-9"), "db3": Self.at("0-1-9")]
        )
        #expect(plan.writerCandidate == "db1")
        #expect(plan.assignment.holder(of: self.writer) == nil)
    }

    @Test func aPreferredHostBehindAnotherThatMayWriteWaitsAndTheHolderKeepsTheRole() {
        let plan = self.plan(
            Self.threeWriters(prefer: "db1"), current: [self.writer: "db2"],
            eligibility: ["db1": Self.online, "db2": Self.online, "db3": Self.online],
            positions: ["db1": Self.at("0-1-5"), "db2": Self.at("0-1-9"), "db3": Self.at("0-1-7")]
        )
        #expect(plan.writerCandidate == nil)
        #expect(plan.assignment.holder(of: self.writer) == "db2")
    }

    @Test func mostAdvancedKeepsEveryMaximalHost() {
        let positions = [
            "a": Self.at("0-1-5"), "b": Self.at("0-1-7"), "c": Self.at("0-1-5,1-2-1"), "d": Self.at("0-1-7"),
        ]
        #expect(RolePlanner.mostAdvanced(among: ["a", "b", "c", "d", "e"], positions: positions) == ["b", "c", "d"])
        #expect(RolePlanner.mostAdvanced(among: ["a", "e"], positions: positions) == ["a"])
        #expect(RolePlanner.mostAdvanced(among: ["e", "f"], positions: positions) == ["e", "f"])
        #expect(RolePlanner.mostAdvanced(among: [], positions: positions).isEmpty)
    }

    @Test func positionsParseFromTheAgentsText() throws {
        let positions = try ReplicationPositions(
            receivedPosition: "1-1-11,0-1-3", slavePosition: "0-1-3,1-1-9", binlogPosition: "0-1-3,1-1-9,2-2-1"
        )
        #expect(positions.received == Self.position("0-1-3,1-1-11,2-2-1"))
        #expect(positions.applied == Self.position("0-1-3,1-1-9,2-2-1"))
        #expect(throws: MMMError.self) {
            try ReplicationPositions(receivedPosition: "x", slavePosition: "", binlogPosition: "")
        }
    }
}

/// Over random eligibilities, positions, holders and modes: the planner's writer candidate is never behind another host
/// that may become writer and has a known position (the live holder excepted), a writer role without holder gets a
/// candidate whenever some host may write, and with no position known the plan is the one MMM's order gives.
@Suite struct RolePlannerPositionsPropertyTests {
    static let cases = 20_000

    /// Strictly ahead, as ``RolePlanner/mostAdvanced(among:positions:)`` defines it, written out per domain.
    static func isStrictlyAhead(_ ahead: GTIDPosition, of behind: GTIDPosition) -> Bool {
        let domains = Set(ahead.domains).union(behind.domains)
        var more = false
        for domain in domains {
            let theirs = ahead[domain: domain]?.sequence
            let ours = behind[domain: domain]?.sequence
            switch (theirs, ours) {
            case (nil, .some): return false
            case (.some, nil): more = true
            case (let theirs?, let ours?):
                if theirs < ours { return false }
                if theirs > ours { more = true }
            case (nil, nil): break
            }
        }
        return more
    }

    static func randomPosition(_ random: inout SplitMix64) -> GTIDPosition {
        var position = GTIDPosition()
        for domain in UInt32(0)...2 {
            let sequence = UInt64.random(in: 0...4, using: &random)
            // Sequence 0 means the domain is absent, half the time, and present at 0 otherwise.
            if sequence == 0, Bool.random(using: &random) { continue }
            position.update(GTID(domain: domain, serverID: UInt32.random(in: 1...3, using: &random), sequence: sequence))
        }
        return position
    }

    static func randomPositions(_ random: inout SplitMix64) -> ReplicationPositions {
        let received = Self.randomPosition(&random)
        var applied = GTIDPosition()
        for gtid in received.gtids where Bool.random(using: &random) || Bool.random(using: &random) {
            var lower = gtid
            lower.sequence = UInt64.random(in: 0...gtid.sequence, using: &random)
            applied.update(lower)
        }
        return ReplicationPositions(received: received, applied: applied)
    }

    @Test func theCandidateIsNeverBehindAnotherHostThatMayWrite() {
        var random = SplitMix64(seed: 0x6774_6964)
        let eligibilities: [HostEligibility] = [
            .none,
            HostEligibility(isOnline: true, canReceiveRoles: false, canBecomeWriter: false),
            HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: false),
            HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: true),
            HostEligibility(isOnline: true, canReceiveRoles: true, canBecomeWriter: true),
        ]
        let hosts = ["db1", "db2", "db3"]
        let writerIP = ClusterFixtures.writer
        var candidates = 0
        var passedOver = 0
        var failures: [String] = []
        for index in 0..<Self.cases {
            let prefer = [nil, "db1", "db2", "db3"][Int.random(in: 0...3, using: &random)]
            let topology = RolePlannerPositionsTests.threeWriters(prefer: prefer)
            let planner = RolePlanner(topology: topology)
            let mode = [MonitorMode.active, .active, .manual, .wait][Int.random(in: 0...3, using: &random)]
            var eligibility: [String: HostEligibility] = [:]
            var positions: [String: ReplicationPositions] = [:]
            for host in hosts {
                eligibility[host] = eligibilities[Int.random(in: 0..<eligibilities.count, using: &random)]
                if Int.random(in: 0..<4, using: &random) > 0 { positions[host] = Self.randomPositions(&random) }
            }
            var current = RoleAssignment()
            if Bool.random(using: &random) { current.assign(writerIP, to: hosts[Int.random(in: 0...2, using: &random)]) }
            let plan = planner.plan(current: current, eligibility: eligibility, mode: mode, writerInTransit: nil, positions: positions)
            let asBefore = planner.plan(current: current, eligibility: eligibility, mode: mode, writerInTransit: nil)
            let liveHolder = current.holder(of: writerIP).flatMap { eligibility[$0]?.isOnline == true ? $0 : nil }
            let mayWrite = hosts.filter { $0 != liveHolder && eligibility[$0]?.canBecomeWriter == true }
            let context = "case \(index): prefer \(prefer ?? "-"), mode \(mode), holder \(liveHolder ?? "-"), "
                + "may write \(mayWrite), positions \(positions.mapValues { "\($0.received)/\($0.applied)" })"
            if let candidate = plan.writerCandidate {
                candidates += 1
                if candidate != asBefore.writerCandidate { passedOver += 1 }
                if !mayWrite.contains(candidate) { failures.append("\(context): candidate \(candidate) may not write") }
                let mine = positions[candidate]?.received ?? .empty
                for other in mayWrite where other != candidate {
                    guard let theirs = positions[other]?.received, Self.isStrictlyAhead(theirs, of: mine) else { continue }
                    failures.append("\(context): candidate \(candidate) is behind \(other)")
                }
            } else if liveHolder == nil, !mayWrite.isEmpty {
                failures.append("\(context): no candidate for a writer role without holder")
            }
            if liveHolder != nil, let candidate = plan.writerCandidate, candidate != prefer {
                failures.append("\(context): a live holder's role moves only to prefer, not to \(candidate)")
            }
            if positions.isEmpty || mayWrite.allSatisfy({ positions[$0] == nil }) {
                if plan.writerCandidate != asBefore.writerCandidate {
                    let got = String(describing: plan.writerCandidate)
                    failures.append("\(context): no position known, yet \(got) instead of \(String(describing: asBefore.writerCandidate))")
                }
            }
            if failures.count > 5 { break }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        // Not vacuous: candidates were chosen, and often not the one MMM's order alone would give.
        #expect(candidates > Self.cases / 3, "candidates: \(candidates)")
        #expect(passedOver > Self.cases / 20, "candidates other than MMM's: \(passedOver)")
        print("planner candidates: \(Self.cases) cases, \(candidates) candidates, \(passedOver) other than MMM's order alone")
    }

    @Test("hostsAhead: a host that received what the candidate lacks, in any domain, is ahead; unread hosts are not")
    func hostsAhead() {
        let positions: [String: ReplicationPositions] = [
            "db2": ReplicationPositions(received: RolePlannerPositionsTests.position("0-1-107"), applied: RolePlannerPositionsTests.position("0-1-19")),
            "db3": ReplicationPositions(received: RolePlannerPositionsTests.position("0-1-117"), applied: RolePlannerPositionsTests.position("0-1-4")),
            "db4": RolePlannerPositionsTests.at("0-1-100"),
            "db5": RolePlannerPositionsTests.at("0-1-107,1-5-3"),
        ]
        // The zero-loss model's trace: db3 received (and ACKed) 117 while db2, the candidate, had 107.
        #expect(RolePlanner.hostsAhead(of: "db2", among: ["db3", "db4", "db5", "db9"], positions: positions) == ["db3", "db5"])
        #expect(RolePlanner.hostsAhead(of: "db3", among: ["db2", "db4"], positions: positions).isEmpty)
        #expect(RolePlanner.hostsAhead(of: "db9", among: ["db4"], positions: positions) == ["db4"], "an unread candidate has nothing")
        #expect(RolePlanner.hostsAhead(of: "db2", among: ["db2"], positions: positions).isEmpty)
    }
}

/// Who a promotion asks again for positions before the drain (the hosts that may have ACKed).
@Suite struct PeersThatMayHaveACKedTests {
    @Test("the writer role's masters other than the candidate and the old writer; a slave never, a host offline never")
    func peers() {
        let topology = try! ClusterTopology(  // a valid literal; a failure is a broken fixture
            hosts: [
                HostSpec(name: "db1", ip: "192.168.0.31", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "192.168.0.32", mode: .master, peer: "db1"),
                HostSpec(name: "db3", ip: "192.168.0.33", mode: .master, peer: "db1"),
                HostSpec(name: "db4", ip: "192.168.0.34", mode: .slave),
            ],
            roles: [
                RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2", "db3", "db4"], ips: ["192.168.0.50"]),
                RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2"], ips: ["192.168.0.51"]),
            ],
            activeMasterRole: "writer"
        )
        var machine = ClusterStateMachine.running(topology: topology)
        #expect(machine.peersThatMayHaveACKed(except: "db2", previousWriter: "db1") == ["db3"])
        #expect(machine.peersThatMayHaveACKed(except: "db3", previousWriter: nil) == ["db1", "db2"])
        _ = machine.setOfflineRequested(host: "db3", agentReachable: true, at: .seconds(5))
        #expect(machine.peersThatMayHaveACKed(except: "db2", previousWriter: "db1").isEmpty, "ADMIN_OFFLINE db3")
    }
}
