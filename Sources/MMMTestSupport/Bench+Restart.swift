import Foundation
import MMMCore
import MMMSystem
import MariaDBClient

extension Bench {
    /// Starts `host`'s `mariadbd` again after a ``crash(_:)``, exactly as `bench.sh up` started it (same namespace,
    /// own UTS namespace so `@@hostname` stays the host's name, same `my.cnf`, so same datadir, ports, `server-id`,
    /// `skip-slave-start`), waits until it answers on its socket, and returns the host with the new pid.
    ///
    /// The old server must be gone (a running one keeps the datadir locked and the new one exits). The new server is
    /// a child of the calling process; ``stop()`` kills it by its pid file like every other host.
    ///
    /// - Parameter options: extra server options after the config file's, e.g. `--read-only=ON` (MMM requires
    ///   `read_only=1` in every server's `my.cnf`; bench.sh writes `read-only=OFF` for db1, so a restarted db1 would
    ///   otherwise come back writable before any agent could fence it). Each must look like `--name` or
    ///   `--name=value` with a plain value.
    /// - Throws: ``MMMCore/MMMError`` `commandFailed` if it does not answer within `timeout` (the error log's tail
    ///   is in the message).
    public func restartServer(
        _ host: BenchHost,
        options: [String] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> BenchHost {
        guard self.mode == .netns else {
            throw MMMError(.invalidArgument, "restartServer supports the namespace bench only")
        }
        let directory = URL(fileURLWithPath: host.socket).deletingLastPathComponent().path
        let configuration = "\(directory)/my.cnf"
        guard FileManager.default.fileExists(atPath: configuration) else {
            throw MMMError(.invalidArgument, "\(configuration) does not exist; is \(host.name) a host of the running bench?")
        }
        guard host.name.allSatisfy({ $0.isLetter || $0.isNumber }), !directory.contains("'") else {
            throw MMMError(.invalidArgument, "host name '\(host.name)' or folder '\(directory)' cannot be quoted safely")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,")
        for option in options where !option.hasPrefix("--") || !option.allSatisfy(allowed.contains) {
            throw MMMError(.invalidArgument, "server option '\(option)' must look like --name=value with a plain value")
        }
        let extra = options.isEmpty ? "" : " " + options.joined(separator: " ")
        // bench.sh's start_host: `ip netns exec` and `unshare` exec in place and `sh` execs mariadbd, so the spawned
        // pid is the server's. sh only runs `hostname` first; its input is this fixed text, never a caller's.
        let pid = try ProcessSpawner.spawn(
            "/usr/sbin/ip",
            [
                "netns", "exec", "mmmb-\(host.name)", "unshare", "--uts", "sh", "-c",
                "hostname \(host.name) && exec mariadbd --defaults-file='\(configuration)' --user=root\(extra)",
            ],
            output: .appending(toFile: "\(directory)/stdout.log"),
            newSession: true
        )
        let executor = MariaDBExecutor(numberOfThreads: 2)
        do {
            let restarted = try await Self.waitUntilAnswering(host, pid: pid, directory: directory, executor: executor, timeout: timeout)
            try? await executor.shutdownGracefully()
            return restarted
        } catch {
            try? await executor.shutdownGracefully()
            throw error
        }
    }

    private static func waitUntilAnswering(
        _ host: BenchHost,
        pid: pid_t,
        directory: String,
        executor: MariaDBExecutor,
        timeout: Duration
    ) async throws -> BenchHost {
        let probe = MariaDBConfiguration(
            name: host.name, host: host.ip, port: host.port, unixSocket: host.socket, user: "root", password: "",
            connectTimeout: .milliseconds(500), readTimeout: .seconds(2)
        )
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw MMMError(.commandFailed, "\(host.name)'s mariadbd exited at once: \(Self.tail("\(directory)/error.log"))")
            }
            if let connection = try? await MariaDBConnection.connect(probe, on: executor) {
                await connection.close()
                var restarted = host
                // The pid file is what bench.sh's teardown kills by; the spawned pid should be the same process.
                let written = (try? String(contentsOfFile: "\(directory)/mysqld.pid", encoding: .utf8))
                    .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                restarted.pid = written ?? pid
                Self.reapWhenDone(pid)
                return restarted
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        throw MMMError(
            .commandFailed,
            "\(host.name)'s mariadbd did not answer within \(timeout) after a restart: \(Self.tail("\(directory)/error.log"))"
        )
    }

    private static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no \(path))"
        return String(text.suffix(1500))
    }

    /// Reaps the restarted server once it exits (killed by ``stop()``), so it does not stay a zombie of the test
    /// process.
    private static func reapWhenDone(_ pid: pid_t) {
        // Unstructured on purpose: the server outlives the call that started it, and this task only polls waitpid
        // without blocking a thread; it ends when the child is gone.
        Task.detached {
            while true {
                var status: Int32 = 0
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid || result < 0 { return }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
