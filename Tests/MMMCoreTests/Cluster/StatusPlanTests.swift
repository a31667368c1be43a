import MMMCore
import Testing

@Suite("StatusPlan: what each agent is told")
struct StatusPlanTests {
    static let writer = ClusterFixtures.writer
    static let reader = ClusterFixtures.readers[0]

    /// The seed's two masters, an exclusive writer and one balanced reader IP.
    static let topology = try! ClusterTopology(  // a valid literal; a failure is a broken fixture
        hosts: [
            HostSpec(name: "db1", ip: "192.168.0.31", mode: .master, peer: "db2"),
            HostSpec(name: "db2", ip: "192.168.0.32", mode: .master, peer: "db1"),
        ],
        roles: [
            RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2"], ips: [writer.ip]),
            RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2"], ips: [reader.ip]),
        ],
        activeMasterRole: "writer"
    )

    /// Both hosts ONLINE, one of them the writer, the other the reader.
    static func settled() -> ClusterStateMachine {
        ClusterStateMachine.running(topology: Self.topology)
    }

    @Test("a host is sent its state, its roles, the writer as active master, and the epoch")
    func statusCarriesAssignment() {
        let machine = Self.settled()
        let writer = machine.writer!  // settled() promotes one master
        let plan = StatusPlan(writerRoleIP: Self.writer)
        let status = plan.status(for: writer, machine: machine, epoch: 7)
        #expect(status.state == .online)
        #expect(status.roles.contains(Self.writer))
        #expect(status.activeMaster == writer)
        #expect(status.epoch == 7)
    }

    @Test("a role IP another host may still hold is held back until that host acknowledges it dropped it")
    func holdsBackClaimedRoles() {
        let machine = Self.settled()
        let readerHolder = machine.assignment.holder(of: Self.reader)!
        let other = readerHolder == "db1" ? "db2" : "db1"
        var plan = StatusPlan(writerRoleIP: Self.writer, claims: [other: [Self.reader]])
        #expect(!plan.status(for: readerHolder, machine: machine, epoch: 1).roles.contains(Self.reader))
        plan.acknowledged(roles: [], by: other)
        #expect(plan.status(for: readerHolder, machine: machine, epoch: 1).roles.contains(Self.reader))
    }

    @Test("an unreachable host loses its claims on every role IP but the writer's")
    func unreachableKeepsOnlyWriterClaim() {
        var plan = StatusPlan(writerRoleIP: Self.writer, claims: ["db1": [Self.writer, Self.reader]])
        plan.unreachable("db1")
        #expect(plan.claims["db1"] == [Self.writer])
        #expect(plan.writerClaims(except: "db2") == ["db1"])
        plan.writerFenced("db1")
        #expect(plan.writerClaims(except: "db2").isEmpty)
    }

    @Test("an acknowledged status without the writer does not clear a writer claim: only fencing does")
    func acknowledgementKeepsWriterClaim() {
        var plan = StatusPlan(writerRoleIP: Self.writer)
        plan.publishing([Self.writer, Self.reader], to: "db1")
        plan.acknowledged(roles: [Self.reader], by: "db1")
        #expect(plan.claims["db1"] == [Self.writer, Self.reader])
        #expect(plan.writerClaims(except: "db2") == ["db1"])
        #expect(plan.writerClaims(except: "db1").isEmpty)
    }

    @Test("the writer IP is handed over only once it was seen on a told holder and every other host confirmed it has not got it")
    func handedOverNeedsVerifiedIPAndEveryOtherHost() {
        let machine = Self.settled()
        let writer = machine.writer!
        let other = writer == "db1" ? "db2" : "db1"
        var plan = StatusPlan(writerRoleIP: Self.writer)
        plan.publishing([Self.writer], to: writer)
        plan.interfaceRead(of: other, holdsWriterIP: false, told: false)
        // Nobody was seen holding it yet: a machine outside the cluster may answer for it, so the take is probed.
        #expect(plan.status(for: writer, machine: machine, epoch: 1).handedOver.isEmpty)
        plan.interfaceRead(of: writer, holdsWriterIP: true, told: true)
        #expect(plan.writerIPVerified)
        #expect(plan.status(for: writer, machine: machine, epoch: 1).handedOver == [Self.writer.ip])
        // The other host is seen with it: no more handover.
        plan.interfaceRead(of: other, holdsWriterIP: true, told: false)
        #expect(plan.status(for: writer, machine: machine, epoch: 1).handedOver.isEmpty)
        // A host without the writer role is never handed it.
        #expect(plan.status(for: other, machine: machine, epoch: 1).handedOver.isEmpty)
    }

    @Test("only a fence its own agent answered confirms the IP gone; telling the host to hold the IP again revokes it")
    func onlyAgentConfirmedFencesCount() {
        let machine = Self.settled()
        let writer = machine.writer!
        let other = writer == "db1" ? "db2" : "db1"
        var plan = StatusPlan(writerRoleIP: Self.writer)
        plan.publishing([Self.writer], to: other)
        plan.interfaceRead(of: other, holdsWriterIP: true, told: true)
        // Fenced over SQL, killed or waited out: the host may still have the IP up.
        plan.writerFenced(other)
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver.isEmpty)
        plan.writerFenced(other, confirmed: true)
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver == [Self.writer.ip])
        // An empty interface read while it is still told to hold the IP proves nothing, but does not undo the fence.
        plan.interfaceRead(of: other, holdsWriterIP: false, told: true)
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver == [Self.writer.ip])
        plan.publishing([Self.writer], to: other)
        #expect(!plan.withoutWriterIP.contains(other))
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver.isEmpty)
        // Told to hold it, an empty read may predate the take: it does not confirm.
        plan.interfaceRead(of: other, holdsWriterIP: false, told: true)
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver.isEmpty)
    }

    /// Issue 17: a frozen old writer's kernel keeps answering ARP for the writer IP; probing would refuse the IP for
    /// as long as it stays frozen. Once its lease has certainly run out (or `kill_host_bin` stopped it), the new writer
    /// is handed the IP; a host fenced over SQL (its host runs, its agent may still hold the IP) is not.
    @Test("a lease that ran out or a kill hands the writer IP over; a fence over SQL does not", arguments: [
        (FenceLadder.How.leaseRanOut, true), (.killed, true), (.agent(readOnly: true), true), (.agent(readOnly: false), true),
        (.sqlThroughCandidate, false),
    ])
    func fenceKindsAndHandOver(how: FenceLadder.How, handsOver: Bool) {
        let machine = Self.settled()
        let writer = machine.writer!
        let other = writer == "db1" ? "db2" : "db1"
        var plan = StatusPlan(writerRoleIP: Self.writer, claims: [other: [Self.writer]])
        plan.publishing([Self.writer], to: writer)
        plan.interfaceRead(of: writer, holdsWriterIP: true, told: true)
        plan.publishing([Self.writer], to: other)
        #expect(plan.writerClaims(except: writer) == [other])
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver.isEmpty)
        plan.writerFenced(other, by: how)
        #expect(plan.writerClaims(except: writer).isEmpty, "fenced, whatever the way: no writer claim is left")
        #expect(plan.status(for: writer, machine: machine, epoch: 2).handedOver == (handsOver ? [Self.writer.ip] : []))
    }

    @Test("a host with errant transactions is not told to follow the writer")
    func errantHostFollowsNobody() {
        var machine = Self.settled()
        let writer = machine.writer!
        let other = writer == "db1" ? "db2" : "db1"
        _ = machine.gtidCompared(host: other, errant: ["0-2-15"], at: .seconds(3))
        let plan = StatusPlan(writerRoleIP: Self.writer)
        #expect(plan.status(for: other, machine: machine, epoch: 1).activeMaster == nil)
        #expect(plan.status(for: writer, machine: machine, epoch: 1).activeMaster == writer)
    }
}
