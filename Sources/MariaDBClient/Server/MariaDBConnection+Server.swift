import MMMCore

/// Commands the server runs for its own replication or housekeeping; fencing never kills these (rule R6 lists
/// which sessions `read_only` does not stop; these are the ones that must survive).
private let protectedCommands = ["Binlog Dump", "Binlog Dump GTID", "Slave_IO", "Slave_SQL", "Slave_worker", "Daemon"]
/// Internal accounts of the server itself.
/// Accounts never listed: system threads, and connections still in the handshake (`unauthenticated user`). Killing
/// one of those could kill another fence's own connection while it logs in (seen on the bench: a switchover's fence
/// order lost its connection to the convergence round's fence with error 2013, so the old writer counted as not
/// fenced and kill_host_bin stopped a healthy server). Sparing them is safe: a connection that logs in after
/// `read_only=ON` cannot write without `READ_ONLY ADMIN`, and one that logs in earlier is killed by the next pass.
private let systemUsers = ["system user", "event_scheduler", "unauthenticated user"]

extension MariaDBConnection {
    /// Reads ``ServerFacts``: `read_only`, ids, every GTID variable, strict mode, semi-sync settings and status.
    public func serverFacts() async throws -> ServerFacts {
        let variables = try await self.query(ServerFacts.variablesSQL).singleRow("the server facts query")
        let status = try await self.query(ServerFacts.statusSQL)
        return try ServerFacts(variables: variables, status: status)
    }

    /// Sets the global `read_only`.
    ///
    /// Turning it on waits for running writes (rule R7), bounded by `lockWaitTimeout` on the server; a timeout there
    /// fails with error 1205 (``MMMError/Code/timedOut``), and the caller kills the blockers and retries.
    /// `read_only` does not stop root, `ALL PRIVILEGES` or `READ_ONLY ADMIN` sessions (rule R6): fencing also needs
    /// ``killClientSessions(sparing:)``.
    public func setReadOnly(_ on: Bool, lockWaitTimeout: Duration = .seconds(1)) async throws {
        let seconds = max(1, lockWaitTimeout.wholeSecondsRoundedUp)
        _ = try await self.query("SET SESSION lock_wait_timeout=\(seconds)")
        _ = try await self.query("SET GLOBAL read_only=\(on ? "ON" : "OFF")")
    }

    /// Lists client sessions: everything but replication threads (`Binlog Dump`, `Slave_IO`, `Slave_SQL`, workers),
    /// system threads, connections still logging in, this connection, and the accounts in `sparing` (e.g. the
    /// replication and monitor users).
    public func clientSessions(sparing users: [String] = []) async throws -> [ClientSession] {
        for user in users { try SQLValidation.requireUser(user, "account to spare") }
        let excludedUsers = (systemUsers + users).map(SQLValidation.quote).joined(separator: ", ")
        let excludedCommands = protectedCommands.map(SQLValidation.quote).joined(separator: ", ")
        let result = try await self.query(
            """
            SELECT ID, USER, HOST, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST \
            WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN (\(excludedCommands)) AND USER NOT IN (\(excludedUsers)) \
            ORDER BY ID
            """
        )
        return try result.rows.map { row in
            ClientSession(
                id: try row.uint64("ID") ?? 0,
                user: try row.string("USER") ?? "",
                host: try row.string("HOST") ?? "",
                command: try row.string("COMMAND") ?? "",
                time: try row.int("TIME") ?? 0,
                state: try row.string("STATE") ?? ""
            )
        }
    }

    /// Kills a session and rolls back its transaction (`KILL CONNECTION`). A session that already ended is fine.
    public func killConnection(_ id: UInt64) async throws {
        try await self.kill("KILL CONNECTION \(id)")
    }

    /// Interrupts a session's running statement (`KILL QUERY`); the session and its open transaction stay.
    public func killQuery(_ id: UInt64) async throws {
        try await self.kill("KILL QUERY \(id)")
    }

    /// Kills every client session (see ``clientSessions(sparing:)``) and returns the ones it killed.
    /// Replication threads, system threads, this connection and the `sparing` accounts are never touched.
    public func killClientSessions(sparing users: [String] = []) async throws -> [ClientSession] {
        let sessions = try await self.clientSessions(sparing: users)
        for session in sessions {
            try await self.killConnection(session.id)
        }
        return sessions
    }

    /// Kills this server's binlog dump threads that send to a replica at `replicaIP` (`Binlog Dump`, `Binlog Dump
    /// GTID`), and returns how many. The replica's IO thread reconnects by itself when it runs again.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` when `replicaIP` is not an IP address, and server errors.
    public func killBinlogDumps(to replicaIP: String) async throws -> Int {
        guard IPAddressText.isIPAddress(replicaIP) else {
            throw MMMError(.invalidArgument, "'\(replicaIP)' is not an IP address; binlog dump threads are found by their replica's address")
        }
        let result = try await self.query(
            """
            SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID') \
            AND SUBSTRING_INDEX(HOST, ':', 1) = \(SQLValidation.quote(replicaIP))
            """
        )
        var killed = 0
        for row in result.rows {
            guard let id = try row.uint64("ID") else { continue }
            try await self.killConnection(id)
            killed += 1
        }
        return killed
    }

    private func kill(_ statement: String) async throws {
        do {
            _ = try await self.query(statement)
        } catch let error as MMMError where error.mariaDBErrorNumber == MariaDBErrorNumber.unknownThread {
            // The session ended on its own between listing and killing: the goal is reached.
        }
    }
}

/// What ``MariaDBConnection/privilegeReport(for:)`` found: the account, and what it lacks with the fix.
public struct PrivilegeReport: Sendable, Hashable {
    /// `CURRENT_USER()`: the account the server matched (user and host pattern).
    public var user: String
    /// The host pattern of the account.
    public var host: String
    /// `@@version`.
    public var serverVersion: String
    /// What the account cannot do.
    public var missing: [PrivilegeCheck.Requirement]

    /// The `GRANT` statement to run as an administrator, or nil when nothing is missing.
    public var grantStatement: String? {
        self.missing.isEmpty ? nil : PrivilegeCheck.grantStatement(self.missing, user: self.user, host: self.host)
    }

    /// One line for an error or a log: `mmm_agent@% lacks READ_ONLY ADMIN (set read_only ...); run: GRANT ...`.
    public var problem: String? {
        guard let grant = self.grantStatement else { return nil }
        let lacks = self.missing.map { "\($0.privilege) (\($0.purpose))" }.joined(separator: ", ")
        return "account '\(self.user)'@'\(self.host)' on MariaDB \(self.serverVersion) lacks \(lacks); as an administrator run: \(grant)"
    }
}

extension MariaDBConnection {
    /// Checks the privileges of this connection's account for `account`'s work (``PrivilegeCheck``).
    public func privilegeReport(for account: PrivilegeCheck.Account) async throws -> PrivilegeReport {
        let who = try await self.query("SELECT CURRENT_USER() AS who, @@version AS version").singleRow("the current account")
        let (user, host) = PrivilegeCheck.splitAccount(try who.requiredString("who"))
        let version = try who.requiredString("version")
        let grants = try await self.query("SHOW GRANTS FOR CURRENT_USER()").rows.compactMap { $0.values.first ?? nil }
        // An unreadable version is treated as the newest rules (SUPER implies nothing): the check then only asks more.
        let number = PrivilegeCheck.versionNumber(version) ?? 9_999
        return PrivilegeReport(
            user: user, host: host, serverVersion: version,
            missing: PrivilegeCheck.missing(for: account, showGrants: grants, serverVersion: number)
        )
    }
}
