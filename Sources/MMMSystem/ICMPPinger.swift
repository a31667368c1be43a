#if canImport(Glibc)
import Glibc
#endif
import MMMCore
import NIOPosix

/// ICMP echo ("ping") with a deadline: MMM's `ping` check.
///
/// Uses a raw ICMP socket (`SOCK_RAW`, `IPPROTO_ICMP`), which needs root or `CAP_NET_RAW`; where that is refused it
/// falls back to an unprivileged ping socket (`SOCK_DGRAM`), which Linux allows only to groups in
/// `net.ipv4.ping_group_range` (on Debian that range is `1 0` by default: nobody). The wait runs on a thread pool, never
/// on Swift's cooperative pool, and ends at the deadline whatever the network does.
public struct ICMPPinger: Sendable {
    private let pool: NIOThreadPool?
    private let multiplexer: ICMPEchoMultiplexer?

    /// Creates a pinger whose waits use `pool` (which must be started): one thread per ping in flight.
    public init(pool: NIOThreadPool) {
        self.pool = pool
        self.multiplexer = nil
    }

    /// Creates a pinger whose pings share `multiplexer`'s socket and thread (for many hosts).
    public init(multiplexer: ICMPEchoMultiplexer) {
        self.pool = nil
        self.multiplexer = multiplexer
    }

    /// Sends one echo request to `ip` (IPv4) and returns the round-trip time.
    ///
    /// - Throws: ``MMMError/Code/timedOut`` when no reply came by the deadline, ``MMMError/Code/accessDenied`` when
    ///   neither socket kind is allowed, ``MMMError/Code/invalidArgument`` for a malformed address.
    public func ping(_ ip: String, deadline: Duration) async throws -> Duration {
        var address = in_addr()
        guard inet_pton(AF_INET, ip, &address) == 1 else {
            throw MMMError(.invalidArgument, "'\(ip)' is not an IPv4 address; the ping check needs one")
        }
        if let multiplexer = self.multiplexer {
            return try await multiplexer.ping(ip, deadline: deadline)
        }
        // Force-unwrap: every initializer sets the pool or the multiplexer.
        let pool = self.pool!
        let target = address
        let identifier = UInt16.random(in: 1...UInt16.max)
        let sequence = UInt16.random(in: 0...UInt16.max)
        return try await pool.runIfActive {
            try Self.pingBlocking(ip: ip, address: target, identifier: identifier, sequence: sequence, deadline: deadline)
        }
    }

    private static func openSocket(ip: String) throws -> (fd: Int32, raw: Bool) {
        let raw = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
        if raw >= 0 { return (raw, true) }
        let rawErrno = errno
        let datagram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
        if datagram >= 0 { return (datagram, false) }
        if rawErrno == EPERM || rawErrno == EACCES {
            throw MMMError(
                .accessDenied,
                "cannot ping \(ip): raw ICMP sockets need root or CAP_NET_RAW, and unprivileged ping sockets are not allowed for this group (net.ipv4.ping_group_range); run mmm_mond as root, grant it CAP_NET_RAW, or widen ping_group_range"
            )
        }
        throw MMMError(.commandFailed, "cannot open an ICMP socket to ping \(ip): errno \(rawErrno)")
    }

    /// Blocking: one echo request and its reply, on a pool thread.
    private static func pingBlocking(
        ip: String,
        address: in_addr,
        identifier: UInt16,
        sequence: UInt16,
        deadline: Duration
    ) throws -> Duration {
        let (fd, raw) = try Self.openSocket(ip: ip)
        defer { close(fd) }
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_addr = address
        let request = ICMPEcho.request(identifier: identifier, sequence: sequence, payload: Array("swift-mmm ping".utf8))
        let started = ContinuousClock.now
        let sent = request.withUnsafeBytes { bytes in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == request.count else {
            // Unreachable networks fail at once (ENETUNREACH, EHOSTUNREACH): the host is down for the check.
            throw MMMError(.connectionFailed, "ping \(ip): send failed (errno \(errno))")
        }
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let remaining = deadline - (ContinuousClock.now - started)
            guard remaining > .zero else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(clamping: max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { break }
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &fromLength)
                    }
                }
            }
            guard count > 0 else { continue }
            guard from.sin_addr.s_addr == address.s_addr else { continue }
            let packet = Array(buffer[0..<count])
            // A raw socket delivers the IP header too; a ping socket only the ICMP message (and rewrites the id).
            let icmp = raw ? ICMPEcho.stripIPv4Header(packet) : packet
            if let icmp, ICMPEcho.isReply(icmp, identifier: raw ? identifier : nil, sequence: sequence) {
                return ContinuousClock.now - started
            }
        }
        throw MMMError(.timedOut, "ping \(ip): no echo reply within \(deadline)")
    }
}

/// ICMP echo messages (RFC 792) as bytes.
public enum ICMPEcho {
    /// An echo request (type 8) with its checksum.
    public static func request(identifier: UInt16, sequence: UInt16, payload: [UInt8]) -> [UInt8] {
        var message: [UInt8] = [8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)]
        message += payload
        let sum = self.checksum(message)
        message[2] = UInt8(sum >> 8)
        message[3] = UInt8(sum & 0xff)
        return message
    }

    /// The Internet checksum (RFC 1071): one's complement of the one's-complement sum of 16-bit words.
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// The ICMP part of an IPv4 packet, or nil if it is not a well-formed IPv4 ICMP packet.
    public static func stripIPv4Header(_ packet: [UInt8]) -> [UInt8]? {
        guard let first = packet.first, first >> 4 == 4 else { return nil }
        let headerLength = Int(first & 0x0f) * 4
        guard headerLength >= 20, packet.count >= headerLength + 8, packet[9] == 1 else { return nil }
        return Array(packet[headerLength...])
    }

    /// True for an echo reply (type 0) with this sequence (and identifier, when given) and a valid checksum.
    public static func isReply(_ icmp: [UInt8], identifier: UInt16?, sequence: UInt16) -> Bool {
        guard icmp.count >= 8, icmp[0] == 0, icmp[1] == 0, self.checksum(icmp) == 0 else { return false }
        let replyIdentifier = UInt16(icmp[4]) << 8 | UInt16(icmp[5])
        let replySequence = UInt16(icmp[6]) << 8 | UInt16(icmp[7])
        return replySequence == sequence && (identifier == nil || identifier == replyIdentifier)
    }
}
