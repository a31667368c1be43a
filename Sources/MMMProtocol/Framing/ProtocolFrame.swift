/// A wall-clock time on the wire: milliseconds since 1970-01-01 00:00 UTC.
///
/// Senders stamp frames with it and receivers compare it with their own clock (``ReplayGuard``), so both sides
/// must keep their clocks within the replay window of each other (NTP). This module never reads a clock: callers
/// pass the time in.
public struct ProtocolTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public var millisecondsSince1970: Int64

    /// Creates a timestamp.
    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    /// Earlier timestamps sort first.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSince1970 < rhs.millisecondsSince1970 }

    /// `<milliseconds>ms`.
    public var description: String { "\(self.millisecondsSince1970)ms" }
}

/// A frame's freshness stamp: when it was sent and a per-sender counter.
///
/// Stamps compare by timestamp, then counter. ``FrameSequencer`` makes each stamp of a sender strictly greater
/// than the previous one; ``ReplayGuard`` accepts a stamp only if it is greater than the last one it accepted from
/// the same sender.
public struct FrameStamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The sender's wall clock when it sent the frame.
    public var timestamp: ProtocolTimestamp
    /// A counter the sender increases with every frame (it restarts at 1 when the sender restarts).
    public var counter: UInt64

    /// Creates a stamp.
    public init(timestamp: ProtocolTimestamp, counter: UInt64) {
        self.timestamp = timestamp
        self.counter = counter
    }

    /// Timestamp first, then counter.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.timestamp, lhs.counter) < (rhs.timestamp, rhs.counter)
    }

    /// `<timestamp>#<counter>`.
    public var description: String { "\(self.timestamp)#\(self.counter)" }
}

/// Everything in a frame besides the message: who sent it, to whom, when, and what it answers.
public struct FrameHeader: Hashable, Sendable {
    /// The protocol version the frame was written in (``FrameCodec/protocolVersion`` for frames this build writes).
    public var version: UInt8
    /// Flag bits; version 1 defines none and rejects any set bit.
    public var flags: UInt16
    /// The sender's name: an agent's host name (`db1`), the monitor's name, or a control client's name.
    public var sender: String
    /// The name of the host or monitor the frame is for; receivers check it is their own name.
    public var recipient: String
    /// When the frame was sent, plus the sender's counter.
    public var stamp: FrameStamp
    /// For an answer, the counter of the request it answers; 0 for requests.
    public var inReplyTo: UInt64

    /// Creates a header.
    public init(
        version: UInt8 = FrameCodec.protocolVersion,
        flags: UInt16 = 0,
        sender: String,
        recipient: String,
        stamp: FrameStamp,
        inReplyTo: UInt64 = 0
    ) {
        self.version = version
        self.flags = flags
        self.sender = sender
        self.recipient = recipient
        self.stamp = stamp
        self.inReplyTo = inReplyTo
    }
}

/// One authenticated unit on the wire: a header and a message.
///
/// What ``FrameCodec/decode(_:)`` returns has passed the MAC check and every field rule; freshness (replay, clock
/// window) and the recipient are the receiver's to check with ``ReplayGuard`` and ``requireRecipient(_:)``.
public struct ProtocolFrame: Hashable, Sendable {
    /// Sender, recipient, stamp.
    public var header: FrameHeader
    /// The message.
    public var message: ProtocolMessage
    /// Whether the frame carried the monitor's signature and it verified with the receiver's `monitor_public_key`
    /// (set by ``FrameCodec/decode(_:)`` only; ignored when encoding, which signs when the codec has the private key).
    public var isSignedByMonitor: Bool

    /// Creates a frame.
    public init(header: FrameHeader, message: ProtocolMessage, isSignedByMonitor: Bool = false) {
        self.header = header
        self.message = message
        self.isSignedByMonitor = isSignedByMonitor
    }

    /// A request frame from `sender` to `recipient`.
    public static func request(
        _ request: AgentRequest,
        from sender: String,
        to recipient: String,
        stamp: FrameStamp
    ) -> ProtocolFrame {
        ProtocolFrame(
            header: FrameHeader(sender: sender, recipient: recipient, stamp: stamp),
            message: .agentRequest(request)
        )
    }

    /// A control request frame from a control client to the monitor.
    public static func control(
        _ request: ControlRequest,
        from sender: String,
        to recipient: String,
        stamp: FrameStamp
    ) -> ProtocolFrame {
        ProtocolFrame(
            header: FrameHeader(sender: sender, recipient: recipient, stamp: stamp),
            message: .controlRequest(request)
        )
    }

    /// The answer to this frame: sender and recipient swapped, ``FrameHeader/inReplyTo`` set to this frame's counter.
    public func reply(with message: ProtocolMessage, stamp: FrameStamp) -> ProtocolFrame {
        ProtocolFrame(
            header: FrameHeader(
                sender: self.header.recipient,
                recipient: self.header.sender,
                stamp: stamp,
                inReplyTo: self.header.stamp.counter
            ),
            message: message
        )
    }

    /// Whether this frame answers `request`: it comes from the request's recipient, is addressed to its sender,
    /// names its counter and is not itself a request.
    public func isReply(to request: ProtocolFrame) -> Bool {
        !self.message.messageType.isRequest && self.header.sender == request.header.recipient
            && self.header.recipient == request.header.sender && self.header.inReplyTo == request.header.stamp.counter
    }

    /// Throws ``ProtocolRejection/Reason/wrongRecipient`` unless the frame is addressed to `name`.
    ///
    /// Without this check a frame captured on its way to one host could be replayed to another, whose
    /// ``ReplayGuard`` has not seen it.
    public func requireRecipient(_ name: String) throws(ProtocolRejection) {
        guard self.header.recipient == name else {
            throw ProtocolRejection(
                .wrongRecipient,
                "frame from \(self.header.sender) is addressed to \(self.header.recipient), not to \(name)"
            )
        }
    }
}

/// Hands out strictly increasing ``FrameStamp``s for one sender.
///
/// The timestamp is the caller's wall-clock time, but never less than the previous stamp's (a clock stepping back
/// does not make stamps go backwards); the counter increases by one per stamp, starting at 1. After a restart the
/// counter starts again at 1, and the stamp is still newer than any sent before the restart because its timestamp is
/// later (see docs/protocol.md, "Replay protection").
public struct FrameSequencer: Hashable, Sendable {
    /// The last stamp handed out, or `nil` before the first.
    public private(set) var last: FrameStamp?

    /// Creates a sequencer that has not stamped anything yet.
    public init() {
        self.last = nil
    }

    /// The next stamp for a frame sent at `now`.
    public mutating func next(now: ProtocolTimestamp) -> FrameStamp {
        let stamp: FrameStamp
        if let last = self.last {
            stamp = FrameStamp(timestamp: max(now, last.timestamp), counter: last.counter &+ 1)
        } else {
            stamp = FrameStamp(timestamp: now, counter: 1)
        }
        self.last = stamp
        return stamp
    }
}
