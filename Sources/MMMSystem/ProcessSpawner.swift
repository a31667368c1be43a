#if canImport(Glibc)
import Glibc
#endif
import MMMCore

/// Starts programs with `posix_spawn`: never through a shell, standard input from `/dev/null`, standard output and
/// error to one place. Used by ``CommandRunner`` (short commands), the daemons' `--daemon` mode and the tests'
/// background processes.
public enum ProcessSpawner {
    /// Where the child's standard output and error go.
    public enum Output: Sendable {
        /// An open file descriptor of the caller's.
        case fileDescriptor(Int32)
        /// A file, created (mode 0600) if missing, appended to.
        case appending(toFile: String)
    }

    /// glibc's `POSIX_SPAWN_SETSID` (since 2.26), which Swift does not import (it is behind `_GNU_SOURCE`).
    private static let setSessionFlag: Int16 = 0x80

    /// Starts `executable` (a path) with `arguments`; returns its pid. The caller must reap it (`waitpid`).
    ///
    /// - Parameters:
    ///   - newSession: start the child in a new session (`setsid`), detached from the caller's terminal and
    ///     process group, as a daemon.
    ///   - environment: the child's whole environment; the caller's when `nil`.
    /// - Throws: ``MMMCore/MMMError`` `commandFailed` naming the program and the system's reason.
    public static func spawn(
        _ executable: String,
        _ arguments: [String],
        output: Output,
        newSession: Bool = false,
        environment: [String: String]? = nil
    ) throws(MMMError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .fileDescriptor(let fd):
            posix_spawn_file_actions_adddup2(&actions, fd, 1)
        case .appending(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        }
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if newSession {
            posix_spawnattr_setflags(&attributes, Self.setSessionFlag)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var envp: [UnsafeMutablePointer<CChar>?] = []
        if let environment {
            envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result: Int32
        if environment != nil {
            result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        } else {
            result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        }
        guard result == 0 else {
            throw MMMError(
                .commandFailed,
                "could not start \(executable): \(String(cString: strerror(result))); check that it is installed and executable"
            )
        }
        return pid
    }
}
