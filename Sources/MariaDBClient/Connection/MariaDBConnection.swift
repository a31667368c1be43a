import CMariaDB
import MMMCore
import NIOConcurrencyHelpers

/// One connection to a MariaDB server over Connector/C.
///
/// Every call runs on the ``MariaDBExecutor``'s threads and has a deadline. One statement at a time: a second call
/// while one is running is refused rather than queued, because a queued call could wait behind a hung one. After a
/// deadline has passed the connection is closed (the statement is killed on the server with `KILL QUERY` first);
/// open a new one.
public final class MariaDBConnection: Sendable {
    private enum State {
        case idle
        case busy
        /// A call timed out while its thread was still inside Connector/C; that thread closes the handle.
        case abandoned
        case closed
    }

    /// The configuration this connection was opened with.
    public let configuration: MariaDBConfiguration
    /// The server's id for this session (`CONNECTION_ID()`), used for `KILL QUERY`.
    public let threadID: UInt64
    /// The server's version string, e.g. `10.11.19-MariaDB-0+deb12u1`.
    public let serverVersion: String

    private let executor: MariaDBExecutor
    private let handle: Handle
    private let state = NIOLockedValueBox(State.idle)

    private init(configuration: MariaDBConfiguration, executor: MariaDBExecutor, handle: Handle) {
        self.configuration = configuration
        self.executor = executor
        self.handle = handle
        self.threadID = UInt64(mysql_thread_id(handle.mysql))
        self.serverVersion = String(cString: mysql_get_server_info(handle.mysql))
    }

    /// Opens a connection, failing with a clear error by `configuration.connectTimeout` at the latest.
    public static func connect(
        _ configuration: MariaDBConfiguration,
        on executor: MariaDBExecutor
    ) async throws -> MariaDBConnection {
        try configuration.validate()
        let deadline = ContinuousClock.now + configuration.connectTimeout
        let handle: Handle
        do {
            handle = try await executor.run(deadline: deadline) { try Handle.open(configuration) }
        } catch is DeadlineExceeded {
            throw MMMError(
                .timedOut,
                "connect to \(configuration.endpointDescription) did not finish within \(configuration.connectTimeout); check that the host is up and reachable"
            )
        }
        return MariaDBConnection(configuration: configuration, executor: executor, handle: handle)
    }

    /// Runs one statement and returns its rows (or the affected-row count for statements without a result set).
    ///
    /// - Parameter deadline: how long the statement may take; defaults to the configuration's read timeout. A
    ///   deadline beyond the read timeout cannot be kept (Connector/C fixes the socket timeout at connect time):
    ///   open the connection with a longer read timeout for long waits.
    public func query(_ sql: String, deadline: Duration? = nil) async throws -> MariaDBResult {
        let limit = deadline ?? self.configuration.readTimeout
        try self.begin()
        do {
            return try await self.executor.run(deadline: ContinuousClock.now + limit) { [handle, configuration] in
                defer { self.finishCall() }
                return try handle.query(sql, configuration: configuration)
            }
        } catch is DeadlineExceeded {
            let killed = await self.abandonAndKill()
            throw MMMError(
                .timedOut,
                "statement on \(self.configuration.endpointDescription) did not finish within \(limit); \(killed)"
            )
        } catch let error as MMMError where error.code == .connectionLost {
            // A lost connection cannot be used again; close it so later calls fail fast with a clear error.
            self.markClosedIfIdle()
            throw error
        }
    }

    /// Closes the connection. Safe to call more than once.
    public func close() async {
        let shouldClose = self.state.withLockedValue { state -> Bool in
            switch state {
            case .idle:
                state = .closed
                return true
            case .busy:
                state = .abandoned
                return false
            case .abandoned, .closed:
                return false
            }
        }
        guard shouldClose else { return }
        _ = try? await self.executor.run(deadline: ContinuousClock.now + self.configuration.writeTimeout) {
            [handle] in handle.close()
        }
    }

    /// True once the connection was closed (explicitly, after a deadline, or after the server went away).
    public var isClosed: Bool {
        self.state.withLockedValue { state in
            switch state {
            case .closed, .abandoned: return true
            case .idle, .busy: return false
            }
        }
    }

    private func begin() throws {
        try self.state.withLockedValue { state in
            switch state {
            case .idle:
                state = .busy
            case .busy:
                throw MMMError(
                    .invalidArgument,
                    "connection to \(self.configuration.endpointDescription) is already running a statement; use one connection per concurrent statement"
                )
            case .abandoned, .closed:
                throw MMMError(
                    .connectionClosed,
                    "connection to \(self.configuration.endpointDescription) is closed; open a new one"
                )
            }
        }
    }

    /// Called on the pool thread when a call returns from Connector/C.
    private func finishCall() {
        let mustClose = self.state.withLockedValue { state -> Bool in
            switch state {
            case .busy:
                state = .idle
                return false
            case .abandoned:
                state = .closed
                return true
            case .idle, .closed:
                return false
            }
        }
        if mustClose { self.handle.close() }
    }

    private func markClosedIfIdle() {
        let mustClose = self.state.withLockedValue { state -> Bool in
            if case .idle = state {
                state = .closed
                return true
            }
            return false
        }
        if mustClose {
            // Closing a lost connection does no network I/O worth a pool thread: the socket is already dead.
            self.handle.close()
        }
    }

    /// Marks the running call abandoned and kills its statement on the server from a separate connection, within
    /// `killGrace`. Returns a phrase for the error message.
    private func abandonAndKill() async -> String {
        let stillRunning = self.state.withLockedValue { state -> Bool in
            switch state {
            case .busy:
                state = .abandoned
                return true
            case .idle, .abandoned, .closed:
                return false
            }
        }
        guard stillRunning else { return "it finished just after the deadline" }
        var killConfiguration = self.configuration
        killConfiguration.connectTimeout = self.configuration.killGrace
        killConfiguration.readTimeout = self.configuration.killGrace
        do {
            let killer = try await MariaDBConnection.connect(killConfiguration, on: self.executor)
            do {
                // killQuery treats "unknown thread" (the statement ended meanwhile) as done.
                try await killer.killQuery(self.threadID)
            } catch {
                await killer.close()
                throw error
            }
            await killer.close()
            return "it was killed on the server (KILL QUERY \(self.threadID)) and this connection was closed"
        } catch {
            return "it could not be killed on the server (\(error)); it may still be running there as thread \(self.threadID)"
        }
    }
}

/// Owns one `MYSQL*`. Only one thread uses it at a time (``MariaDBConnection`` guarantees that with its state).
final class Handle: @unchecked Sendable {
    let mysql: UnsafeMutablePointer<MYSQL>
    private let closed = NIOLockedValueBox(false)

    private init(mysql: UnsafeMutablePointer<MYSQL>) {
        self.mysql = mysql
    }

    deinit {
        self.close()
    }

    /// Blocking: connects with the configuration's socket timeouts. Runs on a pool thread.
    static func open(_ configuration: MariaDBConfiguration) throws -> Handle {
        guard let mysql = mysql_init(nil) else {
            throw MMMError(.connectionFailed, "mysql_init failed for \(configuration.endpointDescription): out of memory")
        }
        var connectTimeout = configuration.connectTimeout.wholeSecondsRoundedUp
        var readTimeout = configuration.readTimeout.wholeSecondsRoundedUp
        var writeTimeout = configuration.writeTimeout.wholeSecondsRoundedUp
        var noLocalInfile: UInt32 = 0
        mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &readTimeout)
        mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &writeTimeout)
        mysql_options(mysql, MYSQL_OPT_LOCAL_INFILE, &noLocalInfile)
        // Literals are escaped with backslashes (SQLValidation.quote), so the session must not treat them literally.
        mysql_options(mysql, MYSQL_INIT_COMMAND, "SET SESSION sql_mode=REPLACE(@@sql_mode,'NO_BACKSLASH_ESCAPES','')")
        var host: String? = configuration.host
        if configuration.unixSocket != nil {
            host = "localhost"
        } else {
            var tcp = MYSQL_PROTOCOL_TCP.rawValue
            mysql_options(mysql, MYSQL_OPT_PROTOCOL, &tcp)
        }
        let connected = mysql_real_connect(
            mysql, host, configuration.user, configuration.password, nil,
            UInt32(configuration.port), configuration.unixSocket, 0
        )
        guard connected != nil else {
            let error = Handle.lastError(mysql)
            mysql_close(mysql)
            throw MMMError.mariaDB(
                error, endpoint: configuration.endpointDescription, user: configuration.user, during: "connect"
            )
        }
        return Handle(mysql: mysql)
    }

    static func lastError(_ mysql: UnsafeMutablePointer<MYSQL>) -> MariaDBServerError {
        MariaDBServerError(
            number: mysql_errno(mysql),
            sqlState: String(cString: mysql_sqlstate(mysql)),
            text: String(cString: mysql_error(mysql))
        )
    }

    /// Blocking: runs one statement and reads its whole result. Runs on a pool thread.
    func query(_ sql: String, configuration: MariaDBConfiguration) throws -> MariaDBResult {
        let length = UInt(sql.utf8.count)
        let status = mysql_real_query(self.mysql, sql, length)
        guard status == 0 else { throw self.error(configuration) }
        guard let result = mysql_store_result(self.mysql) else {
            guard mysql_field_count(self.mysql) == 0 else { throw self.error(configuration) }
            return MariaDBResult(columns: [], rows: [], affectedRows: UInt64(mysql_affected_rows(self.mysql)))
        }
        defer { mysql_free_result(result) }
        let fieldCount = Int(mysql_num_fields(result))
        var columns: [String] = []
        columns.reserveCapacity(fieldCount)
        if let fields = mysql_fetch_fields(result) {
            for index in 0..<fieldCount {
                columns.append(String(cString: fields[index].name))
            }
        }
        let layout = MariaDBRow.Columns(columns)
        var rows: [MariaDBRow] = []
        while let row = mysql_fetch_row(result) {
            // Force-unwrap: mysql_fetch_lengths never returns NULL right after a successful mysql_fetch_row.
            let lengths = mysql_fetch_lengths(result)!
            var values: [String?] = []
            values.reserveCapacity(fieldCount)
            for index in 0..<fieldCount {
                if let pointer = row[index] {
                    let buffer = UnsafeRawBufferPointer(start: pointer, count: Int(lengths[index]))
                    values.append(String(decoding: buffer, as: UTF8.self))
                } else {
                    values.append(nil)
                }
            }
            rows.append(MariaDBRow(columns: layout, values: values))
        }
        if mysql_errno(self.mysql) != 0 { throw self.error(configuration) }
        return MariaDBResult(columns: columns, rows: rows, affectedRows: UInt64(rows.count))
    }

    private func error(_ configuration: MariaDBConfiguration) -> MMMError {
        MMMError.mariaDB(
            Handle.lastError(self.mysql), endpoint: configuration.endpointDescription, user: configuration.user,
            during: "statement"
        )
    }

    /// Closes the handle once; later calls do nothing.
    func close() {
        let first = self.closed.withLockedValue { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        if first { mysql_close(self.mysql) }
    }
}
