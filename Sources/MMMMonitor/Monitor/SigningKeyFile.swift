#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MMMCore
import MMMProtocol

/// The file that holds the monitor's signing key (`monitor_signing_key`): made by
/// `mmm_mond --generate-signing-key`, read at start by ``MonitorSettings/loadSigningKey()``.
public enum SigningKeyFile {
    /// Makes a new key and writes it to a new file at `path`, readable by its owner only (mode 600).
    ///
    /// - Throws: ``MMMCore/MMMError`` when the file exists (a key is never overwritten: the agents trust the old
    ///   one) or cannot be written.
    public static func create(at path: String) throws(MMMError) -> MonitorSigningKey {
        let key = MonitorSigningKey()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST
                ? "it exists; a key is never overwritten (print its public key with --print-public-key, or remove it first)"
                : String(cString: strerror(errno))
            throw MMMError(.invalidArgument, "cannot create the signing key file \(path): \(reason)")
        }
        defer { close(fd) }
        let bytes = Array(key.fileText.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw MMMError(.commandFailed, "cannot write the signing key file \(path): \(reason)")
        }
        return key
    }

    /// Reads the key in the file at `path`.
    ///
    /// - Throws: ``MMMCore/MMMError`` naming the file when it cannot be read or holds no key.
    public static func read(at path: String) throws(MMMError) -> MonitorSigningKey {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MMMError(
                .invalidConfiguration,
                "cannot read monitor_signing_key \(path): \(error); check the path and that mmm_mond may read it",
                cause: error
            )
        }
        return try MonitorSigningKey(fileText: text, path: path)
    }

    /// The line for `mmm_common.conf`.
    public static func configurationLine(for key: MonitorSigningKey) -> String {
        "monitor_public_key \(key.publicKey)"
    }
}
