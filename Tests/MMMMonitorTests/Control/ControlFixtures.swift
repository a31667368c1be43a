import MMMControl
import MMMCore
import MMMMonitor

/// The seed's cluster (`000_c635dcbebcf7ebeb.txt`): db1 and db2 masters, writer .210 exclusive, reader .220 balanced.
enum ControlFixtures {
    static func topology(writerPrefer: String? = nil) -> ClusterTopology {
        // The literal topology is valid; a failure here is a broken fixture.
        try! ClusterTopology(
            hosts: [
                HostSpec(name: "db1", ip: "192.168.1.101", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "192.168.1.102", mode: .master, peer: "db1"),
            ],
            roles: [
                RoleSpec(name: "writer", mode: .exclusive, hosts: ["db1", "db2"], ips: ["192.168.1.210"], prefer: writerPrefer),
                RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2"], ips: ["192.168.1.220"]),
            ],
            activeMasterRole: "writer"
        )
    }

    static let writer = RoleIP(role: "writer", ip: "192.168.1.210")
    static let reader = RoleIP(role: "reader", ip: "192.168.1.220")
    static let bothAgents: Set<String> = ["db1", "db2"]

    /// The seed's clock: monitor instant zero is 2024/04/29 07:17:40 UTC.
    static let seedEpoch: Int64 = 1_714_375_060
    static let time: @Sendable (MonitorInstant) -> String = { instant in
        ChecksFormatter.timestamp(unixSeconds: seedEpoch + instant.sinceOrigin.components.seconds)
    }

    /// Checks reported immediately (no trap period) so tests script states directly.
    static let immediateChecks: [CheckKind: CheckPolicy] = Dictionary(
        uniqueKeysWithValues: CheckKind.allCases.map { ($0, CheckPolicy(trapPeriod: .zero)) }
    )

    /// The seed's healthy results: `OK` for three checks, `OK: Backlog is null` for rep_backlog.
    static func healthyOutcome(_ check: CheckKind) -> CheckOutcome {
        check == .repBacklog ? .ok(message: "OK: Backlog is null") : .ok(message: "OK")
    }

    /// A fresh monitor at t=0 whose checks all passed with the seed's messages (hosts AWAITING_RECOVERY).
    static func fresh(mode: MonitorMode = .active, writerPrefer: String? = nil) -> ClusterStateMachine {
        var policy = ClusterPolicy()
        policy.initialMode = mode
        var machine = ClusterStateMachine(
            topology: topology(writerPrefer: writerPrefer),
            policy: policy,
            checkPolicies: immediateChecks,
            at: .zero
        )
        _ = machine.started(at: .zero)
        for host in ["db1", "db2"] {
            for check in CheckKind.allCases {
                _ = machine.probeCompleted(host: host, check: check, outcome: healthyOutcome(check), at: .zero)
            }
            _ = machine.agentAnswered(host: host, uptime: .seconds(1000), at: .zero)
        }
        return machine
    }

    /// Both hosts set ONLINE, the writer's drain confirmed: the seed's running cluster.
    static func running(writerPrefer: String? = nil) -> ClusterStateMachine {
        var machine = fresh(writerPrefer: writerPrefer)
        for host in ["db1", "db2"] {
            _ = machine.setOnlineRequested(host: host, agentReachable: true, at: .seconds(1))
        }
        if let pending = machine.pendingPromotion {
            _ = machine.promotionDrained(host: pending.host, at: .seconds(2))
            machine.writerTaken(host: pending.host, at: .seconds(2))
        }
        return machine
    }

    /// Runs one request through the dispatcher with both agents reachable at t=10.
    static func handle(
        _ line: String,
        _ machine: inout ClusterStateMachine,
        reachable: Set<String> = bothAgents,
        at now: MonitorInstant = .seconds(10)
    ) -> ControlOutcome {
        let words = line.split(separator: " ").map(String.init)
        return ControlDispatcher.handle(
            verb: words.first ?? "",
            arguments: Array(words.dropFirst()),
            machine: &machine,
            reachableAgents: reachable,
            now: now,
            time: time
        )
    }
}
