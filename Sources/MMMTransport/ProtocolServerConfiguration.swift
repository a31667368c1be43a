import MMMConfig
import MMMCore
import MMMProtocol

/// Where a protocol server listens, who it is, and its limits.
public struct ProtocolServerConfiguration: Sendable {
    /// This server's protocol name: the recipient every accepted frame must name and the sender of every reply (the
    /// agent's host name, `this` in `mmm_agent.conf`; the monitor's name for a control server).
    public var name: String
    /// The address to listen on (`agent_ip`, or `127.0.0.1` in tests).
    public var host: String
    /// The port to listen on (`agent_port`); 0 lets the system pick one, which ``ProtocolServer/localAddress``
    /// then reports.
    public var port: Int
    /// The shared key frames are authenticated with.
    public var key: ProtocolKey
    /// The largest frame accepted, in bytes (at most ``MMMProtocol/FrameCodec/defaultMaximumFrameSize``).
    public var maximumFrameSize: Int
    /// How long one request may take; past it the requester gets the responder's deadline answer (an agent's
    /// `failed(timedOut)`).
    public var requestDeadline: Duration
    /// How long a connection may stay without a complete frame (while no request is being answered) before it is
    /// closed.
    public var idleTimeout: Duration
    /// How far a frame's timestamp may be from this host's clock (``MMMProtocol/ReplayGuard/window``).
    public var replayWindow: Duration
    /// Mutual TLS (`<socket> type ssl`), or `nil` for plain TCP (`type plain`). Frames are HMAC-checked either way.
    public var tls: ProtocolTLS?
    /// How many connections may be open at once (accepted and not yet closed, whatever their state).
    ///
    /// Checked when a connection is accepted: one beyond the limit is closed at once, before any byte is read from
    /// it, and the refusal is logged at `warning` with its peer address, at most once every 10 s while refusals go
    /// on (with how many were refused since the previous line). Connections already open are unaffected. The limit
    /// bounds the file descriptors a peer can make this process hold.
    public var maximumConnections: Int
    /// How long a new connection may take to deliver its first complete, authenticated frame (the TLS handshake
    /// included) before it is closed; ``idleTimeout`` when that is shorter.
    ///
    /// From the first frame on, ``idleTimeout`` applies. Together with ``maximumConnections`` this keeps peers
    /// that connect and say nothing from holding the connection slots: each is gone after this long.
    public var firstFrameTimeout: Duration
    /// The peer addresses allowed to connect, or `nil` (the default) for any address.
    ///
    /// A connection from any other address is closed when it is accepted, before any byte is read from it, and
    /// logged at `warning` like a refusal by ``maximumConnections``. Nothing is implied: loopback clients
    /// (`127.0.0.1`, `::1`) are refused unless listed. An IPv4 client of a dual-stack IPv6 listener, seen as
    /// `::ffff:a.b.c.d`, is matched by its IPv4 address.
    public var allowedPeers: Set<IPAddress>?
    /// The monitor's public key (`monitor_public_key`): when set, a frame whose sender is ``monitorName`` is refused
    /// unless it carries the monitor's signature, so a host that holds only the shared secret cannot give orders as
    /// the monitor. `nil`: the shared secret is the only proof (MMM's model).
    public var monitorKey: MonitorPublicKey?
    /// The sender name the monitor uses (`monitor`).
    public var monitorName: String = "monitor"

    /// Creates a server configuration.
    ///
    /// - Parameters:
    ///   - name: this server's protocol name (the recipient it accepts).
    ///   - host: the listening address.
    ///   - port: the listening port, 0 for any.
    ///   - key: the shared key.
    ///   - maximumFrameSize: the frame size limit, 64 KiB by default.
    ///   - requestDeadline: the per-request deadline, 10 s by default; handlers bound their own waits below it.
    ///   - idleTimeout: the idle connection timeout, 60 s by default.
    ///   - replayWindow: the allowed clock difference, 30 s by default.
    ///   - tls: mutual TLS settings, `nil` (plain TCP) by default.
    ///   - maximumConnections: the limit of open connections, ``defaultMaximumConnections`` (64) by default.
    ///   - firstFrameTimeout: how long a new connection may take to send its first frame, 2 s by default.
    ///   - allowedPeers: the peer addresses allowed to connect, `nil` (any) by default.
    ///   - monitorKey: the monitor's public key; `nil` (no signature required) by default.
    public init(
        name: String,
        host: String,
        port: Int,
        key: ProtocolKey,
        maximumFrameSize: Int = FrameCodec.defaultMaximumFrameSize,
        requestDeadline: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        replayWindow: Duration = .seconds(30),
        tls: ProtocolTLS? = nil,
        maximumConnections: Int = Self.defaultMaximumConnections,
        firstFrameTimeout: Duration = .seconds(2),
        allowedPeers: Set<IPAddress>? = nil,
        monitorKey: MonitorPublicKey? = nil
    ) {
        self.monitorKey = monitorKey
        self.name = name
        self.host = host
        self.port = port
        self.key = key
        self.maximumFrameSize = maximumFrameSize
        self.requestDeadline = requestDeadline
        self.idleTimeout = idleTimeout
        self.replayWindow = replayWindow
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.firstFrameTimeout = firstFrameTimeout
        self.allowedPeers = allowedPeers
    }

    /// The default of ``maximumConnections``: far more than a cluster needs (the monitor and the peer agents hold
    /// a handful of connections to an agent at a time, each for one request), far fewer than a process's file
    /// descriptor limit.
    public static let defaultMaximumConnections = 64

    /// Checks the connection limits; ``ProtocolServer/run()`` calls it before listening.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidConfiguration` naming the bad value when ``maximumConnections`` is
    ///   below 1, ``firstFrameTimeout`` or ``idleTimeout`` is not positive, or ``allowedPeers`` is empty.
    public func validate() throws(MMMError) {
        guard self.maximumConnections >= 1 else {
            throw MMMError(
                .invalidConfiguration,
                "maximumConnections \(self.maximumConnections) for the \(self.name) server would refuse every "
                    + "connection; set it to 1 or more (the default is \(Self.defaultMaximumConnections))"
            )
        }
        guard self.firstFrameTimeout > .zero else {
            throw MMMError(
                .invalidConfiguration,
                "firstFrameTimeout \(self.firstFrameTimeout) for the \(self.name) server would close every "
                    + "connection before its first frame; set it above zero (the default is 2 s)"
            )
        }
        guard self.idleTimeout > .zero else {
            throw MMMError(
                .invalidConfiguration,
                "idleTimeout \(self.idleTimeout) for the \(self.name) server would close every connection at once; "
                    + "set it above zero (the default is 60 s)"
            )
        }
        if let allowedPeers = self.allowedPeers, allowedPeers.isEmpty {
            throw MMMError(
                .invalidConfiguration,
                "allowedPeers is empty for the \(self.name) server, which would refuse every connection; list the "
                    + "addresses that may connect, or leave it nil to allow any"
            )
        }
    }
}
