import Logging
import MMMCore
import MMMSystem
import MariaDBClient

/// How ``WriteControl/fence(_:)`` fences a server.
public struct FenceOptions: Sendable, Hashable {
    /// Accounts whose sessions are never killed: the replication user, the agent's and the monitor's accounts.
    /// Root and other `ALL PRIVILEGES` accounts must not be listed: `read_only` does not stop them (rule R6).
    public var sparedUsers: [String]
    /// The session `lock_wait_timeout` for `SET GLOBAL read_only=ON`, which waits for running writes (rule R7).
    /// Whole seconds on the server (rounded up, at least 1 s).
    public var lockWaitTimeout: Duration
    /// How many times `read_only=ON` is tried, killing the client sessions again before each try.
    public var maxAttempts: Int
    /// The bound of the whole fence, connects included.
    public var deadline: Duration

    /// Creates options; the defaults give at most three 1 s waits within 10 s.
    public init(
        sparedUsers: [String],
        lockWaitTimeout: Duration = .seconds(1),
        maxAttempts: Int = 3,
        deadline: Duration = .seconds(10)
    ) {
        self.sparedUsers = sparedUsers
        self.lockWaitTimeout = lockWaitTimeout
        self.maxAttempts = maxAttempts
        self.deadline = deadline
    }
}

/// What ``WriteControl/fence(_:)`` did.
public struct FenceReport: Sendable, Hashable {
    /// The server's name.
    public var host: String
    /// Whether `read_only` was already ON before the fence.
    public var wasReadOnly: Bool
    /// The client sessions killed (`KILL CONNECTION`), over all passes, each once.
    public var killedSessions: [ClientSession]
    /// How many `SET GLOBAL read_only=ON` were run (1 unless running writes held it past `lock_wait_timeout`).
    public var readOnlyAttempts: Int
    /// Time from the start of the call until `read_only` was read back ON and the last sessions were killed.
    public var duration: Duration
}

extension WriteControl {
    /// Fences this server (it loses the writer role): kills its client sessions, sets `read_only=ON`, kills the
    /// sessions again, and reads `read_only` back.
    ///
    /// Sessions are killed before `read_only=ON` because the SET waits for running writes (R7), and after it because
    /// root, `ALL PRIVILEGES` and `READ_ONLY ADMIN` sessions that connected meanwhile can still write (R6).
    /// Replication threads (`Binlog Dump`: the standby still receives the tail), system threads, the fence's own
    /// connection and the ``FenceOptions/sparedUsers`` accounts are never killed. When the SET fails with error 1205
    /// (a running write held it past `lock_wait_timeout`), the sessions are killed again and the SET retried, at most
    /// ``FenceOptions/maxAttempts`` times. Idempotent: fencing a fenced server succeeds.
    ///
    /// The writer VIP is not touched here; the caller drops it after the fence.
    ///
    /// - Throws: ``MMMError`` naming the server: ``MMMError/Code/timedOut`` when `read_only` could not be set within
    ///   the attempts or the deadline (the server may still accept writes: fence it another way, e.g. its VIP and
    ///   `kill_host_bin`), ``MMMError/Code/unexpectedResult`` when `read_only` does not read back ON, and connection
    ///   or privilege errors as the client reports them.
    public func fence(_ options: FenceOptions) async throws -> FenceReport {
        guard options.maxAttempts >= 1 else {
            throw MMMError(.invalidArgument, "fence of \(self.name): maxAttempts must be at least 1, got \(options.maxAttempts)")
        }
        for user in options.sparedUsers { try SQLValidation.requireUser(user, "account spared by the fence") }
        let started = self.clock.now
        let budget = DeadlineBudget(options.deadline, what: "fencing \(self.name) (read_only=ON and killing sessions)", clock: self.clock)
        let (wholeSeconds, attoseconds) = options.lockWaitTimeout.components
        let lockWaitSeconds = max(1, wholeSeconds + (attoseconds > 0 ? 1 : 0))
        // Long enough for the server's own lock wait to end first, so that a held SET fails with 1205, not a cut socket.
        let readTimeout = Duration.seconds(lockWaitSeconds + 2)

        var killed: [ClientSession] = []
        func recordKilled(_ sessions: [ClientSession]) {
            for session in sessions where !killed.contains(where: { $0.id == session.id }) {
                killed.append(session)
            }
        }

        var connection = try await self.server.connect(readTimeout: readTimeout, within: budget)
        do {
            let wasReadOnly = try await connection.globalReadOnly(within: budget)
            var attempts = 0
            while true {
                attempts += 1
                recordKilled(try await self.killClientSessions(on: connection, sparing: options.sparedUsers, budget))
                do {
                    _ = try await connection.query("SET SESSION lock_wait_timeout=\(lockWaitSeconds)", within: budget)
                    _ = try await connection.query("SET GLOBAL read_only=ON", within: budget)
                    break
                } catch let error as MMMError where error.code == .timedOut {
                    let lockWait = error.mariaDBErrorNumber == MariaDBErrorNumber.lockWaitTimeout
                    self.logger.info(
                        "fence: read_only=ON was held by running writes",
                        metadata: [
                            LogKey.host: "\(self.name)", LogKey.fenceAttempt: "\(attempts)",
                            LogKey.fenceServerLockWait: "\(lockWait)",
                        ]
                    )
                    guard (try? budget.remaining()) != nil else {
                        throw MMMError(
                            .timedOut,
                            "fencing \(self.name) did not finish within \(options.deadline) (\(attempts) attempt(s) at read_only=ON); \(self.name) may still accept writes, so fence it by other means (drop its VIP, kill_host_bin)",
                            cause: error
                        )
                    }
                    guard attempts < options.maxAttempts else {
                        throw MMMError(
                            .timedOut,
                            "fencing \(self.name) failed: SET GLOBAL read_only=ON was still blocked by running writes after \(attempts) attempt(s) with lock_wait_timeout=\(lockWaitSeconds)s although client sessions were killed before each attempt; a spared account (\(options.sparedUsers.joined(separator: ", "))) or a session that ignores KILL may hold it (see SHOW PROCESSLIST on \(self.name)); \(self.name) may still accept writes, so fence it by other means (drop its VIP, kill_host_bin)",
                            cause: error
                        )
                    }
                    if connection.isClosed {
                        // A client-side deadline closed the connection (the statement was killed); open a new one.
                        connection = try await self.server.connect(readTimeout: readTimeout, within: budget)
                    }
                }
            }
            // Sessions of privileged accounts that connected before read_only took effect can still write (R6).
            recordKilled(try await self.killClientSessions(on: connection, sparing: options.sparedUsers, budget))
            guard try await connection.globalReadOnly(within: budget) else {
                throw MMMError(
                    .unexpectedResult,
                    "fencing \(self.name): SET GLOBAL read_only=ON succeeded but read_only reads back OFF; something turned it off again (another manager or an operator?): check who runs SET GLOBAL read_only on \(self.name)"
                )
            }
            await connection.close()
            let report = FenceReport(
                host: self.name, wasReadOnly: wasReadOnly, killedSessions: killed, readOnlyAttempts: attempts,
                duration: self.clock.now - started
            )
            self.logger.info(
                "fenced: read_only is ON and client sessions are killed",
                metadata: [
                    LogKey.host: "\(self.name)", LogKey.fenceKilled: "\(killed.count)",
                    LogKey.fenceAttempts: "\(attempts)", LogKey.fenceWasReadOnly: "\(wasReadOnly)",
                    LogKey.durationMilliseconds: "\(report.duration.milliseconds)",
                ]
            )
            return report
        } catch {
            await connection.close()
            throw error
        }
    }

    /// One kill pass bounded by the budget (the listing and each `KILL` run on `connection`).
    private func killClientSessions(
        on connection: MariaDBConnection,
        sparing users: [String],
        _ budget: DeadlineBudget
    ) async throws -> [ClientSession] {
        _ = try budget.remaining()
        return try await connection.killClientSessions(sparing: users)
    }
}
