import Foundation
import MMMCore
import MMMSystem
import NIOConcurrencyHelpers
import NIOPosix

/// A long-running program started for a test (an agent in a bench host's namespace), its output in a log file,
/// stopped with SIGTERM (then SIGKILL after a grace period) by its pid.
public final class BackgroundProcess: Sendable {
    /// The process id.
    public let pid: pid_t
    /// Where its standard output and error go.
    public let logPath: String
    /// The exit status once reaped; a reaped pid is never signalled again (it may belong to another process by then).
    private let exitStatus = NIOLockedValueBox<Int32?>(nil)

    private init(pid: pid_t, logPath: String) {
        self.pid = pid
        self.logPath = logPath
    }

    /// Starts `executable` with `arguments` (no shell), output appended to `logPath`.
    /// `extraEnvironment` is added to this process's environment.
    public static func start(
        _ executable: String,
        _ arguments: [String],
        logPath: String,
        extraEnvironment: [String: String] = [:]
    ) throws -> BackgroundProcess {
        var environment: [String: String]? = nil
        if !extraEnvironment.isEmpty {
            environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { _, extra in extra }
        }
        let pid = try ProcessSpawner.spawn(executable, arguments, output: .appending(toFile: logPath), environment: environment)
        return BackgroundProcess(pid: pid, logPath: logPath)
    }

    /// True while the process has not exited.
    public var isRunning: Bool {
        self.exitStatus.withLockedValue { exit in
            guard exit == nil else { return false }
            var status: Int32 = 0
            let result = waitpid(self.pid, &status, WNOHANG)
            if result == self.pid { exit = (status >> 8) & 0xff }
            return result == 0
        }
    }

    /// The log so far.
    public var log: String {
        (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? ""
    }

    /// SIGTERM, then waits up to `grace` for the exit (SIGKILL after that); returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32 {
        // Signal only a child not reaped yet (checked and signalled under the lock, so never a reused pid).
        let done: Int32? = self.exitStatus.withLockedValue { exit in
            if exit == nil { kill(self.pid, SIGTERM) }
            return exit
        }
        if let done { return done }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            let reaped: Int32? = self.exitStatus.withLockedValue { exit in
                var status: Int32 = 0
                let result = waitpid(self.pid, &status, WNOHANG)
                if result == self.pid { exit = (status >> 8) & 0xff } else if result < 0 { exit = -1 }
                return exit
            }
            if let reaped { return reaped }
            try? await Task.sleep(for: .milliseconds(20))
        }
        self.exitStatus.withLockedValue { exit in
            if exit == nil { kill(self.pid, SIGKILL) }
        }
        // Reap without blocking a thread: poll for up to 5 s after SIGKILL.
        let killDeadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < killDeadline {
            let reaped: Bool = self.exitStatus.withLockedValue { exit in
                var status: Int32 = 0
                let result = waitpid(self.pid, &status, WNOHANG)
                if result == self.pid || result < 0 { exit = -1 }
                return exit != nil
            }
            if reaped { return -1 }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return -1
    }
}

extension Bench {
    /// The package's build folder for executables (`.build/debug`), or `MMM_BIN_DIR`.
    public static var binDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["MMM_BIN_DIR"] { return directory }
        return Bench.scriptURL().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug").path
    }

    /// Starts `mmm_agentd` for `host` inside the host's namespace with the config in `configDirectory`.
    public func startAgent(for host: BenchHost, configDirectory: String) throws -> BackgroundProcess {
        guard self.mode == .netns else {
            throw MMMError(.invalidArgument, "agents need the namespace bench (each host its own interface)")
        }
        return try BackgroundProcess.start(
            "/usr/sbin/ip",
            [
                "netns", "exec", "mmmb-\(host.name)", "\(Bench.binDirectory)/mmm_agentd", "--config-dir", configDirectory,
                "--log-level", "debug",
            ],
            logPath: "\(configDirectory)/mmm_agentd.log"
        )
    }

    /// Starts `mmm_mond` in the root namespace (it reaches the hosts over the bench's bridge), logging at debug to
    /// `configDirectory/mmm_mond.log`.
    public func startMonitor(configDirectory: String, environment: [String: String] = [:]) throws -> BackgroundProcess {
        try BackgroundProcess.start(
            "\(Bench.binDirectory)/mmm_mond",
            ["--config-dir", configDirectory, "--log-level", "debug"],
            logPath: "\(configDirectory)/mmm_mond.log",
            extraEnvironment: environment
        )
    }
}
