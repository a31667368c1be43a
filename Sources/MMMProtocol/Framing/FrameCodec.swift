import Crypto
import NIOCore

/// Turns frames into bytes and bytes into authenticated frames, as pure functions on `ByteBuffer`.
///
/// Layout (version 1; integers big-endian; docs/protocol.md has the byte-by-byte table):
///
/// ```
/// 0   4  magic "MMMP"          20  8  counter
/// 4   1  version (1)           28  8  in-reply-to counter (0 for requests)
/// 5   1  message type          36  1  sender length S (1–64)
/// 6   2  flags (0)             37  1  recipient length R (1–64)
/// 8   4  reserved (0)          38  4  body length B
/// 12  8  timestamp (ms, Int64)  42  S sender, R recipient, B body, [64 Ed25519 signature], 32 HMAC-SHA256
/// ```
///
/// Flag bit 0 (``monitorSignatureFlag``) says a 64-byte Ed25519 signature by the monitor's key follows the body; it
/// covers every byte before it (the flag included). The MAC covers every byte before it, the signature included. ``decode(_:)`` checks, in order: magic, version, type, flags, lengths
/// (the whole frame must fit ``maximumFrameSize``, checked before waiting for or copying the rest), the MAC, then
/// names and body. A frame that fails any step is rejected with a ``ProtocolRejection``; nothing traps.
public struct FrameCodec: Sendable {
    /// The version this build writes and the only one it reads.
    public static let protocolVersion: UInt8 = 1
    /// The versions this build reads.
    public static let supportedVersions: ClosedRange<UInt8> = 1...1
    /// `MMMP`.
    public static let magic: UInt32 = 0x4D4D_4D50
    /// The size of the fixed part of the header, before the sender name.
    public static let fixedHeaderSize = 42
    /// The size of the MAC that ends every frame.
    public static let macSize = 32
    /// The default and largest allowed ``maximumFrameSize``: 64 KiB.
    public static let defaultMaximumFrameSize = 65_536
    /// The flag bit of a frame that carries the monitor's signature.
    public static let monitorSignatureFlag: UInt16 = 1
    /// The flag bits version 1 defines.
    public static let knownFlags: UInt16 = monitorSignatureFlag
    /// The size of the monitor's Ed25519 signature.
    public static let signatureSize = 64

    /// The key frames are signed and checked with.
    public let key: ProtocolKey
    /// The largest whole frame (header, names, body, MAC) accepted or written, in bytes.
    public let maximumFrameSize: Int
    /// The monitor's private key: every frame this codec writes carries its signature (the monitor's codecs only).
    public let signingKey: MonitorSigningKey?
    /// The monitor's public key: a signed frame must verify with it (``ProtocolFrame/isSignedByMonitor``); `nil`
    /// leaves signatures unchecked and every frame unsigned as far as the receiver knows.
    public let monitorKey: MonitorPublicKey?

    /// Creates a codec.
    ///
    /// - Parameters:
    ///   - key: the shared key.
    ///   - maximumFrameSize: the frame size limit; clamped to between the smallest possible frame and
    ///     ``defaultMaximumFrameSize``.
    ///   - signingKey: the monitor's private key, to sign every frame written (the monitor's side only).
    ///   - monitorKey: the monitor's public key, to verify signed frames (the agents' side).
    public init(
        key: ProtocolKey,
        maximumFrameSize: Int = FrameCodec.defaultMaximumFrameSize,
        signingKey: MonitorSigningKey? = nil,
        monitorKey: MonitorPublicKey? = nil
    ) {
        self.signingKey = signingKey
        self.monitorKey = monitorKey
        self.key = key
        self.maximumFrameSize = min(
            max(maximumFrameSize, Self.fixedHeaderSize + 2 + Self.macSize),
            Self.defaultMaximumFrameSize
        )
    }

    // MARK: - Encoding

    /// Appends `frame`, signed, to `buffer`.
    ///
    /// The header's version and flags are written as given (so tests can build frames other versions would send);
    /// leave them at their defaults.
    ///
    /// - Throws: ``ProtocolRejection`` with ``ProtocolRejection/Reason/invalidValue`` when a name, address or text
    ///   breaks the ``WireValidation`` rules, or ``ProtocolRejection/Reason/oversized`` when the frame would exceed
    ///   ``maximumFrameSize``. Nothing is written then.
    public func encode(_ frame: ProtocolFrame, into buffer: inout ByteBuffer) throws(ProtocolRejection) {
        let header = frame.header
        guard WireValidation.isValidName(header.sender) else {
            throw ProtocolRejection(.invalidValue, "sender \(WireWriter.quote(header.sender)) is not a valid name")
        }
        guard WireValidation.isValidName(header.recipient) else {
            throw ProtocolRejection(
                .invalidValue,
                "recipient \(WireWriter.quote(header.recipient)) is not a valid name"
            )
        }
        var writer = WireWriter(allocator: ByteBufferAllocator())
        try frame.message.writeBody(into: &writer)
        let body = writer.buffer
        let senderBytes = Array(header.sender.utf8)
        let recipientBytes = Array(header.recipient.utf8)
        let signatureSize = self.signingKey == nil ? 0 : Self.signatureSize
        let total = Self.fixedHeaderSize + senderBytes.count + recipientBytes.count + body.readableBytes
            + signatureSize + Self.macSize
        guard total <= self.maximumFrameSize else {
            throw ProtocolRejection(
                .oversized,
                "a \(frame.message.messageType) frame would be \(total) bytes; the limit is \(self.maximumFrameSize)"
            )
        }

        var signed = ByteBufferAllocator().buffer(capacity: total)
        signed.writeInteger(Self.magic)
        signed.writeInteger(header.version)
        signed.writeInteger(frame.message.messageType.rawValue)
        signed.writeInteger(self.signingKey == nil ? header.flags : header.flags | Self.monitorSignatureFlag)
        signed.writeInteger(UInt32(0))
        signed.writeInteger(header.stamp.timestamp.millisecondsSince1970)
        signed.writeInteger(header.stamp.counter)
        signed.writeInteger(header.inReplyTo)
        signed.writeInteger(UInt8(senderBytes.count))
        signed.writeInteger(UInt8(recipientBytes.count))
        signed.writeInteger(UInt32(body.readableBytes))
        signed.writeBytes(senderBytes)
        signed.writeBytes(recipientBytes)
        signed.writeImmutableBuffer(body)
        if let signingKey = self.signingKey {
            signed.writeBytes(signingKey.signature(for: Array(signed.readableBytesView)))
        }
        let signedBytes = Array(signed.readableBytesView)
        let mac = HMAC<SHA256>.authenticationCode(for: signedBytes, using: self.key.symmetricKey)
        buffer.writeBytes(signedBytes)
        buffer.writeBytes(Array(mac))
    }

    /// `frame` as a new buffer (see ``encode(_:into:)``).
    public func encode(_ frame: ProtocolFrame) throws(ProtocolRejection) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        try self.encode(frame, into: &buffer)
        return buffer
    }

    // MARK: - Decoding

    /// Reads one frame from the front of `buffer` if it is complete.
    ///
    /// - Returns: the frame, with its bytes consumed; or `nil` when the bytes so far are a valid beginning of a
    ///   frame but not all of it (nothing consumed: call again with more bytes).
    /// - Throws: ``ProtocolRejection`` as soon as the bytes cannot be the beginning of a valid frame: a wrong magic
    ///   byte, an unsupported version, an unknown type or flag is seen before the rest arrives, and an oversized
    ///   length before any more is buffered. The buffer's contents are unspecified afterwards; close the
    ///   connection, the stream cannot be resynchronized.
    public func decode(_ buffer: inout ByteBuffer) throws(ProtocolRejection) -> ProtocolFrame? {
        let start = buffer.readerIndex
        let available = buffer.readableBytes

        // Reject garbage at the first wrong byte instead of waiting for a header's worth of it.
        for offset in 0..<min(4, available) {
            let expected = UInt8(truncatingIfNeeded: Self.magic >> (8 * (3 - offset)))
            guard buffer.getInteger(at: start + offset, as: UInt8.self) == expected else {
                throw ProtocolRejection(.badMagic, "the frame does not start with MMMP (byte \(offset) is wrong)")
            }
        }
        if available > 4, let version = buffer.getInteger(at: start + 4, as: UInt8.self) {
            guard Self.supportedVersions.contains(version) else {
                throw ProtocolRejection(
                    .unsupportedVersion,
                    "protocol version \(version) is not supported; this build speaks version \(Self.protocolVersion)"
                )
            }
        }
        if available > 5, let typeByte = buffer.getInteger(at: start + 5, as: UInt8.self) {
            guard MessageType(rawValue: typeByte) != nil else {
                throw ProtocolRejection(.unknownMessageType, "message type \(typeByte) is not defined in version 1")
            }
        }
        if available >= 8, let flags = buffer.getInteger(at: start + 6, as: UInt16.self) {
            guard flags & ~Self.knownFlags == 0 else {
                throw ProtocolRejection(.unknownFlags, "flags \(flags) has bits version 1 does not define")
            }
        }
        guard available >= Self.fixedHeaderSize else { return nil }

        // The header is complete: every getInteger below is within the readable bytes checked above.
        let reserved = buffer.getInteger(at: start + 8, as: UInt32.self)!  // offset 8 + 4 <= 42
        let senderLength = Int(buffer.getInteger(at: start + 36, as: UInt8.self)!)  // offset 36 < 42
        let recipientLength = Int(buffer.getInteger(at: start + 37, as: UInt8.self)!)  // offset 37 < 42
        let bodyLength = Int(buffer.getInteger(at: start + 38, as: UInt32.self)!)  // offset 38 + 4 <= 42
        guard reserved == 0 else {
            throw ProtocolRejection(.malformedHeader, "the reserved header field is \(reserved), not 0")
        }
        guard (1...WireValidation.maximumNameLength).contains(senderLength) else {
            throw ProtocolRejection(.malformedHeader, "sender length \(senderLength) is outside 1–64")
        }
        guard (1...WireValidation.maximumNameLength).contains(recipientLength) else {
            throw ProtocolRejection(.malformedHeader, "recipient length \(recipientLength) is outside 1–64")
        }
        let flags = buffer.getInteger(at: start + 6, as: UInt16.self)!  // within the fixed header
        let signatureSize = flags & Self.monitorSignatureFlag != 0 ? Self.signatureSize : 0
        let total = Self.fixedHeaderSize + senderLength + recipientLength + bodyLength + signatureSize + Self.macSize
        guard total <= self.maximumFrameSize else {
            throw ProtocolRejection(
                .oversized,
                "the frame declares \(total) bytes (body \(bodyLength)); the limit is \(self.maximumFrameSize)"
            )
        }
        guard available >= total else { return nil }

        let signedLength = total - Self.macSize
        let signedBytes = buffer.getBytes(at: start, length: signedLength)!  // total <= available
        let macBytes = buffer.getBytes(at: start + signedLength, length: Self.macSize)!  // total <= available
        guard
            HMAC<SHA256>.isValidAuthenticationCode(macBytes, authenticating: signedBytes, using: self.key.symmetricKey)
        else {
            throw ProtocolRejection(
                .badMAC,
                "the MAC does not match (a different secret, or the frame was altered); key fingerprint here: "
                    + self.key.fingerprint
            )
        }

        // Authenticated from here on; still validated, since a holder of the secret may have a bug.
        let typeByte = buffer.getInteger(at: start + 5, as: UInt8.self)!  // checked above
        let type = MessageType(rawValue: typeByte)!  // checked above
        let senderBytes = signedBytes[Self.fixedHeaderSize..<(Self.fixedHeaderSize + senderLength)]
        let recipientBytes = signedBytes[
            (Self.fixedHeaderSize + senderLength)..<(Self.fixedHeaderSize + senderLength + recipientLength)
        ]
        guard let sender = String(validating: senderBytes, as: UTF8.self), WireValidation.isValidName(sender) else {
            throw ProtocolRejection(.malformedHeader, "the sender is not a valid name")
        }
        guard let recipient = String(validating: recipientBytes, as: UTF8.self), WireValidation.isValidName(recipient)
        else {
            throw ProtocolRejection(.malformedHeader, "the recipient of a frame from \(sender) is not a valid name")
        }
        var signedByMonitor = false
        if signatureSize > 0, let monitorKey = self.monitorKey {
            let covered = signedLength - signatureSize
            guard
                monitorKey.isValidSignature(Array(signedBytes[covered...]), for: Array(signedBytes[..<covered]))
            else {
                throw ProtocolRejection(
                    .badSignature,
                    "the frame from \(sender) carries a signature that does not verify with monitor_public_key "
                        + "\(monitorKey) (another monitor's key, or mmm_common.conf differs between hosts)"
                )
            }
            signedByMonitor = true
        }
        let header = FrameHeader(
            version: buffer.getInteger(at: start + 4, as: UInt8.self)!,  // within the fixed header
            flags: flags,
            sender: sender,
            recipient: recipient,
            stamp: FrameStamp(
                timestamp: ProtocolTimestamp(millisecondsSince1970: buffer.getInteger(at: start + 12, as: Int64.self)!),
                counter: buffer.getInteger(at: start + 20, as: UInt64.self)!  // within the fixed header
            ),
            inReplyTo: buffer.getInteger(at: start + 28, as: UInt64.self)!  // within the fixed header
        )
        let bodyStart = start + Self.fixedHeaderSize + senderLength + recipientLength
        let body = buffer.getSlice(at: bodyStart, length: bodyLength)!  // total <= available
        let message: ProtocolMessage
        do {
            message = try ProtocolMessage.read(type: type, body: body)
        } catch {
            throw ProtocolRejection(error.reason, "\(type) from \(sender): \(error.message)")
        }
        buffer.moveReaderIndex(forwardBy: total)
        return ProtocolFrame(header: header, message: message, isSignedByMonitor: signedByMonitor)
    }

    /// Decodes `bytes`, which must hold exactly one frame.
    ///
    /// - Throws: ``ProtocolRejection``; ``ProtocolRejection/Reason/truncated`` when the bytes end inside the
    ///   frame, ``ProtocolRejection/Reason/malformedBody`` when bytes follow it.
    public func decodeFrame(from bytes: ByteBuffer) throws(ProtocolRejection) -> ProtocolFrame {
        var buffer = bytes
        guard let frame = try self.decode(&buffer) else {
            throw ProtocolRejection(.truncated, "the input ends after \(bytes.readableBytes) bytes, inside a frame")
        }
        guard buffer.readableBytes == 0 else {
            throw ProtocolRejection(.malformedBody, "\(buffer.readableBytes) bytes follow the frame")
        }
        return frame
    }
}
