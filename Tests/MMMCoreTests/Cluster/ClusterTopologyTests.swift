import MMMCore
import Testing

@Suite struct ClusterTopologyTests {
    @Test func sampleTopologyIsValid() {
        let topology = ClusterFixtures.topology()
        #expect(topology.writerRoleIP == ClusterFixtures.writer)
        #expect(topology.allRoleIPs == [ClusterFixtures.writer] + ClusterFixtures.readers)
        #expect(topology.peer(of: "db1", activeMaster: "db1") == "db2")
        #expect(topology.peer(of: "db3", activeMaster: "db2") == "db2")
        #expect(topology.peer(of: "db3", activeMaster: nil) == nil)
    }

    @Test func exclusiveRoleUsesOnlyItsFirstIP() {
        let role = RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1"], ips: ["10.0.0.1", "10.0.0.2"])
        #expect(role.effectiveIPs == ["10.0.0.1"])
    }

    @Test func everyInconsistencyIsReportedAtOnce() {
        #expect {
            try ClusterTopology(
                hosts: [
                    HostSpec(name: "db1", ip: "10.0.0.1", mode: .master, peer: "db1"),
                    HostSpec(name: "db2", ip: "10.0.0.2", mode: .master),
                ],
                roles: [
                    RoleSpec(name: "writer", mode: .balanced, hosts: ["db1", "db7"], ips: ["10.0.0.50"], prefer: "db3"),
                    RoleSpec(name: "reader", mode: .balanced, hosts: ["db1"], ips: ["10.0.0.50"]),
                ],
                activeMasterRole: "writer"
            )
        } throws: { error in
            guard let error = error as? MMMError, error.code == .invalidConfiguration else { return false }
            let expected = [
                "host 'db1' names itself as peer; write the other master's name",
                "master 'db2' has no peer; add 'peer OTHER_MASTER'",
                "role 'writer' names unknown host 'db7'; define a host section for it",
                "role 'writer' prefers 'db3', which is not one of its hosts",
                "ip 10.0.0.50 is used by roles 'writer' and 'reader'; give each its own IP",
                "active master role 'writer' must be 'mode exclusive'",
            ]
            return error.message == expected.joined(separator: "\n")
        }
    }

    @Test func missingWriterRoleIsAnError() {
        #expect(throws: MMMError.self) {
            try ClusterTopology(hosts: [HostSpec(name: "db3", ip: "10.0.0.3", mode: .slave)], roles: [], activeMasterRole: "writer")
        }
    }

    @Test func snapshotStatusFileLines() {
        let machine = ClusterStateMachine.running()
        let lines = machine.snapshot.statusFileLines
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("db1|ONLINE|"))
        #expect(lines[0].contains("writer(192.168.0.50)"))
    }
}
