#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MMMCore
import MMMSystem

/// `--daemon` for `mmm_mond` and `mmm_agentd`: the program starts itself again in a new session, detached from the
/// terminal, with its output appended to a log file, and the first process exits once the daemon holds its pid file.
///
/// Forking a process that already runs threads is unsafe, so there is no `fork()`: the daemon is a fresh
/// `posix_spawn` of `/proc/self/exe` with the same arguments minus `--daemon`.
public enum Daemonizer {
    /// Starts the daemon and waits until it is ready.
    ///
    /// - Parameters:
    ///   - arguments: the daemon's arguments (the current ones without `--daemon`).
    ///   - logFile: where its standard output and error are appended (created mode 0600).
    ///   - pidFile: the pid file the daemon locks and writes; the daemon is ready when it holds the daemon's pid.
    ///     Without one, ready means still running after a second.
    ///   - timeout: how long the daemon may take to get ready.
    /// - Returns: the daemon's pid.
    /// - Throws: ``MMMCore/MMMError`` `commandFailed` when it cannot start, exits early (with the end of its log), or is
    ///   not ready in time.
    public static func start(
        arguments: [String],
        logFile: String,
        pidFile: String?,
        timeout: Duration = .seconds(15)
    ) throws(MMMError) -> pid_t {
        let executable = try Self.currentExecutable()
        let pid = try ProcessSpawner.spawn(executable, arguments, output: .appending(toFile: logFile), newSession: true)
        let deadline = ContinuousClock.now + timeout
        let startedAt = ContinuousClock.now
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let tail = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").suffix(5)
                throw MMMError(
                    .commandFailed,
                    "the daemon exited at once (status \((status >> 8) & 0xff)); the end of \(logFile):\n"
                        + tail.joined(separator: "\n")
                )
            }
            if let pidFile {
                let written = (try? String(contentsOfFile: pidFile, encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if written == String(pid) { return pid }
            } else if ContinuousClock.now - startedAt >= .seconds(1) {
                return pid
            }
            usleep(50_000)
        }
        throw MMMError(
            .timedOut,
            "the daemon (pid \(pid)) did not write its pid file \(pidFile ?? "") within \(timeout); see \(logFile)"
        )
    }

    /// `--daemon`: checks `logFile`'s directory, starts the daemon (this program again with the current arguments minus
    /// `--daemon`), waits until it holds `pidFile`, and prints its pid.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidArgument` for a missing log directory, or as ``start(arguments:logFile:pidFile:timeout:)``.
    public static func detach(program: String, logFile: String, pidFile: String?) throws(MMMError) {
        let directory = (logFile as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory) else {
            throw MMMError(
                .invalidArgument,
                "the directory of --log-file \(logFile) does not exist; create it or pass another --log-file"
            )
        }
        let pid = try self.start(
            arguments: self.daemonArguments(from: CommandLine.arguments), logFile: logFile, pidFile: pidFile
        )
        print("\(program): running in the background as pid \(pid); log: \(logFile)")
    }

    /// MMM's `PROGRAM @CLUSTER` syntax as `--cluster CLUSTER`, for the daemons' argument parsers; the program name
    /// is dropped.
    public static func expandingClusterShorthand(_ arguments: [String]) -> [String] {
        arguments.dropFirst().flatMap { argument -> [String] in
            argument.hasPrefix("@") && argument.count > 1 ? ["--cluster", String(argument.dropFirst())] : [argument]
        }
    }

    /// The arguments of this process without `--daemon` (and the program name).
    public static func daemonArguments(from arguments: [String]) -> [String] {
        Array(arguments.dropFirst()).filter { $0 != "--daemon" }
    }

    private static func currentExecutable() throws(MMMError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else {
            throw MMMError(.commandFailed, "cannot find this program's path (/proc/self/exe): errno \(errno)")
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
