import Foundation
import MMMCore
import MMMSystem
import MariaDBClient
import NIOPosix

/// One `mariadbd` host of the bench.
public struct BenchHost: Sendable, Hashable {
    /// `db1`, `db2`, ...
    public var name: String
    /// The address clients use (198.18.0.10N in namespace mode, 127.0.0.1 in loopback mode).
    public var ip: String
    /// The TCP port.
    public var port: Int
    /// The server's Unix socket (root logs in there without a password).
    public var socket: String
    /// The `mariadbd` process id.
    public var pid: Int32
    /// `master` (db1, db2: master-master) or `replica` (db3.., replicas of db1).
    public var role: String
}

/// Drives `bench/bench.sh`: real `mariadbd` hosts, each in its own network namespace on 198.18.0.0/24 (or on
/// loopback ports), db1 <-> db2 master-master by GTID with one domain per master, db3.. replicas of db1.
///
/// Use ``withBench(hosts:_:)``: it always tears the bench down, also when the body throws. Only one bench runs at a
/// time on a machine (a start removes the previous one's leftovers), so tests that use it must be serialized.
public final class Bench: Sendable {
    /// How the hosts are laid out.
    public enum Mode: String, Sendable {
        /// One network namespace per host on 198.18.0.0/24 (needs root).
        case netns
        /// `127.0.0.1` with one port per host.
        case loopback
    }

    /// The hosts, in order db1, db2, ...
    public let hosts: [BenchHost]
    /// The mode the bench runs in.
    public let mode: Mode
    /// An account with all privileges on every host.
    public let adminUser: String
    /// Its password.
    public let adminPassword: String
    /// The replication account.
    public let replicationUser: String
    /// Its password.
    public let replicationPassword: String
    /// An address that answers ARP but drops every reply (netns mode only): connects to it hang.
    public let blackHoleIP: String?
    /// How long `bench.sh up` took.
    public let startDuration: Duration

    private let script: URL
    private let state: URL

    private init(
        hosts: [BenchHost], mode: Mode, environment: [String: String], startDuration: Duration, script: URL,
        state: URL
    ) {
        self.hosts = hosts
        self.mode = mode
        self.adminUser = environment["MMM_BENCH_ADMIN_USER"] ?? "mmm_test"
        self.adminPassword = environment["MMM_BENCH_ADMIN_PASSWORD"] ?? ""
        self.replicationUser = environment["MMM_BENCH_REPL_USER"] ?? "repl"
        self.replicationPassword = environment["MMM_BENCH_REPL_PASSWORD"] ?? ""
        let void = environment["MMM_BENCH_VOID_IP"] ?? ""
        self.blackHoleIP = void.isEmpty ? nil : void
        self.startDuration = startDuration
        self.script = script
        self.state = state
    }

    /// The mode asked for by `MMM_BENCH_MODE` (`netns`, the default, or `loopback`).
    public static var modeFromEnvironment: Mode {
        ProcessInfo.processInfo.environment["MMM_BENCH_MODE"].flatMap(Mode.init(rawValue:)) ?? .netns
    }

    /// Starts a bench with `hosts` hosts, runs `body`, and always tears the bench down.
    public static func withBench<T: Sendable>(
        hosts: Int = 3,
        mode: Mode = Bench.modeFromEnvironment,
        _ body: (Bench) async throws -> T
    ) async throws -> T {
        // One bench per machine: test processes that run at the same time (two developers' worktrees, a test run
        // next to a benchmark) take turns instead of tearing down each other's servers.
        let lock = try await BenchLock.acquire()
        do {
            let bench = try await Bench.start(hosts: hosts, mode: mode)
            let value: T
            do {
                value = try await body(bench)
            } catch {
                try? await bench.stop()
                throw error
            }
            try await bench.stop()
            lock.release()
            return value
        } catch {
            lock.release()
            throw error
        }
    }

    /// Runs `body` holding the machine-wide bench lock, for callers that start and stop benches themselves (the
    /// benchmark's bring-up runs). Do not call ``withBench(hosts:mode:_:)`` inside: it takes the same lock.
    public static func withMachineLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let lock = try await BenchLock.acquire()
        do {
            let value = try await body()
            lock.release()
            return value
        } catch {
            lock.release()
            throw error
        }
    }

    /// Starts a bench. Prefer ``withBench(hosts:mode:_:)``; a caller of `start` must call ``stop()``.
    public static func start(hosts: Int = 3, mode: Mode = Bench.modeFromEnvironment) async throws -> Bench {
        let script = Self.scriptURL()
        let state = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MMM_BENCH_STATE"] ?? "/tmp/mmm-bench")
        var arguments = ["up", "--hosts", String(hosts)]
        if mode == .loopback { arguments.append("--loopback") }
        let started = ContinuousClock.now
        let output = try await Self.run(script, arguments)
        let duration = ContinuousClock.now - started
        guard output.status == 0 else {
            throw MMMError(
                .commandFailed,
                "bench.sh up failed with status \(output.status): \(output.text.suffix(2000)); is mariadb-server installed and are you root?"
            )
        }
        do {
            return try Self.parse(state: state, mode: mode, duration: duration, script: script)
        } catch {
            // The servers are up: never leave them behind because their description could not be read.
            _ = try? await Self.run(script, ["down"])
            throw error
        }
    }

    private static func parse(state: URL, mode: Mode, duration: Duration, script: URL) throws -> Bench {
        let hostsFile = try String(contentsOf: state.appendingPathComponent("hosts.tsv"), encoding: .utf8)
        var parsed: [BenchHost] = []
        for line in hostsFile.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6, let port = Int(fields[2]), let pid = Int32(fields[4]) else {
                throw MMMError(.unexpectedResult, "bench hosts.tsv line '\(line)' is malformed")
            }
            parsed.append(
                BenchHost(name: fields[0], ip: fields[1], port: port, socket: fields[3], pid: pid, role: fields[5])
            )
        }
        let envFile = try String(contentsOf: state.appendingPathComponent("bench.env"), encoding: .utf8)
        var environment: [String: String] = [:]
        for line in envFile.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return Bench(
            hosts: parsed, mode: mode, environment: environment, startDuration: duration, script: script, state: state
        )
    }

    /// Stops every server and removes namespaces, links and data.
    public func stop() async throws {
        let output = try await Self.run(self.script, ["down"])
        guard output.status == 0 else {
            throw MMMError(.commandFailed, "bench.sh down failed with status \(output.status): \(output.text)")
        }
    }

    /// The host called `name`.
    public func host(_ name: String) throws -> BenchHost {
        guard let host = self.hosts.first(where: { $0.name == name }) else {
            throw MMMError(.invalidArgument, "the bench has no host '\(name)' (it has \(self.hosts.map(\.name)))")
        }
        return host
    }

    /// A configuration for the admin account on `host`.
    public func configuration(
        for host: BenchHost,
        connectTimeout: Duration = .seconds(1),
        readTimeout: Duration = .seconds(5)
    ) -> MariaDBConfiguration {
        MariaDBConfiguration(
            name: host.name, host: host.ip, port: host.port, user: self.adminUser, password: self.adminPassword,
            connectTimeout: connectTimeout, readTimeout: readTimeout
        )
    }

    /// `kill -9` of a host's `mariadbd` (a crash).
    public func crash(_ host: BenchHost) throws {
        guard kill(host.pid, SIGKILL) == 0 else {
            throw MMMError(.commandFailed, "kill -9 \(host.pid) (\(host.name)) failed: errno \(errno)")
        }
    }

    /// The path of `bench/bench.sh`: `MMM_BENCH_SCRIPT`, or found from this source file's location in the package.
    public static func scriptURL() -> URL {
        if let path = ProcessInfo.processInfo.environment["MMM_BENCH_SCRIPT"] {
            return URL(fileURLWithPath: path)
        }
        // Sources/MMMTestSupport/Bench.swift -> package root.
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bench/bench.sh")
    }

    /// Runs the bench script without a shell (on its own small thread pool), bounded by two minutes.
    static func run(_ executable: URL, _ arguments: [String]) async throws -> (status: Int32, text: String) {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        do {
            let result = try await CommandRunner(pool: pool).run(executable.path, arguments, deadline: .seconds(120))
            try await pool.shutdownGracefully()
            return (result.status, result.output)
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }
}

/// An exclusive `flock` on `/tmp/mmm-bench.lock`, held while a bench runs; the kernel drops it if the process dies.
final class BenchLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Waits until no other process holds the bench, polling a non-blocking `flock` (so no thread blocks), for at
    /// most `deadline`.
    static func acquire(deadline: Duration = .seconds(600)) async throws -> BenchLock {
        let fd = open("/tmp/mmm-bench.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw MMMError(.commandFailed, "could not open /tmp/mmm-bench.lock: errno \(errno)")
        }
        let end = ContinuousClock.now + deadline
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return BenchLock(descriptor: fd) }
            let error = errno  // read on the thread that made the call
            guard error == EWOULDBLOCK || error == EINTR, ContinuousClock.now < end else {
                close(fd)
                throw MMMError(
                    error == EWOULDBLOCK ? .timedOut : .commandFailed,
                    error == EWOULDBLOCK
                        ? "another bench held /tmp/mmm-bench.lock for \(deadline); is a test run or benchmark hanging?"
                        : "could not lock /tmp/mmm-bench.lock: errno \(error)"
                )
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Releases the lock (closing the descriptor drops it).
    func release() {
        close(self.descriptor)
    }
}
