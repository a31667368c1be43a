import MMMCore

/// Why a frame was refused, with a message for the log.
///
/// Every way the decoder, the MAC check or the ``ReplayGuard`` can refuse input ends here: nothing throws anything
/// else and nothing traps. ``message`` names what was wrong (the field, the length, the sender) and never contains the
/// secret, the key or the MAC bytes. ``error`` turns it into the package's ``MMMError`` for callers that want one
/// error type.
public struct ProtocolRejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of problem; servers may count these per reason.
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        /// The first four bytes are not `MMMP`: not our protocol (or a stream out of sync).
        case badMagic
        /// The protocol version byte is not one this build speaks.
        case unsupportedVersion
        /// The message type byte is not one this version defines.
        case unknownMessageType
        /// Flag bits this version does not define are set.
        case unknownFlags
        /// The declared frame length exceeds the maximum frame size.
        case oversized
        /// The header is inconsistent (a sender or recipient length out of range, an invalid sender name).
        case malformedHeader
        /// The input ended inside a frame.
        case truncated
        /// The MAC does not match: wrong secret, or the frame was altered.
        case badMAC
        /// A frame that names the monitor as its sender lacks the monitor's Ed25519 signature, or the signature does
        /// not verify with `monitor_public_key`.
        case badSignature
        /// The body does not have the layout its message type requires (lengths past the end, trailing bytes,
        /// an unknown enum value).
        case malformedBody
        /// A field holds a value the rules forbid (an invalid role name or IP, a control character in text).
        case invalidValue
        /// The frame's (timestamp, counter) is not newer than the last one accepted from its sender.
        case replayed
        /// The frame's timestamp is further in the past than the window allows (or before the receiver started).
        case stale
        /// The frame's timestamp is further in the future than the window allows.
        case fromTheFuture
        /// The frame is addressed to another host.
        case wrongRecipient
        /// The frame is valid but not what the receiver expects here (a response where a request belongs, a reply
        /// to another request).
        case unexpectedMessage
    }

    /// What kind of problem this is.
    public var reason: Reason
    /// What was wrong, in words for the log (never the secret).
    public var message: String

    /// Creates a rejection.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// The rejection as the package's error type.
    ///
    /// Framing and content problems map to ``MMMError/Code/invalidArgument``; a bad MAC, a replay, a stale or
    /// future timestamp and a wrong recipient (anything that smells of an attacker or a wrong secret) map to
    /// ``MMMError/Code/accessDenied``. The message starts with the reason so logs stay greppable.
    public var error: MMMError {
        MMMError(self.isAuthenticationFailure ? .accessDenied : .invalidArgument, self.description, cause: nil)
    }

    /// Whether the frame failed authentication or freshness rather than parsing.
    public var isAuthenticationFailure: Bool {
        switch self.reason {
        case .badMAC, .badSignature, .replayed, .stale, .fromTheFuture, .wrongRecipient:
            return true
        case .badMagic, .unsupportedVersion, .unknownMessageType, .unknownFlags, .oversized, .malformedHeader,
            .truncated, .malformedBody, .invalidValue, .unexpectedMessage:
            return false
        }
    }

    /// `protocol frame rejected (reason): message`.
    public var description: String {
        "protocol frame rejected (\(self.reason.rawValue)): \(self.message)"
    }
}
