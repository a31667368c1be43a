#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMMCore
import NIOConcurrencyHelpers
import NIOPosix

/// The result of running an external program.
public struct CommandResult: Sendable, Hashable {
    /// The exit status (0 for success), or 128 + the signal number if a signal ended it.
    public var status: Int32
    /// Standard output and standard error, interleaved as the program wrote them.
    public var output: String
}

/// Runs external programs without a shell, each with a deadline.
///
/// Arguments are passed to `posix_spawn` as a vector, so nothing in them is ever interpreted by a shell. Output goes
/// to a private temporary file rather than a pipe, so a program that leaves a daemon behind (which would keep a
/// pipe open) cannot make the caller wait. The wait for the child runs on a dedicated thread pool, never on Swift's
/// cooperative pool, and the child is killed with SIGKILL when its deadline passes.
public struct CommandRunner: Sendable {
    private let pool: NIOThreadPool

    /// Creates a runner whose waits use `pool` (which must be started).
    public init(pool: NIOThreadPool) {
        self.pool = pool
    }

    /// Runs `executable` (an absolute path) with `arguments` and returns its status and output.
    ///
    /// - Throws: ``MMMError/Code/commandFailed`` if the program cannot be started, ``MMMError/Code/timedOut`` (after
    ///   killing it) if it outlives `deadline`.
    public func run(
        _ executable: String,
        _ arguments: [String],
        deadline: Duration,
        environment: [String: String]? = nil
    ) async throws -> CommandResult {
        guard executable.hasPrefix("/") else {
            throw MMMError(.invalidArgument, "program '\(executable)' must be an absolute path")
        }
        let (outputFD, outputPath) = try Self.createOutputFile(for: executable)
        defer {
            close(outputFD)
            unlink(outputPath)
        }
        let pid = try ProcessSpawner.spawn(executable, arguments, output: .fileDescriptor(outputFD), environment: environment)
        let child = Child(pid: pid)
        let started = ContinuousClock.now
        let finished: Int32? = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { try await self.pool.runIfActive { child.waitForExit() } }
            group.addTask {
                // try?: a cancelled sleep also ends the child, which is then killed like a timed-out one.
                try? await Task.sleep(until: started + deadline, clock: .continuous)
                return nil
            }
            // Force-unwrap: two children, so at least one result.
            let first = try await group.next()!
            if let status = first {
                group.cancelAll()
                return status
            }
            // The deadline came first, unless the program ended just as well (a busy machine can run both late):
            // then its status counts. Otherwise kill it; the waiting child then reaps it.
            let exitedAnyway = child.killUnlessExited()
            var status: Int32?
            while let next = try await group.next() {
                if let next { status = next }
            }
            return exitedAnyway ? status : nil
        }
        guard let status = finished else {
            if Task.isCancelled { throw CancellationError() }
            throw MMMError(
                .timedOut,
                "\(executable) \(arguments.joined(separator: " ")) did not finish within \(deadline) and was killed"
            )
        }
        let output = Self.readAll(outputFD)
        return CommandResult(status: status, output: output)
    }

    /// A new private file for the child's output, opened close-on-exec: otherwise every program started meanwhile
    /// (by this runner or any other thread) would inherit it. `mkostemp` is not visible from Swift on Glibc, so the
    /// random name and `O_EXCL` do what it does.
    private static func createOutputFile(for executable: String) throws -> (Int32, String) {
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let path = "/tmp/mmm-command-\(suffix)"
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { return (fd, path) }
            if errno != EEXIST { break }
        }
        throw MMMError(.commandFailed, "could not create a temporary file in /tmp for the output of \(executable): errno \(errno)")
    }

    private static func readAll(_ fd: Int32) -> String {
        lseek(fd, 0, SEEK_SET)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One spawned child: its exit is observed without reaping it first, so a kill at the deadline can never hit a
/// process that reused the pid after the child was reaped.
private final class Child: Sendable {
    let pid: pid_t
    private let exited = NIOLockedValueBox(false)

    init(pid: pid_t) {
        self.pid = pid
    }

    /// Blocking: waits until the child has exited, marks it, then reaps it and returns its status (128 + signal when
    /// a signal ended it).
    func waitForExit() -> Int32 {
        var info = siginfo_t()
        // WNOWAIT: the child stays a zombie (its pid stays ours) until it is marked as exited below.
        while waitid(P_PID, id_t(self.pid), &info, WEXITED | WNOWAIT) < 0 {
            if errno != EINTR { break }
        }
        self.exited.withLockedValue { $0 = true }
        var status: Int32 = 0
        while waitpid(self.pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let low = status & 0x7f
        if low == 0 { return (status >> 8) & 0xff }  // exited normally
        return 128 + low  // ended by a signal
    }

    /// Kills the child unless it has already exited; returns true if it had.
    func killUnlessExited() -> Bool {
        self.exited.withLockedValue { exited in
            if !exited { kill(self.pid, SIGKILL) }
            return exited
        }
    }
}
