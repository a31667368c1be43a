import MMMCore

/// The error number, SQLSTATE and text that the server or Connector/C reported, kept as the `cause` of an
/// ``MMMError`` so that callers can branch on the exact number (`1062` duplicate key, `1236` errant GTID, ...).
public struct MariaDBServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server error number (1000–1999 and above 3000) or client error number (2000–2999).
    public var number: UInt32
    /// The five-character SQLSTATE, e.g. `28000`.
    public var sqlState: String
    /// The text the server or client library gave.
    public var text: String

    /// Creates the record of one reported error.
    public init(number: UInt32, sqlState: String, text: String) {
        self.number = number
        self.sqlState = sqlState
        self.text = text
    }

    /// `error 1045 (28000): Access denied ...`.
    public var description: String { "error \(self.number) (\(self.sqlState)): \(self.text)" }
}

/// Well-known MariaDB error numbers that swift-mmm branches on.
public enum MariaDBErrorNumber {
    /// Too many connections.
    public static let tooManyConnections: UInt32 = 1040
    /// Access denied for a database.
    public static let databaseAccessDenied: UInt32 = 1044
    /// Access denied for user (bad user or password).
    public static let accessDenied: UInt32 = 1045
    /// Duplicate entry for a key (the seed's broken replication).
    public static let duplicateKey: UInt32 = 1062
    /// Unknown thread id (a `KILL` of a session that already ended).
    public static let unknownThread: UInt32 = 1094
    /// Lock wait timeout exceeded (for example `SET GLOBAL read_only=ON` behind a running write).
    public static let lockWaitTimeout: UInt32 = 1205
    /// Missing privilege (e.g. `READ_ONLY ADMIN`).
    public static let specificAccessDenied: UInt32 = 1227
    /// The replica asked for a GTID the master does not have (errant or ahead).
    public static let masterFatalReadingBinlog: UInt32 = 1236
    /// Query execution was interrupted (`KILL QUERY`).
    public static let queryInterrupted: UInt32 = 1317
    /// Out-of-order GTID under `gtid_strict_mode`.
    public static let gtidStrictOutOfOrder: UInt32 = 1950
    /// `max_statement_time` exceeded.
    public static let statementTimeout: UInt32 = 1969
    /// Client: can't connect (refused, or timed out).
    public static let connectionError: UInt32 = 2002
    /// Client: can't connect to the host.
    public static let connectionHostError: UInt32 = 2003
    /// Client: unknown host.
    public static let unknownHost: UInt32 = 2005
    /// Client: server has gone away.
    public static let serverGone: UInt32 = 2006
    /// Client: lost connection during a query (also the handshake or read timeout, and `KILL CONNECTION`).
    public static let serverLost: UInt32 = 2013
}

extension MMMError {
    /// Maps a MariaDB error to swift-mmm's error, naming the server and saying what to do.
    ///
    /// - Parameters:
    ///   - error: the number, SQLSTATE and text from the server or Connector/C.
    ///   - endpoint: the server, as in ``MariaDBConfiguration/endpointDescription``.
    ///   - user: the account that was used (never the password).
    ///   - during: what was being done, e.g. `connect` or `query`.
    public static func mariaDB(
        _ error: MariaDBServerError,
        endpoint: String,
        user: String,
        during: String
    ) -> MMMError {
        let code: Code
        let advice: String
        switch error.number {
        case MariaDBErrorNumber.accessDenied, MariaDBErrorNumber.databaseAccessDenied:
            code = .accessDenied
            advice = "check the user and password for '\(user)' in the config and the account's grants on the server"
        case MariaDBErrorNumber.specificAccessDenied:
            code = .accessDenied
            advice = "grant '\(user)' the privilege the server names"
        case MariaDBErrorNumber.tooManyConnections:
            code = .tooManyConnections
            advice = "the server has no free connection slot; raise max_connections or find the connection leak"
        case MariaDBErrorNumber.connectionError, MariaDBErrorNumber.connectionHostError, MariaDBErrorNumber.unknownHost:
            code = .connectionFailed
            advice = "check that mariadbd runs and listens on that address and port, and that the network reaches it"
        case MariaDBErrorNumber.serverGone, MariaDBErrorNumber.serverLost:
            code = .connectionLost
            advice = "the server closed the connection, died, or did not answer in time; reconnect"
        case MariaDBErrorNumber.queryInterrupted:
            code = .interrupted
            advice = "the statement was killed on the server"
        case MariaDBErrorNumber.statementTimeout, MariaDBErrorNumber.lockWaitTimeout:
            code = .timedOut
            advice = "the server gave up waiting; find what blocks it (SHOW PROCESSLIST) and retry"
        default:
            code = .queryFailed
            advice = "see the server's message"
        }
        return MMMError(
            code,
            "\(during) on \(endpoint) as '\(user)' failed with error \(error.number): \(error.text); \(advice)",
            cause: error
        )
    }

    /// The MariaDB error number behind this error, if it came from the server or Connector/C.
    public var mariaDBErrorNumber: UInt32? {
        (self.cause as? MariaDBServerError)?.number
    }
}
