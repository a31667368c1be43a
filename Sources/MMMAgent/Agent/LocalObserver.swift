import MMMCore
import MariaDBClient

/// Reads what the agent's own host really has: the role IPs it holds, whether its server is writable, and whom it
/// replicates from. Every read has a deadline; the result feeds ``AgentPlanner``.
public struct LocalObserver: Sendable {
    /// The role IPs of the cluster, to ask the endpoint provider about.
    public let roleIPs: [RoleIP]
    /// Host names by IP, to name the master the server replicates from.
    public let hostNamesByIP: [String: String]
    /// The endpoint provider that holds the IPs.
    public let endpoints: any EndpointProvider
    /// How to reach the local server.
    public let database: MariaDBConfiguration
    /// Runs the blocking client calls.
    public let executor: MariaDBExecutor

    /// Creates an observer.
    public init(
        roleIPs: [RoleIP],
        hostNamesByIP: [String: String],
        endpoints: any EndpointProvider,
        database: MariaDBConfiguration,
        executor: MariaDBExecutor
    ) {
        self.roleIPs = roleIPs
        self.hostNamesByIP = hostNamesByIP
        self.endpoints = endpoints
        self.database = database
        self.executor = executor
    }

    /// The local server's facts and replication, read in one connection.
    public struct DatabaseState: Sendable, Hashable {
        /// `read_only` and the GTID variables.
        public var facts: ServerFacts
        /// Every replication connection.
        public var replicas: [ReplicaStatus]
    }

    /// Reads the server's state.
    public func readDatabase() async throws -> DatabaseState {
        let connection = try await MariaDBConnection.connect(self.database, on: self.executor)
        do {
            let state = DatabaseState(facts: try await connection.serverFacts(), replicas: try await connection.replicaStatuses())
            await connection.close()
            return state
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The role IPs on this host's interface, without asking the database (for a round where it cannot be read).
    public func heldIPs(deadline: Duration) async throws -> Set<String> {
        try await self.endpoints.heldIPs(among: self.roleIPs, deadline: deadline)
    }

    /// Reads everything ``AgentPlanner`` needs.
    public func observe(deadline: Duration) async throws -> (AgentObservation, DatabaseState) {
        let database = try await self.readDatabase()
        let held = try await self.endpoints.heldIPs(among: self.roleIPs, deadline: deadline)
        // The default connection (MMM's) is the one that follows the writer.
        let source = database.replicas.first { $0.connectionName.isEmpty }
        let following = source.flatMap { self.hostNamesByIP[$0.masterHost] }
        let replicating = source.map { $0.ioThread == .yes && $0.sqlThreadRunning } ?? false
        let observation = AgentObservation(
            heldIPs: held, writable: !database.facts.readOnly, following: following, replicating: replicating
        )
        return (observation, database)
    }
}
