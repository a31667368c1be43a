import Logging
import MMMConfig
import MMMCore
import MariaDBClient

/// The agent's start check of its accounts' privileges on its own server (DESIGN.md §9.7): `agent_user` for what
/// the agent does, and this host's `replication_user`, which the peers replicate with. Missing privileges stop the
/// start with the exact `GRANT` to run, instead of a promotion that fails half-way (bench finding 3).
struct PrivilegeGate: Sendable {
    /// The agent's settings.
    var settings: AgentSettings
    /// Where the blocking client calls run.
    var executor: MariaDBExecutor

    /// What the check found.
    enum Outcome: Sendable {
        /// Every account has what it needs.
        case sufficient
        /// Problems, one line each, with the GRANT to run.
        case missing([String])
        /// The server could not be asked (down, or the account cannot log in); the reason.
        case unchecked(String)
    }

    /// Checks both accounts, each connection bounded by `deadline`.
    func check(deadline: Duration = .seconds(2)) async -> Outcome {
        var accounts: [(PrivilegeCheck.Account, MariaDBConfiguration)] = []
        var agent = self.settings.database
        agent.connectTimeout = deadline
        accounts.append((.agent(zeroLoss: self.settings.failoverPolicy == .zeroLoss), agent))
        if !self.settings.this.replicationUser.isEmpty {
            var replication = agent
            replication.user = self.settings.this.replicationUser
            replication.password = self.settings.this.replicationPassword
            accounts.append((.replication, replication))
        }
        var problems: [String] = []
        for (account, configuration) in accounts {
            do {
                let connection = try await MariaDBConnection.connect(configuration, on: self.executor)
                let report: PrivilegeReport
                do {
                    report = try await connection.privilegeReport(for: account)
                    await connection.close()
                } catch {
                    await connection.close()
                    throw error
                }
                if let problem = report.problem { problems.append(problem) }
            } catch {
                return .unchecked("\(configuration.user)@\(configuration.endpointDescription): \(error)")
            }
        }
        return problems.isEmpty ? .sufficient : .missing(problems)
    }
}
