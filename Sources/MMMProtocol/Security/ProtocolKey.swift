import Crypto

/// The 32-byte HMAC-SHA256 key both ends of a connection share.
///
/// It is derived from the configured secret (the common config's `agent_secret`, or a secret derived from
/// `agent_password`) with HKDF-SHA256 (RFC 5869):
///
/// - input key material: the secret's UTF-8 bytes (or the given bytes);
/// - salt: the ASCII bytes of ``salt`` (`swift-mmm protocol salt v1`);
/// - info: the ASCII bytes of ``info`` (`swift-mmm monitor-agent frame HMAC-SHA256 v1`);
/// - output: 32 bytes.
///
/// The same secret always gives the same key, on every host. The key never appears in ``description``; use
/// ``fingerprint`` to compare keys across hosts in logs.
///
/// - Important: an empty or short secret gives a weak key. The configuration validator is responsible for
///   refusing one; this type accepts what it is given.
public struct ProtocolKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The HKDF salt, fixed for protocol version 1.
    public static let salt = "swift-mmm protocol salt v1"
    /// The HKDF info string, fixed for protocol version 1.
    public static let info = "swift-mmm monitor-agent frame HMAC-SHA256 v1"

    /// The derived key.
    let symmetricKey: SymmetricKey

    /// Derives the key from a secret text (UTF-8).
    public init(secret: String) {
        self.init(secretBytes: Array(secret.utf8))
    }

    /// Derives the key from secret bytes.
    public init(secretBytes: [UInt8]) {
        self.symmetricKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secretBytes),
            salt: Array(Self.salt.utf8),
            info: Array(Self.info.utf8),
            outputByteCount: 32
        )
    }

    /// The derived key bytes (for tests and for comparing with another implementation; never log them).
    public var keyBytes: [UInt8] {
        self.symmetricKey.withUnsafeBytes { Array($0) }
    }

    /// A short, non-secret identifier of the key: the first 8 hex digits of SHA-256 over `fingerprint` and the key.
    /// Two hosts with the same secret print the same fingerprint; it reveals nothing useful about the key.
    public var fingerprint: String {
        var hasher = SHA256()
        hasher.update(data: Array("fingerprint".utf8))
        self.symmetricKey.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().prefix(4).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// `ProtocolKey(fingerprint: …)`; never the key.
    public var description: String { "ProtocolKey(fingerprint: \(self.fingerprint))" }

    /// Same as ``description``.
    public var debugDescription: String { self.description }
}
