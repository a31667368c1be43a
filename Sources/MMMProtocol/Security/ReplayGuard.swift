/// Refuses replayed and stale frames: a pure value; the caller passes the time in.
///
/// Rule, per sender (``FrameHeader/sender``):
///
/// 1. The frame's timestamp must lie within ``window`` of the receiver's clock (`now`): older is
///    ``ProtocolRejection/Reason/stale``, newer ``ProtocolRejection/Reason/fromTheFuture``.
/// 2. It must not be older than ``notBefore`` (the receiver's start, when given): frames captured before a receiver
///    restarted cannot be replayed to the fresh process, whose memory is empty.
/// 3. Its ``FrameStamp`` (timestamp, then counter) must be strictly greater than the last stamp accepted from the
///    same sender, else ``ProtocolRejection/Reason/replayed``.
///
/// Only then is the stamp recorded. Call ``admit(_:now:)`` only for frames whose MAC has been verified (everything
/// ``FrameCodec/decode(_:)`` returns), so an attacker cannot poison the record.
///
/// A restarted sender begins its counter again at 1, but its first stamp carries its current wall-clock time, which
/// is later than any stamp it sent before: the receiver accepts it. Only if the sender's clock was stepped back by
/// more than the time the restart took are its frames refused as replays, until its clock passes the last accepted
/// timestamp again (the refusals say so).
///
/// A sender must not have two frames in flight to the same receiver on different connections: the later stamp may
/// arrive first, and the earlier is then refused as a replay.
public struct ReplayGuard: Sendable {
    /// How far a frame's timestamp may be from the receiver's clock, either way.
    public let window: Duration
    /// Frames stamped earlier than this are stale, whatever the window says (the receiver's start time).
    public let notBefore: ProtocolTimestamp?
    /// How many senders are remembered before the inactive ones are forgotten.
    public let maximumSenders: Int
    /// The last stamp accepted from each sender.
    public private(set) var lastAccepted: [String: FrameStamp]

    /// Creates a guard that remembers no sender yet.
    ///
    /// - Parameters:
    ///   - window: the allowed clock difference, 30 s by default; clamped to at least 1 ms.
    ///   - notBefore: the receiver's start time; pass it in daemons, so that frames sent to the previous process
    ///     cannot be replayed to this one. At the cost of refusing, right after a restart, frames from a sender whose
    ///     clock lags this host's.
    ///   - maximumSenders: the memory bound (at least 1).
    public init(window: Duration = .seconds(30), notBefore: ProtocolTimestamp? = nil, maximumSenders: Int = 4_096) {
        self.window = max(window, .milliseconds(1))
        self.notBefore = notBefore
        self.maximumSenders = max(maximumSenders, 1)
        self.lastAccepted = [:]
    }

    /// Accepts `header`'s stamp if it is fresh and newer than the last from its sender, and records it.
    ///
    /// - Throws: ``ProtocolRejection`` with ``ProtocolRejection/Reason/stale``,
    ///   ``ProtocolRejection/Reason/fromTheFuture`` or ``ProtocolRejection/Reason/replayed``; nothing is recorded
    ///   then.
    public mutating func admit(_ header: FrameHeader, now: ProtocolTimestamp) throws(ProtocolRejection) {
        try self.admit(sender: header.sender, stamp: header.stamp, now: now)
    }

    /// Accepts `stamp` from `sender` (see ``admit(_:now:)``).
    public mutating func admit(sender: String, stamp: FrameStamp, now: ProtocolTimestamp) throws(ProtocolRejection) {
        let windowMilliseconds = Self.milliseconds(self.window)
        // Subtracting in Int64 could overflow for a hostile timestamp; compare in a wider type.
        let difference = Int128(stamp.timestamp.millisecondsSince1970) - Int128(now.millisecondsSince1970)
        if difference < -Int128(windowMilliseconds) {
            throw ProtocolRejection(
                .stale,
                "frame from \(sender) was sent \(-difference) ms ago; more than the \(windowMilliseconds) ms window "
                    + "(check the clocks of both hosts, e.g. NTP)"
            )
        }
        if difference > Int128(windowMilliseconds) {
            throw ProtocolRejection(
                .fromTheFuture,
                "frame from \(sender) is stamped \(difference) ms ahead of this host's clock; more than the "
                    + "\(windowMilliseconds) ms window (check the clocks of both hosts, e.g. NTP)"
            )
        }
        if let notBefore = self.notBefore, stamp.timestamp < notBefore {
            throw ProtocolRejection(
                .stale,
                "frame from \(sender) was sent at \(stamp.timestamp), before this receiver started at \(notBefore)"
            )
        }
        if let last = self.lastAccepted[sender], stamp <= last {
            throw ProtocolRejection(
                .replayed,
                "frame from \(sender) with stamp \(stamp) is not newer than the last accepted, \(last)"
            )
        }
        if self.lastAccepted[sender] == nil, self.lastAccepted.count >= self.maximumSenders {
            self.forgetSenders(inactiveAt: now)
            if self.lastAccepted.count >= self.maximumSenders {
                throw ProtocolRejection(
                    .replayed,
                    "too many active senders (\(self.lastAccepted.count)) to track a new one, \(sender), safely"
                )
            }
        }
        self.lastAccepted[sender] = stamp
    }

    /// Forgets senders whose last accepted stamp is older than the window at `now`.
    ///
    /// Safe: any replay of such a sender's frames carries a timestamp at or before its last accepted one, which the
    /// window check already refuses as stale.
    public mutating func forgetSenders(inactiveAt now: ProtocolTimestamp) {
        let oldest = Int128(now.millisecondsSince1970) - Int128(Self.milliseconds(self.window))
        self.lastAccepted = self.lastAccepted.filter { Int128($0.value.timestamp.millisecondsSince1970) >= oldest }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { return Int64.max / 2 }
        return product + attoseconds / 1_000_000_000_000_000
    }
}
