import MMMCore

/// Where and how to connect to one MariaDB server, with the deadlines every call on the connection obeys.
///
/// Connector/C takes its socket timeouts in whole seconds and fixes them at connect time, so the socket timeouts are
/// the rounded-up deadlines and the exact deadlines are enforced by ``MariaDBExecutor`` around every call.
public struct MariaDBConfiguration: Sendable, Hashable {
    /// The name used in messages and logs, e.g. `db1`. Defaults to `host:port`.
    public var name: String
    /// An IP address (never a DNS name: Connector/C's connect timeout does not cover name resolution).
    public var host: String
    /// TCP port.
    public var port: Int
    /// A Unix socket to use instead of TCP (`host` is then only used in messages).
    public var unixSocket: String?
    /// The account to log in as.
    public var user: String
    /// The account's password. Never printed: ``description`` leaves it out.
    public var password: String
    /// Deadline for establishing the connection, including the MariaDB handshake.
    public var connectTimeout: Duration
    /// Deadline for one statement on this connection (the default for ``MariaDBConnection/query(_:deadline:)``).
    public var readTimeout: Duration
    /// Deadline for sending one statement.
    public var writeTimeout: Duration
    /// How long a timed-out statement's `KILL QUERY` may take before it is given up on.
    public var killGrace: Duration

    /// Creates a configuration with the monitoring defaults: connect 1 s, read and write 5 s.
    public init(
        name: String? = nil,
        host: String,
        port: Int = 3306,
        unixSocket: String? = nil,
        user: String,
        password: String,
        connectTimeout: Duration = .seconds(1),
        readTimeout: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(5),
        killGrace: Duration = .milliseconds(250)
    ) {
        self.name = name ?? "\(host):\(port)"
        self.host = host
        self.port = port
        self.unixSocket = unixSocket
        self.user = user
        self.password = password
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
        self.killGrace = killGrace
    }

    /// `name (host:port)` for messages, e.g. `db1 (198.18.0.101:3306)`.
    public var endpointDescription: String {
        let address = self.unixSocket.map { "socket \($0)" } ?? "\(self.host):\(self.port)"
        return self.name == "\(self.host):\(self.port)" ? address : "\(self.name) (\(address))"
    }

    /// Checks the values before they reach Connector/C: an IP literal, a port in range, positive deadlines.
    public func validate() throws(MMMError) {
        guard self.unixSocket != nil || SQLValidation.isIPAddress(self.host) else {
            throw MMMError(
                .invalidArgument,
                "'\(self.host)' for \(self.name) is not an IP address; write an IPv4 or IPv6 address (names are not resolved, so that the connect deadline holds)"
            )
        }
        guard (1...65535).contains(self.port) else {
            throw MMMError(.invalidArgument, "port \(self.port) for \(self.name) is out of range; use 1 to 65535")
        }
        for (label, value) in [
            ("connect", self.connectTimeout), ("read", self.readTimeout), ("write", self.writeTimeout),
        ] where value <= .zero {
            throw MMMError(.invalidArgument, "\(label) timeout for \(self.name) must be positive, got \(value)")
        }
    }
}

extension MariaDBConfiguration: CustomStringConvertible {
    /// Everything but the password.
    public var description: String {
        "MariaDBConfiguration(\(self.endpointDescription), user: \(self.user), password: <redacted>, connect: \(self.connectTimeout), read: \(self.readTimeout))"
    }
}

extension Duration {
    /// Whole seconds, rounded up, at least 1: what Connector/C's timeout options take.
    var wholeSecondsRoundedUp: UInt32 {
        let (seconds, attoseconds) = self.components
        let rounded = seconds + (attoseconds > 0 ? 1 : 0)
        return UInt32(clamping: max(1, rounded))
    }

    /// The duration in seconds as a Double, for SQL values such as `MASTER_GTID_WAIT`'s timeout.
    var secondsDouble: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
