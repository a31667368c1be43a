import MMMCore
import Testing

@Suite struct AgentPlannerTests {
    static let writer = RoleIP(role: "writer", ip: "198.18.0.200")
    static let reader1 = RoleIP(role: "reader", ip: "198.18.0.201")
    static let reader2 = RoleIP(role: "reader", ip: "198.18.0.202")

    func plan(
        _ roles: [RoleIP], follow: String? = nil, held: Set<String> = [], writable: Bool = false,
        following: String? = nil, lease: Bool = true, this: String = "db1"
    ) -> [AgentAction] {
        AgentPlanner.plan(
            this: this, writerRole: "writer", knownRoles: [Self.writer, Self.reader1, Self.reader2],
            desired: AgentDesire(roles: roles, follow: follow),
            observed: AgentObservation(heldIPs: held, writable: writable, following: following),
            leaseAllowsWriting: lease
        )
    }

    @Test func aNewWriterIsPromotedBeforeItTakesTheWriterIP() {
        #expect(
            self.plan([Self.writer, Self.reader1], held: [Self.reader1.ip], following: "db2")
                == [.promote, .acquireIP(Self.writer)]
        )
    }

    @Test func onlyAHandedOverIPIsTakenWithoutTheDuplicateAddressProbe() {
        let actions = AgentPlanner.plan(
            this: "db1", writerRole: "writer", knownRoles: [Self.writer, Self.reader1],
            desired: AgentDesire(roles: [Self.writer, Self.reader1], follow: nil, handedOver: [Self.writer.ip]),
            observed: AgentObservation(heldIPs: [], writable: false, following: "db2"),
            leaseAllowsWriting: true
        )
        #expect(actions == [.promote, .acquireIP(Self.writer, probe: false), .acquireIP(Self.reader1, probe: true)])
    }

    @Test func aDemotedWriterFencesBeforeItDropsTheVIPAndThenFollowsTheNewWriter() {
        #expect(
            self.plan([Self.reader1], follow: "db2", held: [Self.writer.ip, Self.reader1.ip], writable: true)
                == [.fence, .releaseIP(Self.writer), .follow(writer: "db2")]
        )
    }

    @Test func anExpiredLeaseFencesEvenWhenTheLastStatusSaidWriter() {
        #expect(
            self.plan([Self.writer], held: [Self.writer.ip], writable: true, lease: false)
                == [.fence, .releaseIP(Self.writer)]
        )
    }

    @Test func aWriterThatIsAlreadyWritableOnlyTakesMissingIPs() {
        #expect(self.plan([Self.writer], writable: true) == [.acquireIP(Self.writer)])
        #expect(self.plan([Self.writer], held: [Self.writer.ip], writable: true).isEmpty)
    }

    @Test func stoppedReplicationStartsOnlyUnderANewInstruction() {
        let stopped = AgentObservation(heldIPs: [], writable: false, following: "db2", replicating: false)
        // The monitor just named db2 (a returning host it cleared): replication from db2 is started.
        #expect(
            AgentPlanner.plan(
                this: "db1", writerRole: "writer", desired: AgentDesire(roles: [], follow: "db2", followIsNew: true),
                observed: stopped, leaseAllowsWriting: true
            ) == [.follow(writer: "db2")]
        )
        // Same instruction as before: an operator's STOP SLAVE is left alone (REPLICATION_FAIL shows it).
        #expect(
            AgentPlanner.plan(
                this: "db1", writerRole: "writer", desired: AgentDesire(roles: [], follow: "db2"),
                observed: stopped, leaseAllowsWriting: true
            ).isEmpty
        )
    }

    @Test func theWriterIPIsTakenBeforeReaderIPs() {
        // Regression: a reader IP still held by the failed old writer made the round stop before the writer IP.
        #expect(
            self.plan([Self.reader1, Self.writer], writable: true)
                == [.acquireIP(Self.writer), .acquireIP(Self.reader1)]
        )
    }

    @Test func theWriterClosesTheRingOnlyWhenTheMonitorNamesItsPeer() {
        // Until the monitor has checked the peer, the writer's status names the writer itself: nothing to do.
        #expect(self.plan([Self.writer], follow: "db1", held: [Self.writer.ip], writable: true).isEmpty)
        // Then it names the peer: the writer, still writable, replicates from it.
        #expect(
            self.plan([Self.writer], follow: "db2", held: [Self.writer.ip], writable: true)
                == [.follow(writer: "db2")]
        )
    }

    @Test func aHostWithoutFollowDoesNotReplicate() {
        // A returning host before the monitor's errant check: nil follow, nothing to repoint.
        #expect(self.plan([], held: [], following: nil).isEmpty)
        #expect(self.plan([], follow: "db1", this: "db1").isEmpty, "never follows itself")
        #expect(self.plan([], follow: "db2", following: "db2").isEmpty, "already following")
    }

    @Test func strayIPsAreReleasedAndReadersSwap() {
        #expect(
            self.plan([Self.reader2], held: [Self.reader1.ip, "198.18.0.250"])
                == [
                    .releaseIP(Self.reader1),
                    .releaseIP(RoleIP(role: "unassigned", ip: "198.18.0.250")),
                    .acquireIP(Self.reader2),
                ]
        )
    }

    /// Random desires and observations: the safety order holds, and executing the plan reaches a fixed point.
    @Test func plansAreSafeAndConverge() {
        var random = SplitMix64(seed: 0xA6E47)
        let pool = [Self.writer, Self.reader1, Self.reader2, RoleIP(role: "reader", ip: "198.18.0.203")]
        let hosts = ["db1", "db2", "db3"]
        for _ in 0..<20_000 {
            let roles = pool.filter { _ in random.next(in: 0...2) == 0 }
            let desire = AgentDesire(roles: roles, follow: random.next(in: 0...3) == 0 ? nil : hosts[random.next(in: 0...2)])
            var observed = AgentObservation(
                heldIPs: Set(pool.filter { _ in random.next(in: 0...2) == 0 }.map(\.ip)),
                writable: random.next(in: 0...1) == 0,
                following: random.next(in: 0...2) == 0 ? nil : hosts[random.next(in: 0...2)]
            )
            let lease = random.next(in: 0...4) > 0
            let mustWrite = roles.contains(Self.writer) && lease
            let actions = AgentPlanner.plan(
                this: "db1", writerRole: "writer", desired: desire, observed: observed, leaseAllowsWriting: lease
            )
            // Safety: the writer IP is only taken by a writable host, and a host that must not write fences first.
            var writable = observed.writable
            for (index, action) in actions.enumerated() {
                switch action {
                case .fence:
                    #expect(index == 0, "fence comes first: \(actions)")
                    writable = false
                case .promote:
                    #expect(mustWrite)
                    writable = true
                case .acquireIP(let roleIP, _):
                    #expect(roles.contains(roleIP))
                    if roleIP.role == "writer" { #expect(writable && mustWrite, "writer IP on a read-only host: \(actions)") }
                case .releaseIP(let roleIP):
                    if roleIP.ip == Self.writer.ip && observed.writable && !mustWrite {
                        #expect(actions.first == .fence, "VIP dropped before fencing: \(actions)")
                    }
                case .follow(let writer):
                    #expect(writer != "db1", "never follows itself")
                    #expect(index == actions.count - 1, "following comes last, after any fence or promotion: \(actions)")
                }
            }
            if observed.writable && !mustWrite { #expect(actions.first == .fence) }
            // Execute on a model of the host and plan again: nothing left to do.
            for action in actions {
                switch action {
                case .fence: observed.writable = false
                case .promote:
                    observed.writable = true
                    observed.following = nil
                case .releaseIP(let roleIP): observed.heldIPs.remove(roleIP.ip)
                case .acquireIP(let roleIP, _): observed.heldIPs.insert(roleIP.ip)
                case .follow(let writer): observed.following = writer
                }
            }
            let again = AgentPlanner.plan(
                this: "db1", writerRole: "writer", desired: desire, observed: observed, leaseAllowsWriting: lease
            )
            #expect(again.isEmpty, "not converged: \(actions) then \(again)")
            #expect(observed.writable == mustWrite || (!mustWrite && !observed.writable))
        }
    }
}
