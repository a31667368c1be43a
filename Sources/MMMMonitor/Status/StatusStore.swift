#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MMMCore
import MMMSystem

/// Saves and loads the monitor's status file atomically (invariant 9).
///
/// ``save(_:)`` writes `path.tmp` (mode 0600), fsyncs it, renames it over `path` and fsyncs the directory, so after a
/// crash at any point the file is either the old status or the new one, never a mix. ``load()`` returns nil when
/// there is no file; a file that cannot be read as a status is moved aside to `path.corrupt-<UTC timestamp>` (kept
/// for the operator, never deleted) and reported with an error naming both paths. A stray `path.tmp` left by a crash
/// is ignored and overwritten by the next save.
///
/// `save` and `load` make blocking system calls (write, fsync, rename): call them from a thread pool
/// (`NIOThreadPool.runIfActive`), never directly on Swift's cooperative pool.
public struct StatusStore<Status: VersionedStatus>: Sendable {
    /// The status file's path (`status_path`).
    public let path: String
    private let clock: MMMClock

    /// A store for the file at `path`. Its directory must exist; `clock` dates a corrupt file set aside.
    public init(path: String, clock: MMMClock = .system) {
        self.path = path
        self.clock = clock
    }

    /// The temporary file a save writes before renaming it over ``path``.
    public var temporaryPath: String { self.path + ".tmp" }

    /// Writes `status` atomically and durably.
    ///
    /// - Throws: ``MMMError/Code/commandFailed`` naming the file and the failing step (`open`, `write`, `fsync`,
    ///   `rename`) with its errno; ``path`` is then unchanged.
    public func save(_ status: Status) throws(MMMError) {
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            data = try encoder.encode(status)
        } catch {
            throw MMMError(.invalidArgument, "the monitor status could not be encoded for \(self.path): \(error)")
        }
        let temporary = self.temporaryPath
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("open", temporary) }
        do throws(MMMError) {
            // The mode given to open() is filtered by the umask and ignored for an existing file; set it outright.
            guard fchmod(fd, 0o600) == 0 else { throw Self.failure("chmod 0600", temporary) }
            let bytes = [UInt8](data)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { buffer in
                    write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Self.failure("write", temporary)
                }
                offset += written
            }
            guard fsync(fd) == 0 else { throw Self.failure("fsync", temporary) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else {
            let failure = Self.failure("close", temporary)
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, self.path) == 0 else {
            let failure = Self.failure("rename to \(self.path)", temporary)
            unlink(temporary)
            throw failure
        }
        try self.syncDirectory()
    }

    /// Reads the status file.
    ///
    /// - Returns: nil when the file does not exist (a first start).
    /// - Throws: ``MMMError/Code/unexpectedResult`` when the file is not a valid status (it is moved aside to
    ///   `path.corrupt-<timestamp>` first, and the message names both paths) or was written by a newer schema (it is
    ///   left in place); ``MMMError/Code/commandFailed`` when it cannot be read.
    public func load() throws(MMMError) -> Status? {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: self.path))
        } catch {
            if FileManager.default.fileExists(atPath: self.path) {
                throw MMMError(.commandFailed, "cannot read the status file \(self.path): \(error)")
            }
            return nil
        }
        let status: Status
        do {
            status = try JSONDecoder().decode(Status.self, from: data)
        } catch {
            let aside = try self.moveAside()
            throw MMMError(
                .unexpectedResult,
                "the status file \(self.path) is corrupt (\(error)); it was moved to \(aside) and the monitor starts as if there were no status file; inspect it, then delete it"
            )
        }
        guard status.schemaVersion <= Status.currentSchemaVersion else {
            throw MMMError(
                .unexpectedResult,
                "the status file \(self.path) has schema version \(status.schemaVersion), newer than this mmm_mond understands (\(Status.currentSchemaVersion)); run the newer mmm_mond or remove the file"
            )
        }
        return status
    }

    /// Renames the file to `path.corrupt-<UTC timestamp>` (with a counter if that exists) and returns the new path.
    private func moveAside() throws(MMMError) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let base = "\(self.path).corrupt-\(formatter.string(from: self.clock.date(self.clock.now)))"
        var target = base
        var counter = 1
        while FileManager.default.fileExists(atPath: target) {
            counter += 1
            target = "\(base).\(counter)"
        }
        guard rename(self.path, target) == 0 else {
            throw Self.failure("rename to \(target)", self.path, doing: "moving a corrupt status file aside")
        }
        try self.syncDirectory()
        return target
    }

    /// fsync of the directory, so the rename itself survives a power loss.
    private func syncDirectory() throws(MMMError) {
        let directory = (self.path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open directory", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Self.failure("fsync directory", directory) }
    }

    private static func failure(_ step: String, _ path: String, doing: String = "saving the monitor status") -> MMMError {
        let code = errno
        return MMMError(
            .commandFailed,
            "\(doing) failed: \(step) of \(path) failed with errno \(code) (\(String(cString: strerror(code)))); check the directory's permissions and free space"
        )
    }
}
