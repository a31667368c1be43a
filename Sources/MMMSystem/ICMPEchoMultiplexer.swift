#if canImport(Glibc)
import Glibc
#endif
import MMMCore
import NIOConcurrencyHelpers
import NIOPosix

/// Many pings in flight on one ICMP socket and one thread, for a monitor that pings many hosts.
///
/// ``ICMPPinger`` with a thread pool holds a thread for each ping until its reply or deadline, so hosts that do not
/// answer (every one of them costs its whole deadline) fill the pool and delay the pings of the hosts that do. Here
/// a ping is a `sendto` on a shared non-blocking socket and an entry in a table; one reader thread receives every
/// reply, hands each to its waiter, and fails the waiters whose deadline has passed (to within
/// ``deadlineResolution``). The reader runs while pings are waiting and stops when none are.
public final class ICMPEchoMultiplexer: Sendable {
    /// How late past its deadline a ping may be failed.
    public static let deadlineResolution: Duration = .milliseconds(10)

    private struct Key: Hashable {
        var address: UInt32
        var identifier: UInt16
        var sequence: UInt16
    }

    private struct Waiter {
        var deadline: ContinuousClock.Instant
        var started: ContinuousClock.Instant
        var limit: Duration
        var ip: String
        var continuation: CheckedContinuation<Duration, any Error>
    }

    private struct State {
        var socket: (fd: Int32, raw: Bool)?
        var waiters: [Key: Waiter] = [:]
        var readerRunning = false
    }

    private let state = NIOLockedValueBox(State())
    private let reader: NIOThreadPool

    /// Creates a multiplexer; its socket is opened at the first ping.
    public init() {
        self.reader = NIOThreadPool(numberOfThreads: 1)
        self.reader.start()
    }

    deinit {
        if let socket = self.state.withLockedValue({ $0.socket }) { close(socket.fd) }
        self.reader.shutdownGracefully { _ in }
    }

    /// Sends one echo request to `ip` and returns the round-trip time.
    ///
    /// - Throws: ``MMMError/Code/timedOut`` when no reply came by the deadline, ``MMMError/Code/accessDenied`` when
    ///   neither socket kind is allowed, ``MMMError/Code/invalidArgument`` for a malformed address,
    ///   ``MMMError/Code/connectionFailed`` when the request could not be sent; `CancellationError`.
    public func ping(_ ip: String, deadline limit: Duration) async throws -> Duration {
        var address = in_addr()
        guard inet_pton(AF_INET, ip, &address) == 1 else {
            throw MMMError(.invalidArgument, "'\(ip)' is not an IPv4 address; the ping check needs one")
        }
        let socket = try self.openSocket(ip: ip)
        let target = address
        let key = Key(address: target.s_addr, identifier: UInt16.random(in: 1...UInt16.max), sequence: UInt16.random(in: 0...UInt16.max))
        let request = ICMPEcho.request(identifier: key.identifier, sequence: key.sequence, payload: Array("swift-mmm ping".utf8))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Duration, any Error>) in
                let started = ContinuousClock.now
                let startReader = self.state.withLockedValue { state -> Bool in
                    state.waiters[key] = Waiter(
                        deadline: started + limit, started: started, limit: limit, ip: ip, continuation: continuation
                    )
                    defer { state.readerRunning = true }
                    return !state.readerRunning
                }
                if startReader { self.reader.submit { _ in self.readLoop() } }
                var destination = sockaddr_in()
                destination.sin_family = sa_family_t(AF_INET)
                destination.sin_addr = target
                let sent = request.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &destination) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(socket.fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
                if sent != request.count {
                    // Unreachable networks fail at once (ENETUNREACH, EHOSTUNREACH): the host is down for the check.
                    let error = errno
                    self.finish(key, with: .failure(MMMError(.connectionFailed, "ping \(ip): send failed (errno \(error))")))
                }
            }
        } onCancel: {
            self.finish(key, with: .failure(CancellationError()))
        }
    }

    /// Removes `key`'s waiter, if still there, and resumes it outside the lock.
    private func finish(_ key: Key, with result: Result<Duration, any Error>) {
        let waiter = self.state.withLockedValue { $0.waiters.removeValue(forKey: key) }
        waiter?.continuation.resume(with: result)
    }

    private func openSocket(ip: String) throws -> (fd: Int32, raw: Bool) {
        if let socket = self.state.withLockedValue({ $0.socket }) { return socket }
        var raw = true
        var fd = Glibc.socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), Int32(IPPROTO_ICMP))
        let rawErrno = errno
        if fd < 0 {
            raw = false
            fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), Int32(IPPROTO_ICMP))
        }
        guard fd >= 0 else {
            if rawErrno == EPERM || rawErrno == EACCES {
                throw MMMError(
                    .accessDenied,
                    "cannot ping \(ip): raw ICMP sockets need root or CAP_NET_RAW, and unprivileged ping sockets are not allowed for this group (net.ipv4.ping_group_range); run mmm_mond as root, grant it CAP_NET_RAW, or widen ping_group_range"
                )
            }
            throw MMMError(.commandFailed, "cannot open an ICMP socket to ping \(ip): errno \(rawErrno)")
        }
        let opened = (fd: fd, raw: raw)
        let kept = self.state.withLockedValue { state -> (fd: Int32, raw: Bool) in
            if let existing = state.socket { return existing }
            state.socket = opened
            return opened
        }
        // Two first pings raced: keep one socket.
        if kept.fd != fd { close(fd) }
        return kept
    }

    /// The reader: receives replies and expires deadlines until no ping is waiting.
    private func readLoop() {
        guard let socket = self.state.withLockedValue({ $0.socket }) else {
            self.state.withLockedValue { $0.readerRunning = false }
            return
        }
        let resolution = Int32(Self.deadlineResolution.components.attoseconds / 1_000_000_000_000_000)
        var buffer = [UInt8](repeating: 0, count: 2048)
        var lastSweep = ContinuousClock.now
        while true {
            var poller = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, max(1, resolution))
            if ready > 0 {
                // Drain everything queued on the socket before looking at deadlines.
                while true {
                    var from = sockaddr_in()
                    var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
                    let count = buffer.withUnsafeMutableBytes { bytes in
                        withUnsafeMutablePointer(to: &from) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                recvfrom(socket.fd, bytes.baseAddress, bytes.count, 0, $0, &fromLength)
                            }
                        }
                    }
                    guard count > 0 else { break }
                    self.received(Array(buffer[0..<count]), from: from.sin_addr.s_addr, raw: socket.raw)
                }
            }
            let now = ContinuousClock.now
            guard now - lastSweep >= Self.deadlineResolution || ready <= 0 else { continue }
            lastSweep = now
            let (expired, stop) = self.state.withLockedValue { state -> ([Waiter], Bool) in
                var expired: [Waiter] = []
                for (key, waiter) in state.waiters where waiter.deadline <= now {
                    state.waiters.removeValue(forKey: key)
                    expired.append(waiter)
                }
                if state.waiters.isEmpty {
                    state.readerRunning = false
                    return (expired, true)
                }
                return (expired, false)
            }
            for waiter in expired {
                waiter.continuation.resume(throwing: MMMError(.timedOut, "ping \(waiter.ip): no echo reply within \(waiter.limit)"))
            }
            if stop { return }
        }
    }

    private func received(_ packet: [UInt8], from address: UInt32, raw: Bool) {
        // A raw socket delivers the IP header too (and every ICMP message of the host); a ping socket only the ICMP
        // message, with the identifier rewritten by the kernel, so it is matched by address and sequence.
        guard let icmp = raw ? ICMPEcho.stripIPv4Header(packet) : packet, icmp.count >= 8, icmp[0] == 0 else { return }
        let identifier = UInt16(icmp[4]) << 8 | UInt16(icmp[5])
        let sequence = UInt16(icmp[6]) << 8 | UInt16(icmp[7])
        let now = ContinuousClock.now
        let waiter = self.state.withLockedValue { state -> Waiter? in
            if raw {
                return state.waiters.removeValue(forKey: Key(address: address, identifier: identifier, sequence: sequence))
            }
            guard let key = state.waiters.keys.first(where: { $0.address == address && $0.sequence == sequence }) else {
                return nil
            }
            return state.waiters.removeValue(forKey: key)
        }
        if let waiter { waiter.continuation.resume(returning: now - waiter.started) }
    }
}
