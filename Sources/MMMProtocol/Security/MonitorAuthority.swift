import Crypto
import Foundation
import MMMCore

/// The monitor's Ed25519 public key (`monitor_public_key` in `mmm_common.conf`): agents accept a frame that names
/// the monitor as its sender only when this key's signature is on it.
///
/// The HMAC of every frame proves only that the sender holds the shared secret, which every database host holds
/// (`agent_secret`): without this key any of them could send a writer its orders, or renew an isolated writer's
/// lease. The private half stays on the monitor's host (``MonitorSigningKey``).
public struct MonitorPublicKey: Sendable, Hashable, CustomStringConvertible {
    let key: Curve25519.Signing.PublicKey

    /// Reads the key from its text: the 32-byte key in base64, as ``description`` prints it.
    ///
    /// - Throws: ``MMMCore/MMMError`` (`invalidArgument`) naming what is wrong and how to get a right one.
    public init(text: String) throws(MMMError) {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)), bytes.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        else {
            throw MMMError(
                .invalidArgument,
                "monitor_public_key \(text.prefix(60)) is not a 32-byte Ed25519 public key in base64; "
                    + "print the right one with `mmm_mond --generate-signing-key <file>` or "
                    + "`mmm_mond --print-public-key <file>` on the monitor's host"
            )
        }
        self.key = key
    }

    init(key: Curve25519.Signing.PublicKey) {
        self.key = key
    }

    /// The key in base64 (not secret).
    public var description: String { self.key.rawRepresentation.base64EncodedString() }

    /// Two keys are the same key.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.key.rawRepresentation == rhs.key.rawRepresentation }

    /// Hashes the key's bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.key.rawRepresentation) }

    /// Whether `signature` is this key's over `bytes`.
    func isValidSignature(_ signature: [UInt8], for bytes: [UInt8]) -> Bool {
        self.key.isValidSignature(signature, for: bytes)
    }
}

/// The monitor's Ed25519 private key (`monitor_signing_key` in `mmm_mon.conf`: the path of a file that holds the
/// 32-byte seed in base64, readable by the monitor only). Never printed.
public struct MonitorSigningKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() {
        self.key = Curve25519.Signing.PrivateKey()
    }

    /// Reads the key from its file's text (the seed in base64, surrounding white space ignored).
    ///
    /// - Parameter path: the file's path, for the error message.
    /// - Throws: ``MMMCore/MMMError`` (`invalidArgument`) when the text is not a 32-byte key in base64.
    public init(fileText: String, path: String) throws(MMMError) {
        guard let bytes = Data(base64Encoded: fileText.trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
        else {
            throw MMMError(
                .invalidArgument,
                "\(path) does not hold an Ed25519 signing key (32 bytes in base64); make a new one with "
                    + "`mmm_mond --generate-signing-key \(path)` and put the public key it prints into mmm_common.conf"
            )
        }
        self.key = key
    }

    /// The text a key file holds: the seed in base64 and a newline.
    public var fileText: String { self.key.rawRepresentation.base64EncodedString() + "\n" }

    /// The public half, for `monitor_public_key`.
    public var publicKey: MonitorPublicKey { MonitorPublicKey(key: self.key.publicKey) }

    /// `MonitorSigningKey(public: …)`; never the private key.
    public var description: String { "MonitorSigningKey(public: \(self.publicKey))" }

    /// Same as ``description``.
    public var debugDescription: String { self.description }

    /// This key's signature over `bytes` (64 bytes).
    func signature(for bytes: [UInt8]) -> [UInt8] {
        // Signing with a valid Curve25519 key does not fail; an empty signature would be refused by every agent.
        (try? Array(self.key.signature(for: bytes))) ?? []
    }
}
