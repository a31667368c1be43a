import MMMCore
import Testing

/// The machine's writer candidate after a failure is the host that has the most (DESIGN.md §4 step 3, fact R12), by
/// the positions ``ClusterStateMachine/positionsObserved(host:received:applied:at:)`` records.
@Suite struct WriterCandidateTests {
    /// A machine on `topology` with every host ONLINE and every drain confirmed (in ACTIVE mode the writer ends on
    /// `prefer`).
    static func settled(_ topology: ClusterTopology, mode: MonitorMode) -> ClusterStateMachine {
        var machine = ClusterStateMachine.fresh(topology: topology, policy: ClusterPolicy(initialMode: mode))
        for host in topology.hosts {
            _ = machine.setOnlineRequested(host: host.name, agentReachable: true, at: .seconds(1))
        }
        for second in 2..<6 {
            guard let pending = machine.pendingPromotion else { break }
            _ = machine.promotionDrained(host: pending.host, at: .seconds(second))
        }
        return machine
    }

    static func observe(_ machine: inout ClusterStateMachine, _ host: String, _ text: String, at now: MonitorInstant = .seconds(10)) {
        let position = RolePlannerPositionsTests.position(text)
        #expect(machine.positionsObserved(host: host, received: position, applied: position, at: now).isEmpty)
    }

    static func drains(_ actions: [ClusterAction]) -> [String] {
        actions.compactMap { if case .drainThenPromote(let host, _) = $0 { host } else { nil } }
    }

    @Test func aFailedWriterIsReplacedByTheHostThatReceivedMoreNotByThePreferredOne() {
        // MANUAL mode keeps db1 the writer although db2 is preferred; `prefer` still picks an orphaned writer's host.
        var machine = Self.settled(RolePlannerPositionsTests.threeWriters(prefer: "db2"), mode: .manual)
        #expect(machine.writer == "db1")
        var withoutPositions = machine
        Self.observe(&machine, "db1", "0-1-3,1-1-12")
        Self.observe(&machine, "db2", "0-1-3,1-1-9")
        Self.observe(&machine, "db3", "0-1-3,1-1-11")
        let actions = machine.reportConfirmed("db1", .unreachable, at: .seconds(20))
        #expect(machine.state(of: "db1") == .hardOffline)
        #expect(actions.contains(.drainThenPromote(host: "db3", previousWriter: "db1")))
        #expect(Self.drains(actions) == ["db3"])
        // Without positions, MMM's order would have chosen db2, which db3 could not replicate from (IO error 1236).
        #expect(Self.drains(withoutPositions.reportConfirmed("db1", .unreachable, at: .seconds(20))) == ["db2"])
    }

    @Test func inActiveModeTheFirstInConfigurationOrderIsPassedOverWhenBehind() {
        var machine = Self.settled(RolePlannerPositionsTests.threeWriters(prefer: "db2"), mode: .active)
        #expect(machine.writer == "db2")
        var withoutPositions = machine
        Self.observe(&machine, "db1", "0-1-3,2-2-4")
        Self.observe(&machine, "db3", "0-1-3,2-2-5")
        let actions = machine.reportConfirmed("db2", .mysqlDown, at: .seconds(20))
        #expect(Self.drains(actions) == ["db3"])
        #expect(Self.drains(withoutPositions.reportConfirmed("db2", .mysqlDown, at: .seconds(20))) == ["db1"])
    }

    @Test func aHostWithoutKnownPositionsDoesNotBeatOneThatReported() {
        var machine = Self.settled(RolePlannerPositionsTests.threeWriters(prefer: "db2"), mode: .manual)
        Self.observe(&machine, "db3", "0-1-3")
        #expect(Self.drains(machine.reportConfirmed("db1", .unreachable, at: .seconds(20))) == ["db3"])
    }

    @Test func aCandidateThatCannotDrainGivesWayToTheNextMostAdvanced() {
        let topology = try! ClusterTopology(  // literal, valid
            hosts: [
                HostSpec(name: "db1", ip: "192.168.0.31", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "192.168.0.32", mode: .master, peer: "db1"),
                HostSpec(name: "db3", ip: "192.168.0.33", mode: .slave),
                HostSpec(name: "db4", ip: "192.168.0.34", mode: .slave),
            ],
            roles: [RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2", "db3", "db4"], ips: ["192.168.0.50"])],
            activeMasterRole: "writer"
        )
        var machine = Self.settled(topology, mode: .manual)
        #expect(machine.writer == "db1")
        Self.observe(&machine, "db2", "0-1-5")
        Self.observe(&machine, "db3", "0-1-8")
        Self.observe(&machine, "db4", "0-1-7")
        #expect(Self.drains(machine.reportConfirmed("db1", .unreachable, at: .seconds(20))) == ["db3"])
        #expect(Self.drains(machine.drainFailed(host: "db3", reason: "timeout", at: .seconds(25))) == ["db4"])
    }

    @Test func positionsAreForgottenWhenTheHostLeavesOnlineAndUnknownHostsIgnored() {
        var machine = Self.settled(RolePlannerPositionsTests.threeWriters(), mode: .manual)
        Self.observe(&machine, "db3", "0-1-9")
        #expect(machine.replicationPositions["db3"]?.received == RolePlannerPositionsTests.position("0-1-9"))
        _ = machine.report("db3", .unreachable, at: .seconds(20))
        #expect(machine.state(of: "db3") == .hardOffline)
        #expect(machine.replicationPositions["db3"] == nil)
        #expect(machine.positionsObserved(host: "db9", received: .empty, applied: .empty, at: .seconds(21)).isEmpty)
        #expect(machine.replicationPositions["db9"] == nil)
    }

    @Test func appliedIsFoldedIntoReceived() {
        var machine = Self.settled(RolePlannerPositionsTests.threeWriters(), mode: .manual)
        let applied = RolePlannerPositionsTests.position("0-1-9")
        let received = RolePlannerPositionsTests.position("0-1-7,1-2-1")
        _ = machine.positionsObserved(host: "db2", received: received, applied: applied, at: .seconds(10))
        #expect(machine.replicationPositions["db2"]?.received == RolePlannerPositionsTests.position("0-1-9,1-2-1"))
        #expect(machine.replicationPositions["db2"]?.applied == applied)
    }
}

/// Over random eligibilities (replication broken or lagging, agent down, errant GTIDs), random positions (some
/// unknown, some incomparable) and modes: when the writer dies, every candidate the machine drains (the first, and
/// each next one after a failed drain, and a move back to `prefer` after a promotion) is never behind another host that
/// may become writer and reported its positions; and some host is drained whenever one may become writer.
@Suite struct WriterCandidatePropertyTests {
    static let sequences = 3_000

    static let topology = try! ClusterTopology(  // literal, valid
        hosts: [
            HostSpec(name: "db1", ip: "10.0.0.1", mode: .master, peer: "db2"),
            HostSpec(name: "db2", ip: "10.0.0.2", mode: .master, peer: "db1"),
            HostSpec(name: "db3", ip: "10.0.0.3", mode: .slave),
            HostSpec(name: "db4", ip: "10.0.0.4", mode: .slave),
        ],
        roles: [
            RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2", "db3"], ips: ["10.0.0.50"]),
            RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2", "db3", "db4"], ips: ["10.0.0.51", "10.0.0.52"]),
        ],
        activeMasterRole: "writer"
    )

    static func topology(prefer: String?) -> ClusterTopology {
        guard let prefer else { return Self.topology }
        var roles = Self.topology.roles
        roles[0].prefer = prefer
        return try! ClusterTopology(hosts: Self.topology.hosts, roles: roles, activeMasterRole: "writer")  // valid variant
    }

    /// Violations of the rule by the candidate of `actions`' drain, if any; `except` is a live holder it drains to.
    static func check(_ actions: [ClusterAction], _ machine: ClusterStateMachine, except holder: String?, context: String) -> [String] {
        var violations: [String] = []
        for case .drainThenPromote(let candidate, _) in actions {
            let mine = machine.replicationPositions[candidate]?.received ?? .empty
            for other in machine.topology.writerRole.hosts where other != candidate && other != holder {
                guard machine.eligibility(of: other).canBecomeWriter, let theirs = machine.replicationPositions[other]?.received,
                    RolePlannerPositionsPropertyTests.isStrictlyAhead(theirs, of: mine)
                else { continue }
                violations.append("\(context): \(candidate) (\(mine)) drained although \(other) has \(theirs)")
            }
        }
        return violations
    }

    @Test func theDrainedCandidateIsNeverBehindAnotherHostThatMayWrite() {
        var random = SplitMix64(seed: 0x00C4_4D1D)
        var violations: [String] = []
        var chosen = 0
        var retried = 0
        var failBacks = 0
        for sequence in 0..<Self.sequences {
            let prefer = [nil, "db1", "db2", "db3"][Int.random(in: 0...3, using: &random)]
            let mode: MonitorMode = Bool.random(using: &random) ? .active : .manual
            var machine = WriterCandidateTests.settled(Self.topology(prefer: prefer), mode: mode)
            guard let dead = machine.writer else {
                violations.append("sequence \(sequence): no writer after settling")
                continue
            }
            var now = MonitorInstant.seconds(10)
            for host in machine.topology.hosts.map(\.name) where host != dead {
                switch Int.random(in: 0..<20, using: &random) {
                case 0..<3: _ = machine.report(host, .replicationBroken, at: now)
                case 3..<5: _ = machine.report(host, .replicationLagging, at: now)
                case 5..<7: _ = machine.agentUnreachable(host: host, at: now)
                case 7: _ = machine.gtidCompared(host: host, errant: ["0-9-1"], at: now)
                default: break
                }
            }
            func observeRandomly(_ host: String) {
                guard Int.random(in: 0..<5, using: &random) > 0 else { return }
                let positions = RolePlannerPositionsPropertyTests.randomPositions(&random)
                _ = machine.positionsObserved(host: host, received: positions.received, applied: positions.applied, at: now)
            }
            for host in machine.topology.hosts.map(\.name) { observeRandomly(host) }
            now = now + .seconds(1)
            var actions = machine.reportConfirmed(dead, .unreachable, at: now)
            let context = "sequence \(sequence) (prefer \(prefer ?? "-"), \(mode), \(dead) dies)"
            for round in 0..<4 {
                violations += Self.check(actions, machine, except: nil, context: "\(context) round \(round)")
                guard let pending = machine.pendingPromotion?.host else {
                    let eligible = machine.topology.writerRole.hosts.filter { machine.eligibility(of: $0).canBecomeWriter }
                    if !eligible.isEmpty { violations.append("\(context) round \(round): nobody drained although \(eligible) may write") }
                    break
                }
                if round == 0 { chosen += 1 } else { retried += 1 }
                now = now + .seconds(1)
                let changed = machine.topology.hosts.map(\.name)[Int.random(in: 0..<4, using: &random)]
                observeRandomly(changed)
                if Int.random(in: 0..<3, using: &random) == 0 {
                    // Promoted; then the dead host comes back, and in ACTIVE mode the role may move on to `prefer`
                    // (drained to the live holder first, so the holder is not compared).
                    var actions = machine.promotionDrained(host: pending, at: now)
                    violations += Self.check(actions, machine, except: pending, context: "\(context) after \(pending)'s promotion")
                    if machine.writer == pending {
                        now = now + .seconds(1)
                        observeRandomly(dead)
                        actions = machine.report(dead, .allOK, at: now)
                        actions += machine.setOnlineRequested(host: dead, agentReachable: true, at: now).actions
                        if !Self.drains(actions).isEmpty { failBacks += 1 }
                        violations += Self.check(actions, machine, except: pending, context: "\(context) after \(dead) came back")
                    }
                    break
                }
                actions = machine.drainFailed(host: pending, reason: "timeout", at: now)
            }
            if violations.count > 5 { break }
        }
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
        #expect(chosen > Self.sequences / 2, "candidates chosen: \(chosen)")
        #expect(retried > Self.sequences / 10, "next candidates after a failed drain: \(retried)")
        #expect(failBacks > 0, "moves back to prefer: \(failBacks)")
        print(
            "writer candidates: \(Self.sequences) sequences, first candidates \(chosen), "
                + "next after a failed drain \(retried), moves back to prefer \(failBacks)"
        )
    }

    static func drains(_ actions: [ClusterAction]) -> [String] {
        WriterCandidateTests.drains(actions)
    }
}
