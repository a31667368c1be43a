#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMMCore
import Synchronization

/// A daemon's pid file, guarded by an exclusive `flock` held for the life of the process.
///
/// ``acquire(path:program:pid:)`` opens (or creates) the file, takes a non-blocking exclusive lock on it and writes
/// the pid. The lock, not the pid written in the file, decides whether another instance runs: a file left behind by
/// a crashed run (whose pid may be dead, or reused by an unrelated process) is simply taken over, because the kernel
/// dropped the crashed process's lock when it died. A second instance fails at once with an error naming the file
/// and the pid that holds it.
///
/// The descriptor stays open (close-on-exec, so programs the daemon runs do not inherit it) until ``release()``,
/// which removes the file and drops the lock. A process that dies without calling it leaves the file but not the
/// lock.
///
/// `flock` locks belong to the open file description, so two acquisitions of the same path conflict even inside one
/// process.
public final class PIDFile: Sendable {
    /// The pid file's path.
    public let path: String
    /// The pid written into the file.
    public let pid: Int32
    /// The open, locked descriptor; `nil` once released.
    private let descriptor: Mutex<Int32?>

    private init(path: String, pid: Int32, descriptor: Int32) {
        self.path = path
        self.pid = pid
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        // A pid file dropped without release() keeps nothing locked; the file stays like after a crash.
        if let fd = self.descriptor.withLock({ $0 }) {
            close(fd)
        }
    }

    /// Takes the pid file at `path` for `program` and writes `pid` into it.
    ///
    /// - Parameters:
    ///   - path: where the pid file lives (`/run/mmm_agentd.pid`); its directory must exist.
    ///   - program: the program name used in the error message (`mmm_agentd`).
    ///   - pid: the pid to write; this process's by default.
    /// - Throws: ``MMMCore/MMMError`` with code `commandFailed`: "`program` is already running as pid N (lock on
    ///   FILE)" when another process holds the lock, or a message naming the file and the system error when it
    ///   cannot be opened, locked or written.
    public static func acquire(path: String, program: String, pid: Int32 = getpid()) throws(MMMError) -> PIDFile {
        // A previous owner may remove the file between our open and our lock; we then hold a lock on a file that
        // no longer has this name, so try again with the file now at the path. Three rounds cover any sane race.
        for _ in 0..<3 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else {
                throw MMMError(.commandFailed, "cannot open pid file \(path): \(Self.systemError(errno))")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let lockError = errno
                let holder = Self.readPID(fd)
                close(fd)
                if lockError == EWOULDBLOCK || lockError == EAGAIN {
                    let who = holder.map { "pid \($0)" } ?? "a process whose pid is not yet written"
                    throw MMMError(
                        .commandFailed,
                        "\(program) is already running as \(who) (lock on \(path)); stop it first, or give this "
                            + "instance its own pid file"
                    )
                }
                throw MMMError(.commandFailed, "cannot lock pid file \(path): \(Self.systemError(lockError))")
            }
            guard Self.isSameFile(fd, path) else {
                close(fd)
                continue
            }
            do throws(MMMError) {
                try Self.write(pid: pid, to: fd, path: path)
            } catch {
                close(fd)
                throw error
            }
            return PIDFile(path: path, pid: pid, descriptor: fd)
        }
        throw MMMError(
            .commandFailed,
            "pid file \(path) kept being removed and recreated while \(program) started; is another instance "
                + "starting and stopping in a loop?"
        )
    }

    /// Whether the lock is still held (``release()`` not called yet).
    public var isHeld: Bool {
        self.descriptor.withLock { $0 != nil }
    }

    /// Removes the pid file and drops the lock. Later calls do nothing.
    ///
    /// The file is removed only if it is still the one this process locked, so a file that an operator replaced
    /// meanwhile is left alone. It is removed before the lock is dropped: a starting instance then either finds the
    /// lock held, or no file at all.
    public func release() {
        let taken = self.descriptor.withLock { descriptor in
            defer { descriptor = nil }
            return descriptor
        }
        guard let fd = taken else { return }
        if Self.isSameFile(fd, self.path) {
            unlink(self.path)
        }
        close(fd)
    }

    private static func write(pid: Int32, to fd: Int32, path: String) throws(MMMError) {
        guard ftruncate(fd, 0) == 0 else {
            throw MMMError(.commandFailed, "cannot truncate pid file \(path): \(Self.systemError(errno))")
        }
        let bytes = Array("\(pid)\n".utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else {
            throw MMMError(.commandFailed, "cannot write pid file \(path): \(Self.systemError(errno))")
        }
        guard fsync(fd) == 0 else {
            throw MMMError(.commandFailed, "cannot sync pid file \(path): \(Self.systemError(errno))")
        }
    }

    /// The pid in the file, if it holds a plausible one.
    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
        guard let pid = Int32(text.filter { !$0.isWhitespace }), pid > 0 else { return nil }
        return pid
    }

    /// Whether `path` still names the file open as `fd`.
    private static func isSameFile(_ fd: Int32, _ path: String) -> Bool {
        var opened = stat()
        var named = stat()
        guard fstat(fd, &opened) == 0, lstat(path, &named) == 0 else { return false }
        return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    private static func systemError(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
