import MMMCore

/// The sample cluster of MMM's `mmm_common.conf`: two masters and a slave, writer .50, readers .51-.53.
enum ClusterFixtures {
    static func topology(writerPrefer: String? = nil, readerHosts: [String] = ["db1", "db2", "db3"]) -> ClusterTopology {
        // The literal topology is valid; a failure here is a broken fixture.
        try! ClusterTopology(
            hosts: [
                HostSpec(name: "db1", ip: "192.168.0.31", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "192.168.0.32", mode: .master, peer: "db1"),
                HostSpec(name: "db3", ip: "192.168.0.33", mode: .slave),
            ],
            roles: [
                RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2"], ips: ["192.168.0.50"], prefer: writerPrefer),
                RoleSpec(
                    name: "reader",
                    mode: .balanced,
                    hosts: readerHosts,
                    ips: ["192.168.0.51", "192.168.0.52", "192.168.0.53"]
                ),
            ],
            activeMasterRole: "writer"
        )
    }

    static let writer = RoleIP(role: "writer", ip: "192.168.0.50")
    static let readers = ["192.168.0.51", "192.168.0.52", "192.168.0.53"].map { RoleIP(role: "reader", ip: $0) }

    /// Checks reported immediately (no trap period) so tests script states directly.
    static let immediateChecks: [CheckKind: CheckPolicy] = Dictionary(
        uniqueKeysWithValues: CheckKind.allCases.map { ($0, CheckPolicy(trapPeriod: .zero)) }
    )
}

extension ClusterStateMachine {
    /// A fresh monitor (no status file) at t=0 with every check of every host reported OK.
    static func fresh(
        topology: ClusterTopology = ClusterFixtures.topology(),
        policy: ClusterPolicy = ClusterPolicy()
    ) -> ClusterStateMachine {
        var machine = ClusterStateMachine(
            topology: topology,
            policy: policy,
            checkPolicies: ClusterFixtures.immediateChecks,
            at: .zero
        )
        _ = machine.started(at: .zero)
        for host in topology.hosts {
            _ = machine.report(host.name, .allOK, at: .zero)
            _ = machine.agentAnswered(host: host.name, uptime: .seconds(1000), at: .zero)
        }
        return machine
    }

    /// A running cluster: every host set ONLINE, db1 promoted after its drain and seen holding the role, readers
    /// balanced.
    static func running(
        topology: ClusterTopology = ClusterFixtures.topology(),
        policy: ClusterPolicy = ClusterPolicy()
    ) -> ClusterStateMachine {
        var machine = Self.fresh(topology: topology, policy: policy)
        for host in topology.hosts {
            _ = machine.setOnlineRequested(host: host.name, agentReachable: true, at: .seconds(1))
        }
        if let pending = machine.pendingPromotion {
            _ = machine.promotionDrained(host: pending.host, at: .seconds(2))
            machine.writerTaken(host: pending.host, at: .seconds(2))
        }
        return machine
    }

    /// Feeds one probe result per check so the debounced status becomes `status` (checks left nil are skipped).
    mutating func report(_ host: String, _ status: HostCheckStatus, at now: MonitorInstant) -> [ClusterAction] {
        var actions: [ClusterAction] = []
        for check in CheckKind.allCases {
            guard let ok = status[check] else { continue }
            let outcome: CheckOutcome = ok ? .ok(message: "OK") : .failed(message: "ERROR: scripted")
            actions += self.probeCompleted(host: host, check: check, outcome: outcome, at: now)
        }
        return actions
    }

    /// Roles of `host`, sorted.
    func roles(of host: String) -> [RoleIP] {
        self.assignment.roles(of: host)
    }
}

extension HostCheckStatus {
    static let unreachable = HostCheckStatus(ping: false, mysql: false, repThreads: true, repBacklog: true)
    static let mysqlDown = HostCheckStatus(ping: true, mysql: false, repThreads: true, repBacklog: true)
    static let replicationBroken = HostCheckStatus(ping: true, mysql: true, repThreads: false, repBacklog: true)
    static let replicationLagging = HostCheckStatus(ping: true, mysql: true, repThreads: true, repBacklog: false)
}

extension ClusterStateMachine {
    /// Answers every ``ClusterAction/crossCheckWriter(host:via:)`` in `actions`: every asked host reaches the writer
    /// (`reachable`), or none does; returns the actions of the answers.
    mutating func answerCrossChecks(in actions: [ClusterAction], reachable: Bool, at now: MonitorInstant) -> [ClusterAction] {
        var answers: [ClusterAction] = []
        for case .crossCheckWriter(let host, let via) in actions {
            answers += self.writerCrossChecked(
                host: host,
                reachableFrom: reachable ? via : [],
                unreachableFrom: reachable ? [] : via,
                at: now
            )
        }
        return answers
    }

    /// Reports `status` for `host` like ``report(_:_:at:)``, and when that makes the machine cross-check the writer,
    /// answers that no asked host reaches it either (the writer really is down). Returns every action.
    mutating func reportConfirmed(_ host: String, _ status: HostCheckStatus, at now: MonitorInstant) -> [ClusterAction] {
        let actions = self.report(host, status, at: now)
        return actions + self.answerCrossChecks(in: actions, reachable: false, at: now)
    }
}
