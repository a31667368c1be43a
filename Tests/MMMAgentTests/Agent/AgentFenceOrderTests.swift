import Logging
import MMMAgent
import MMMConfig
import MMMCore
import MMMProtocol
import MMMTransport
import MariaDBClient
import NIOConcurrencyHelpers
import Testing

/// An endpoint provider in memory: the IPs it holds, and whether a release fails.
final class FakeEndpoints: MMMAgent.EndpointProvider {
    private let held: NIOLockedValueBox<Set<String>>
    private let releaseFails: Bool

    init(held: Set<String>, releaseFails: Bool = false) {
        self.held = NIOLockedValueBox(held)
        self.releaseFails = releaseFails
    }

    var heldNow: Set<String> { self.held.withLockedValue { $0 } }

    func acquire(role: String, ip: String, probe: Bool, deadline: Duration) async throws {
        self.held.withLockedValue { _ = $0.insert(ip) }
    }

    func release(role: String, ip: String, deadline: Duration) async throws {
        if self.releaseFails { throw MMMError(.commandFailed, "ip addr del \(ip) failed (test)") }
        self.held.withLockedValue { _ = $0.remove(ip) }
    }

    func holds(role: String, ip: String, deadline: Duration) async throws -> Bool {
        self.held.withLockedValue { $0.contains(ip) }
    }
}

/// Fence orders (`AgentCore.handle(.fence)`) against a server that is down: nothing listens on its port.
@Suite struct AgentFenceOrderTests {
    static let writer = RoleIP(role: "writer", ip: "192.0.2.210")
    static let reader = RoleIP(role: "reader", ip: "192.0.2.220")

    /// `db1` on 127.0.0.1 port 1 (connection refused at once), peer `db2`.
    static func settings() throws -> AgentSettings {
        var configuration = MMMConfiguration()
        configuration.this = "db1"
        configuration.activeMasterRole = "writer"
        configuration.agentSecret = Secret("correct horse battery staple for the fence tests")
        for (name, ip) in [("db1", "127.0.0.1"), ("db2", "192.0.2.12")] {
            var host = HostConfiguration(name: name, ip: try #require(IPAddress(ip)), mode: .master)
            host.agentUser = "mmm_agent"
            host.agentPassword = Secret("agent password")
            host.mysqlPort = 1
            configuration.hosts.append(host)
        }
        configuration.roles = [
            RoleConfiguration(name: "writer", mode: .exclusive, hosts: ["db1", "db2"], ips: [try #require(IPAddress(Self.writer.ip))]),
            RoleConfiguration(name: "reader", mode: .balanced, hosts: ["db1", "db2"], ips: [try #require(IPAddress(Self.reader.ip))]),
        ]
        return try AgentSettings(configuration: configuration)
    }

    /// Runs `body` with an agent for db1 whose endpoints are `endpoints`.
    static func withAgent<T: Sendable>(_ endpoints: FakeEndpoints, _ body: (AgentCore) async throws -> T) async throws -> T {
        let settings = try Self.settings()
        let executor = MariaDBExecutor(numberOfThreads: 2)
        let logger = Logger(label: "mmm.agent.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = ProtocolClient(
            configuration: ProtocolClientConfiguration(name: "db1", key: ProtocolKey(secret: settings.secret)), logger: logger
        )
        let core = AgentCore(settings: settings, endpoints: endpoints, executor: executor, peers: AgentClient(client: client), logger: logger)
        do {
            let value = try await body(core)
            try await executor.shutdownGracefully()
            return value
        } catch {
            try? await executor.shutdownGracefully()
            throw error
        }
    }

    static func order(_ target: String = "db1") -> AgentRequest {
        .fence(FenceOrder(target: target, epoch: 7, reason: "test"))
    }

    @Test("a dead server: the writer IP is dropped and the answer is fenced with readOnly=false", .timeLimit(.minutes(1)))
    func deadServerStillDropsTheVIP() async throws {
        let endpoints = FakeEndpoints(held: [Self.writer.ip, Self.reader.ip])
        try await Self.withAgent(endpoints) { core in
            let started = ContinuousClock.now
            let answer = await core.handle(Self.order(), from: AgentCore.monitorName)
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(
                answer == .fenced(FenceReport(target: "db1", readOnly: false, sessionsKilled: 0, rolesDropped: [Self.writer]))
            )
            #expect(endpoints.heldNow == [Self.reader.ip], "only the writer IP goes")
            guard case .agentStatus(let status) = await core.handle(.getAgentStatus, from: AgentCore.monitorName) else {
                Issue.record("no agent status")
                return
            }
            #expect(status.lastError.contains("read_only=ON failed (writer IP dropped)"), "\(status.lastError)")
        }
    }

    @Test("a writer IP that is not held is not reported as dropped", .timeLimit(.minutes(1)))
    func nothingHeldNothingDropped() async throws {
        let endpoints = FakeEndpoints(held: [Self.reader.ip])
        try await Self.withAgent(endpoints) { core in
            let answer = await core.handle(Self.order(), from: AgentCore.monitorName)
            #expect(answer == .fenced(FenceReport(target: "db1", readOnly: false, sessionsKilled: 0, rolesDropped: [])))
        }
    }

    @Test("a writer IP that cannot be dropped fails the order", .timeLimit(.minutes(1)))
    func undroppableVIPFails() async throws {
        let endpoints = FakeEndpoints(held: [Self.writer.ip], releaseFails: true)
        try await Self.withAgent(endpoints) { core in
            guard case .failed(let failure) = await core.handle(Self.order(), from: AgentCore.monitorName) else {
                Issue.record("expected failed")
                return
            }
            #expect(failure.code == "commandFailed")
            #expect(failure.message.contains("could not drop the writer IP (192.0.2.210"), "\(failure.message)")
        }
    }

    @Test("an order for another host fences that host's server over SQL, never this host", .timeLimit(.minutes(1)))
    func otherTargetIsFencedOverSQL() async throws {
        let endpoints = FakeEndpoints(held: [Self.writer.ip])
        try await Self.withAgent(endpoints) { core in
            // db2's server cannot be reached here: the order fails, and this host keeps its VIP.
            guard case .failed(let failure) = await core.handle(Self.order("db2"), from: AgentCore.monitorName) else {
                Issue.record("expected failed")
                return
            }
            #expect(failure.message.contains("db2"), "\(failure.message)")
            #expect(endpoints.heldNow == [Self.writer.ip])
            guard case .failed(let unknown) = await core.handle(Self.order("db9"), from: AgentCore.monitorName) else {
                Issue.record("expected failed")
                return
            }
            #expect(unknown.code == "invalidArgument" && unknown.message.contains("unknown host 'db9'"), "\(unknown.message)")
        }
    }

    @Test("a status naming a role IP the config does not give is refused whole, and nothing is taken", .timeLimit(.minutes(1)))
    func unconfiguredRoleIPRefused() async throws {
        let endpoints = FakeEndpoints(held: [])
        try await Self.withAgent(endpoints) { core in
            let rogue = RoleIP(role: "writer", ip: "192.0.2.99")
            let status = SetStatus(state: .online, roles: [rogue, Self.reader], activeMaster: nil, epoch: 9)
            guard case .failed(let failure) = await core.handle(.setStatus(status), from: AgentCore.monitorName) else {
                Issue.record("expected the status to be refused")
                return
            }
            #expect(failure.code == "accessDenied" && failure.message.contains("192.0.2.99"), "\(failure.message)")
            guard case .agentStatus(let after) = await core.handle(.getAgentStatus, from: AgentCore.monitorName) else {
                Issue.record("no agent status")
                return
            }
            #expect(after.roles.isEmpty && after.epoch == 0, "nothing of the refused status was applied")
            await core.convergeOnce()
            #expect(endpoints.heldNow.isEmpty)
            // The configured ones are accepted.
            let good = SetStatus(state: .online, roles: [Self.reader], activeMaster: nil, epoch: 9)
            guard case .statusApplied = await core.handle(.setStatus(good), from: AgentCore.monitorName) else {
                Issue.record("a configured role was refused")
                return
            }
        }
    }

    @Test("only the monitor may order a fence", .timeLimit(.minutes(1)))
    func onlyTheMonitor() async throws {
        let endpoints = FakeEndpoints(held: [Self.writer.ip])
        try await Self.withAgent(endpoints) { core in
            guard case .failed(let failure) = await core.handle(Self.order(), from: "db2") else {
                Issue.record("expected failed")
                return
            }
            #expect(failure.code == "accessDenied")
            #expect(endpoints.heldNow == [Self.writer.ip])
        }
    }
}
