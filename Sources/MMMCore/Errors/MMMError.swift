/// The one error type of swift-mmm.
///
/// Match on ``code``; show ``description`` to people; ``cause`` keeps the underlying error for logs.
/// Messages are lowercase, name the offending value (host, file:line, GTID) and say what to do.
/// They never contain passwords: code that builds an `MMMError` must not interpolate secrets.
public struct MMMError: Error, Hashable, Sendable {
    /// A classification that callers compare against (`error.code == .timedOut`).
    ///
    /// Opaque so new codes can be added without breaking `switch` statements elsewhere.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidArgument
            case invalidConfiguration
            case invalidGTID
            case invalidTransition
            case connectionFailed
            case connectionLost
            case accessDenied
            case tooManyConnections
            case timedOut
            case interrupted
            case queryFailed
            case unexpectedResult
            case connectionClosed
            case commandFailed
        }

        private var base: Base
        private init(_ base: Base) { self.base = base }

        /// A caller passed a value that cannot be used (an unsafe identifier, a malformed address).
        public static var invalidArgument: Self { Self(.invalidArgument) }
        /// A configuration file is wrong; the message names file and line.
        public static var invalidConfiguration: Self { Self(.invalidConfiguration) }
        /// A GTID or GTID list could not be parsed.
        public static var invalidGTID: Self { Self(.invalidGTID) }
        /// A state machine was asked for a transition it does not allow in its current state.
        public static var invalidTransition: Self { Self(.invalidTransition) }
        /// No connection could be made to a server (client errors 2002, 2003, 2005).
        public static var connectionFailed: Self { Self(.connectionFailed) }
        /// An established connection broke (client errors 2006, 2013).
        public static var connectionLost: Self { Self(.connectionLost) }
        /// The server refused the credentials (server error 1045, 1044, 1227).
        public static var accessDenied: Self { Self(.accessDenied) }
        /// The server has no free connection slot (server error 1040).
        public static var tooManyConnections: Self { Self(.tooManyConnections) }
        /// A call did not complete before its deadline.
        public static var timedOut: Self { Self(.timedOut) }
        /// A statement was interrupted on the server (server error 1317, `KILL QUERY`).
        public static var interrupted: Self { Self(.interrupted) }
        /// The server rejected a statement (any other server error number).
        public static var queryFailed: Self { Self(.queryFailed) }
        /// The server answered with something this code does not understand.
        public static var unexpectedResult: Self { Self(.unexpectedResult) }
        /// The connection was closed by this process (after a deadline or `close()`); open a new one.
        public static var connectionClosed: Self { Self(.connectionClosed) }
        /// An external command failed or could not be started.
        public static var commandFailed: Self { Self(.commandFailed) }

        /// The code's name, e.g. `timedOut`.
        public var description: String { self.base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong, in words an operator can act on.
    public var message: String
    /// The error that caused this one, if any. Not part of equality.
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.message)
    }
}

extension MMMError: CustomStringConvertible {
    /// `code: message`, then the cause in parentheses when there is one.
    public var description: String {
        if let cause = self.cause {
            return "\(self.code): \(self.message) (cause: \(cause))"
        }
        return "\(self.code): \(self.message)"
    }
}
