import Foundation
import Logging
import MMMAgent
import MMMTransport
import MMMCore
import MMMProtocol
import MMMSystem
import MMMTestSupport
import MariaDBClient
import NIOConcurrencyHelpers
import Testing

/// Real `mmm_agentd` processes, one in each bench host's namespace, driven through the protocol by a test client that
/// plays the monitor.
struct AgentCluster {
    let bench: Bench
    let agents: [String: BackgroundProcess]
    let client: AgentClient
    let executor: MariaDBExecutor
    static let root = "/tmp/mmm-agent-e2e"

    static let writer = RoleIP(role: "writer", ip: Bench.writerIP)
    static let reader1 = RoleIP(role: "reader", ip: Bench.readerIPs[0])
    static let reader2 = RoleIP(role: "reader", ip: Bench.readerIPs[1])

    /// Starts an agent per host, runs `body`, and always stops the agents (SIGTERM) and removes their configs.
    /// `commonExtra` goes to the top level of every host's `mmm_common.conf` (e.g. `failover_policy zero_loss`).
    static func with(_ bench: Bench, commonExtra: String = "", _ body: (AgentCluster) async throws -> Void) async throws {
        try? FileManager.default.removeItem(atPath: Self.root)
        var agents: [String: BackgroundProcess] = [:]
        let executor = MariaDBExecutor(numberOfThreads: 16)
        do {
            for host in bench.hosts {
                let directory = "\(Self.root)/\(host.name)"
                try bench.writeMMMConfiguration(to: directory, this: host.name, commonExtra: commonExtra)
                agents[host.name] = try bench.startAgent(for: host, configDirectory: directory)
            }
            let client = ProtocolClient(
                configuration: ProtocolClientConfiguration(
                    name: AgentCore.monitorName, key: ProtocolKey(secret: Bench.agentSecret), connectTimeout: .seconds(1),
                    replyTimeout: .seconds(5),
                    // The bench's agents take frames under the monitor's name only with its signature.
                    signingKey: try MonitorSigningKey(fileText: Bench.monitorSigningKey, path: "Bench.monitorSigningKey")
                ),
                logger: Logger(label: "test-monitor")
            )
            let cluster = AgentCluster(bench: bench, agents: agents, client: AgentClient(client: client), executor: executor)
            for host in bench.hosts {
                _ = try await eventually("agent on \(host.name) answers") { () -> AgentResponse? in
                    try await cluster.send(.ping, to: host.name)
                }
            }
            try await body(cluster)
        } catch {
            for (name, agent) in agents { print("--- \(name) agent log:\n\(agent.log.suffix(4000))") }
            for agent in agents.values { await agent.stop() }
            try? await executor.shutdownGracefully()
            throw error
        }
        for (name, agent) in agents {
            #expect(await agent.stop() == 0, "the agent exits cleanly on SIGTERM")
            // Regression: the service's description (logged by ServiceLifecycle at start) carried the secret.
            let log = agent.log
            #expect(log.contains("Agent starting"), "\(name) logged its start")
            for secret in [Bench.agentSecret, bench.adminPassword, bench.replicationPassword] {
                #expect(!log.contains(secret), "\(name)'s log shows a secret")
            }
        }
        try? await executor.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: Self.root)
    }

    /// Runs `body` while the test monitor pings `hosts` every 300 ms (the monitor's lease renewals).
    func whileRenewing<T: Sendable>(_ hosts: [String], _ body: () async throws -> T) async throws -> T {
        let stop = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !stop.withLockedValue({ $0 }) {
                    for host in hosts { _ = try? await self.send(.ping, to: host) }
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            do {
                let value = try await body()
                stop.withLockedValue { $0 = true }
                try await group.waitForAll()
                return value
            } catch {
                stop.withLockedValue { $0 = true }
                try? await group.waitForAll()
                throw error
            }
        }
    }

    func peer(_ name: String) throws -> ProtocolPeer {
        let host = try self.bench.host(name)
        return ProtocolPeer(name: host.name, host: host.ip, port: 9989)
    }

    /// Sends one request; waits its turn while the heartbeat has a request to the same agent in flight (the client
    /// allows one per peer, as the monitor's single decision loop does).
    func send(_ request: AgentRequest, to name: String) async throws -> AgentResponse {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try await self.client.send(request, to: self.peer(name))
            } catch let error as MMMError where error.code == .invalidArgument && error.message.contains("already in flight")
                && ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// The monitor's status push, removals first (as the core's two-pass `sendStatusToAll` does).
    func push(epoch: UInt64, writer: String, roles: [String: [RoleIP]], follow: [String: String?] = [:]) async throws {
        let order = roles.keys.sorted { lhs, rhs in
            (roles[lhs]!.contains(Self.writer) ? 1 : 0) < (roles[rhs]!.contains(Self.writer) ? 1 : 0)
        }
        for name in order {
            let status = SetStatus(
                state: .online, roles: roles[name]!, activeMaster: follow[name] ?? writer, epoch: epoch
            )
            let response = try await self.send(.setStatus(status), to: name)
            guard case .statusApplied = response else {
                throw MMMError(.unexpectedResult, "\(name) answered \(response)")
            }
        }
    }

    func connect(_ address: String, name: String) async throws -> MariaDBConnection {
        try await MariaDBConnection.connect(
            MariaDBConfiguration(
                name: name, host: address, user: self.bench.adminUser, password: self.bench.adminPassword,
                connectTimeout: .milliseconds(500), readTimeout: .seconds(5)
            ),
            on: self.executor
        )
    }

    /// `@@hostname` and `@@read_only` of whoever answers on `address`.
    func whoAnswers(_ address: String) async throws -> (host: String, readOnly: Bool) {
        let connection = try await self.connect(address, name: "vip")
        do {
            let row = try await connection.query("SELECT @@hostname AS h, @@read_only AS ro").singleRow("who")
            await connection.close()
            return (try row.requiredString("h"), try row.bool("ro") ?? true)
        } catch {
            await connection.close()
            throw error
        }
    }
}

extension IntegrationTests {
    @Suite("mmm_agentd end to end", .enabled(if: Bench.modeFromEnvironment == .netns, "agents need the namespace bench"))
    struct AgentEndToEndTests {
        @Test("the writer VIP moves db1 -> db2 with read_only in order, sessions killed, replicas repointed by GTID", .timeLimit(.minutes(3)))
        func writerMoves() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await AgentCluster.with(bench) { cluster in try await cluster.whileRenewing(["db1", "db2", "db3"]) {
                    // A VIP that another host already answers for is refused: put the writer IP by hand on the void
                    // host (no agent there to release it; it answers ARP).
                    let hold = try await BenchIntegrationTests.run("/usr/sbin/ip", ["-n", "mmmb-void", "addr", "add", "\(Bench.writerIP)/32", "dev", "eth0"])
                    #expect(hold.status == 0, "\(hold.output)")
                    try await cluster.push(
                        epoch: 1, writer: "db1",
                        roles: ["db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2], "db3": []]
                    )
                    _ = try await eventually("db1's agent refuses the VIP the void host answers for") { () -> Bool? in
                        cluster.agents["db1"]!.log.contains("another host answers for it") ? true : nil
                    }
                    // The agent reports the refusal to the monitor.
                    let reported = try await eventually("db1 reports the refusal") { () -> String? in
                        guard case .agentStatus(let status) = try await cluster.send(.getAgentStatus, to: "db1"),
                            status.lastError.contains("another host answers for it")
                        else { return nil }
                        return status.lastError
                    }
                    #expect(reported.contains(Bench.writerIP))
                    _ = try await BenchIntegrationTests.run("/usr/sbin/ip", ["-n", "mmmb-void", "addr", "del", "\(Bench.writerIP)/32", "dev", "eth0"])
                    let first = try await eventually("the writer VIP reaches db1") { () -> String? in
                        let who = try await cluster.whoAnswers(Bench.writerIP)
                        return who.host == "db1" && !who.readOnly ? who.host : nil
                    }
                    #expect(first == "db1")
                    #expect(try await cluster.whoAnswers(Bench.readerIPs[1]).host == "db2")

                    // Data written through the VIP, and a client session that must be killed by the move.
                    let app = try await cluster.connect(Bench.writerIP, name: "app")
                    _ = try await app.query("CREATE TABLE mmm_bench.moves (id INT PRIMARY KEY, v VARCHAR(20))")
                    _ = try await app.query("INSERT INTO mmm_bench.moves VALUES (1, 'before')")

                    // Sample read_only on both masters every 10 ms during the move.
                    let db1 = try await cluster.connect(bench.hosts[0].ip, name: "db1")
                    let db2 = try await cluster.connect(bench.hosts[1].ip, name: "db2")
                    let bothWritable = NIOLockedValueBox(0)
                    let samples = NIOLockedValueBox(0)
                    let stop = NIOLockedValueBox(false)
                    let started = ContinuousClock.now
                    var reachedAfter: Duration = .zero
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            while !stop.withLockedValue({ $0 }) {
                                let one = try await db1.query("SELECT @@read_only AS ro").singleRow("ro").bool("ro") ?? true
                                let two = try await db2.query("SELECT @@read_only AS ro").singleRow("ro").bool("ro") ?? true
                                samples.withLockedValue { $0 += 1 }
                                if !one && !two { bothWritable.withLockedValue { $0 += 1 } }
                                try await Task.sleep(for: .milliseconds(10))
                            }
                        }
                        try await cluster.push(
                            epoch: 2, writer: "db2",
                            roles: ["db1": [AgentCluster.reader1], "db2": [AgentCluster.writer, AgentCluster.reader2], "db3": []]
                        )
                        _ = try await eventually("the writer VIP reaches a writable db2") { () -> Bool? in
                            let who = try? await cluster.whoAnswers(Bench.writerIP)
                            return who?.host == "db2" && who?.readOnly == false ? true : nil
                        }
                        reachedAfter = ContinuousClock.now - started
                        stop.withLockedValue { $0 = true }
                        try await group.waitForAll()
                    }
                    print("writer VIP reached db2 \(reachedAfter) after the status push; \(samples.withLockedValue { $0 }) read_only samples")
                    // Issue 4 asks for under 1 s (0.6 s measured here); the bound leaves room for a loaded CI machine.
                    #expect(reachedAfter < .seconds(2))
                    #expect(bothWritable.withLockedValue { $0 } == 0, "two writable masters were seen")
                    #expect(samples.withLockedValue { $0 } > 10)
                    #expect(try await db1.query("SELECT @@read_only AS ro").singleRow("ro").bool("ro") == true)
                    await #expect(throws: MMMError.self, "the old writer's client session was killed") {
                        _ = try await app.query("SELECT 1")
                    }

                    // New writes on db2 reach db1 and db3, which follow db2 by GTID; nothing applied twice.
                    let writer = try await cluster.connect(Bench.writerIP, name: "writer")
                    for id in 2...50 {
                        _ = try await writer.query("INSERT INTO mmm_bench.moves VALUES (\(id), 'after')")
                    }
                    let target = try await writer.serverFacts().gtidBinlogPos
                    for host in bench.hosts where host.name != "db2" {
                        let replica = try await cluster.connect(host.ip, name: host.name)
                        let status = try await eventually("\(host.name) follows db2 and has its writes") { () -> ReplicaStatus? in
                            guard let status = try await replica.replicaStatuses().first,
                                status.masterHost == bench.hosts[1].ip, status.gtidSlavePos.contains(target)
                            else { return nil }
                            return status
                        }
                        #expect(status.lastSQLErrno == 0 && status.lastIOErrno == 0)
                        #expect(status.usingGTID != .no)
                        let count = try await replica.query("SELECT COUNT(*) AS n FROM mmm_bench.moves").singleRow("n").int("n")
                        #expect(count == 50)
                        let mine = try await replica.query("CHECKSUM TABLE mmm_bench.moves").singleRow("sum").string("Checksum")
                        let theirs = try await writer.query("CHECKSUM TABLE mmm_bench.moves").singleRow("sum").string("Checksum")
                        #expect(mine == theirs)
                        await replica.close()
                    }
                    await writer.close()
                    await db1.close()
                    await db2.close()
                } }
            }
        }

        @Test("the writer fences itself when only it lost the monitor, and keeps writing when everyone did", .timeLimit(.minutes(3)))
        func writerLease() async throws {
            try await Bench.withBench(hosts: 3) { bench in
                try await AgentCluster.with(bench) { cluster in
                    let roles: [String: [RoleIP]] = [
                        "db1": [AgentCluster.writer, AgentCluster.reader1], "db2": [AgentCluster.reader2], "db3": [],
                    ]
                    try await cluster.push(epoch: 1, writer: "db1", roles: roles)
                    let silenced = ContinuousClock.now  // db1's last monitor message
                    _ = try await eventually("db1 holds the writer VIP") { () -> Bool? in
                        (try? await cluster.whoAnswers(Bench.writerIP))?.host == "db1" ? true : nil
                    }

                    // An unauthenticated monitor changes nothing.
                    let intruder = AgentClient(
                        client: ProtocolClient(
                            configuration: ProtocolClientConfiguration(name: AgentCore.monitorName, key: ProtocolKey(secret: "not-the-bench-secret-at-all")),
                            logger: Logger(label: "intruder")
                        )
                    )
                    await #expect(throws: MMMError.self) {
                        _ = try await intruder.send(.fence(FenceOrder(target: "db1", epoch: 9, reason: "x")), to: cluster.peer("db1"))
                    }
                    #expect(try await cluster.whoAnswers(Bench.writerIP).readOnly == false)
                    // Nor does a host that holds agent_secret, as every database host does, without the monitor's key
                    // (issue 11: "monitor" was only a name the frame claimed).
                    let impostor = AgentClient(
                        client: ProtocolClient(
                            configuration: ProtocolClientConfiguration(name: AgentCore.monitorName, key: ProtocolKey(secret: Bench.agentSecret)),
                            logger: Logger(label: "impostor")
                        )
                    )
                    await #expect(throws: MMMError.self) {
                        _ = try await impostor.send(.fence(FenceOrder(target: "db1", epoch: 9, reason: "x")), to: cluster.peer("db1"))
                    }
                    #expect(try await cluster.whoAnswers(Bench.writerIP).readOnly == false)
                    // The cross-check question: db2's agent reaches db1's server and sees it take writes.
                    #expect(
                        try await cluster.send(.canReach(ReachQuery(host: "db1", service: .mysql)), to: "db2")
                            == .reachability(ReachReport(host: "db1", service: .mysql, reachable: true, detail: "it answers with read_only OFF", readOnly: false))
                    )

                    // Only db1 loses the monitor: db2 and db3 keep hearing it.
                    var fencedAfter: Duration = .zero
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        let stop = NIOLockedValueBox(false)
                        group.addTask {
                            while !stop.withLockedValue({ $0 }) {
                                _ = try? await cluster.send(.ping, to: "db2")
                                _ = try? await cluster.send(.ping, to: "db3")
                                try await Task.sleep(for: .milliseconds(300))
                            }
                        }
                        let db1 = try await cluster.connect(bench.hosts[0].ip, name: "db1")
                        _ = try await eventually(timeout: .seconds(20), "db1 fences itself") { () -> Bool? in
                            try await db1.query("SELECT @@read_only AS ro").singleRow("ro").bool("ro") == true ? true : nil
                        }
                        fencedAfter = ContinuousClock.now - silenced
                        // Fenced under its lease, it is still up, but a cross-check must see it takes no writes.
                        #expect(
                            try await cluster.send(.canReach(ReachQuery(host: "db1", service: .mysql)), to: "db2")
                                == .reachability(ReachReport(host: "db1", service: .mysql, reachable: true, detail: "it answers with read_only ON", readOnly: true))
                        )
                        _ = try await eventually("db1 drops the writer VIP") { () -> Bool? in
                            (try? await cluster.whoAnswers(Bench.writerIP)) == nil ? true : nil
                        }
                        await db1.close()
                        stop.withLockedValue { $0 = true }
                        try await group.waitForAll()
                    }
                    print("db1 fenced itself \(fencedAfter) after its last monitor message (lease_timeout 3 s)")
                    #expect(fencedAfter >= .seconds(3), "not before its lease ran out")
                    #expect(fencedAfter < .seconds(3) + .seconds(5), "within lease_timeout plus a cycle")
                    #expect(cluster.agents["db1"]!.log.contains("Writer lease lost"))

                    // The monitor comes back, makes db1 writer again, then every agent loses it: db1 keeps writing.
                    try await cluster.push(epoch: 2, writer: "db1", roles: roles)
                    _ = try await eventually("db1 writable with the VIP again") { () -> Bool? in
                        let who = try? await cluster.whoAnswers(Bench.writerIP)
                        return who?.host == "db1" && who?.readOnly == false ? true : nil
                    }
                    try await Task.sleep(for: .seconds(8))
                    let who = try await cluster.whoAnswers(Bench.writerIP)
                    #expect(who.host == "db1" && !who.readOnly, "with the monitor down nobody can promote: keep writing")
                    #expect(cluster.agents["db1"]!.log.contains("so did every peer"))

                    // SIGTERM keeps the roles: db1 stays writable with the VIP while its agent is down.
                    #expect(await cluster.agents["db1"]!.stop() == 0)
                    let kept = try await cluster.whoAnswers(Bench.writerIP)
                    #expect(kept.host == "db1" && !kept.readOnly)
                    // A restarted agent on a writer that only it cut off from the monitor fences itself too: its lease
                    // is armed at start, and its peers hear the monitor.
                    let restarted = try bench.startAgent(for: bench.hosts[0], configDirectory: "\(AgentCluster.root)/db1")
                    do {
                        try await cluster.whileRenewing(["db2", "db3"]) {
                            let db1 = try await cluster.connect(bench.hosts[0].ip, name: "db1")
                            _ = try await eventually(timeout: .seconds(20), "the restarted agent fences db1") { () -> Bool? in
                                try await db1.query("SELECT @@read_only AS ro").singleRow("ro").bool("ro") == true ? true : nil
                            }
                            await db1.close()
                        }
                        #expect(restarted.log.contains("writer lease armed"))
                        #expect(await restarted.stop() == 0)
                    } catch {
                        print("--- restarted db1 agent log:\n\(restarted.log.suffix(4000))")
                        await restarted.stop()
                        throw error
                    }
                }
            }
        }
    }
}
