#if canImport(Glibc)
import CNIOLinux
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import MMMConfig
import MMMCore
import MMMDaemon
import NIOCore
import Synchronization

/// Decides, when a connection is accepted, whether the server takes it: its peer must be on
/// ``ProtocolServerConfiguration/allowedPeers`` (when set) and fewer than
/// ``ProtocolServerConfiguration/maximumConnections`` may be open. It counts the connections it admits until each
/// closes, and logs refusals at most once per ``refusalLogInterval`` per reason.
final class ConnectionAdmission: Sendable {
    /// The least time between two log lines about refusals for the same reason: a burst of refused connections is
    /// one line, and a sustained flood one line every 10 s, each with the number refused since the previous one.
    static let refusalLogInterval: Duration = .seconds(10)

    private let maximumConnections: Int
    private let allowedPeers: Set<IPAddress>?
    private let logger: Logger
    private let open = Mutex(0)
    private let limitRefusals = RefusalLog(interval: ConnectionAdmission.refusalLogInterval)
    private let peerRefusals = RefusalLog(interval: ConnectionAdmission.refusalLogInterval)

    /// Admission for a server with `configuration`'s limits; refusals are logged to `logger`.
    init(configuration: ProtocolServerConfiguration, logger: Logger) {
        self.maximumConnections = configuration.maximumConnections
        self.allowedPeers = configuration.allowedPeers
        self.logger = logger
    }

    /// Whether to serve `connection`, just accepted; if so it is counted until it closes. A refused connection is
    /// logged (rate-limited) but not closed here: the caller closes it.
    func admit(_ connection: any Channel) -> Bool {
        let peer = connection.remoteAddress
        if let allowed = self.allowedPeers {
            guard let address = peer.flatMap(IPAddress.init(peer:)), allowed.contains(address) else {
                if let unlogged = self.peerRefusals.record() {
                    self.logger.warning(
                        "Connection from an address not allowed; closing it",
                        metadata: [
                            LogKey.peer: "\(peer?.description ?? "unknown")",
                            LogKey.refusedConnections: "\(unlogged)",
                        ]
                    )
                }
                return false
            }
        }
        let admitted = self.open.withLock { open in
            guard open < self.maximumConnections else { return false }
            open += 1
            return true
        }
        guard admitted else {
            if let unlogged = self.limitRefusals.record() {
                self.logger.warning(
                    "Connection limit reached; closing new connections",
                    metadata: [
                        LogKey.peer: "\(peer?.description ?? "unknown")",
                        LogKey.connectionLimit: "\(self.maximumConnections)",
                        LogKey.refusedConnections: "\(unlogged)",
                    ]
                )
            }
            return false
        }
        connection.closeFuture.whenComplete { _ in
            self.open.withLock { $0 -= 1 }
        }
        return true
    }
}

/// Counts refusals and says when one should be logged.
private final class RefusalLog: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var unlogged = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration) {
        self.interval = interval
    }

    /// Records one refusal; returns how many refusals (this one included) the log line for it should report, or
    /// `nil` when a line was written less than `interval` ago.
    func record() -> Int? {
        let now = ContinuousClock.now
        return self.state.withLock { state in
            state.unlogged += 1
            if let last = state.lastLogged, now - last < self.interval { return nil }
            let count = state.unlogged
            state.lastLogged = now
            state.unlogged = 0
            return count
        }
    }
}

/// The server channel's first handler: closes each accepted connection that ``ConnectionAdmission`` refuses before
/// it is registered, so that no byte is read from it and no protocol handler or task is set up for it.
final class ConnectionAdmissionHandler: ChannelInboundHandler {
    /// An accepted connection, not yet registered.
    typealias InboundIn = any Channel
    /// The same connection, when admitted.
    typealias InboundOut = any Channel

    private let admission: ConnectionAdmission

    /// A handler that asks `admission` about every accepted connection.
    init(admission: ConnectionAdmission) {
        self.admission = admission
    }

    /// Passes an admitted connection on to be set up and served; closes a refused one.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let connection = Self.unwrapInboundIn(data)
        guard self.admission.admit(connection) else {
            connection.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}

extension IPAddress {
    /// The IP address of `peer`; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, an IPv4 client of a dual-stack
    /// listener) gives its IPv4 address. `nil` for a Unix domain socket.
    init?(peer: SocketAddress) {
        switch peer {
        case .v4(let address):
            let bytes = withUnsafeBytes(of: address.address.sin_addr) { Array($0) }
            self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
        case .v6(let address):
            let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                self = .v4(bytes[12], bytes[13], bytes[14], bytes[15])
            } else {
                self = .v6(stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) })
            }
        case .unixDomainSocket:
            return nil
        }
    }
}
