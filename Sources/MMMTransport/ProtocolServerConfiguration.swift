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
    public init(
        name: String,
        host: String,
        port: Int,
        key: ProtocolKey,
        maximumFrameSize: Int = FrameCodec.defaultMaximumFrameSize,
        requestDeadline: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        replayWindow: Duration = .seconds(30),
        tls: ProtocolTLS? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.key = key
        self.maximumFrameSize = maximumFrameSize
        self.requestDeadline = requestDeadline
        self.idleTimeout = idleTimeout
        self.replayWindow = replayWindow
        self.tls = tls
    }
}
