import Foundation
import MMMCore
import MMMSystem
import MariaDBClient
import NIOConcurrencyHelpers
import NIOPosix

/// Watches the bench for two writers: every ``interval`` it reads `@@read_only` on every host directly (never through
/// a VIP) and which hosts hold the writer VIP on their interface (`ip -n mmmb-dbN -4 addr show dev eth0`, without a
/// shell), and keeps every sample.
///
/// A sample is a *conflict* when two hosts answered `read_only=OFF`, or two hosts hold the VIP. A host that does not
/// answer within the probe's deadline counts as unknown, never as writable.
///
/// By default `read_only` is read over each host's Unix socket (``Probe/unixSocket``): it works whatever the test did
/// to the network (a host whose link is down, a monitor partition that also cuts the test process off the host's own
/// IP), and a host cut off from the network while still writable is exactly the split brain a failover must not
/// cause. ``Probe/ownIP`` reads it over the host's own address, as a client on the bridge would.
public final class WriterSampler: Sendable {
    /// How `read_only` is read.
    public enum Probe: Sendable, Hashable {
        /// Over the host's Unix socket, as root (sees the server whatever happens to the network).
        case unixSocket
        /// Over the host's own IP with the bench's admin account.
        case ownIP
    }

    /// One look at every host.
    public struct Sample: Sendable, Hashable {
        /// When the sample started.
        public var at: ContinuousClock.Instant
        /// How long it took.
        public var took: Duration
        /// `read_only` per host that answered (`false`: writable).
        public var readOnly: [String: Bool]
        /// Hosts that did not answer (unknown, not writable).
        public var unanswered: [String]
        /// Hosts that hold the writer VIP.
        public var vipHolders: [String]
        /// Hosts whose interface could not be read.
        public var vipUnknown: [String]

        /// Hosts that answered `read_only=OFF`, sorted.
        public var writable: [String] { self.readOnly.filter { !$0.value }.map(\.key).sorted() }
        /// Two writable hosts or two VIP holders.
        public var isConflict: Bool { self.writable.count > 1 || self.vipHolders.count > 1 }

        /// `writable [db1] VIP [db1] unknown [db2]`.
        public var summary: String {
            var text = "writable \(self.writable) VIP \(self.vipHolders.sorted())"
            if !self.unanswered.isEmpty { text += " no answer \(self.unanswered.sorted())" }
            if !self.vipUnknown.isEmpty { text += " interface unknown \(self.vipUnknown.sorted())" }
            return text
        }
    }

    /// The hosts watched.
    public let hosts: [BenchHost]
    /// The VIP whose holders are counted.
    public let vip: String
    /// How often a sample starts (a sample that takes longer delays the next one).
    public let interval: Duration
    /// How `read_only` is read.
    public let probe: Probe
    private let bench: Bench
    private let executor: MariaDBExecutor
    private let runner: CommandRunner
    private let samplesBox = NIOLockedValueBox<[Sample]>([])
    private let stopping = NIOLockedValueBox(false)
    private let finished = NIOLockedValueBox(false)

    private init(
        bench: Bench, hosts: [BenchHost], vip: String, interval: Duration, probe: Probe, executor: MariaDBExecutor,
        runner: CommandRunner
    ) {
        self.bench = bench
        self.hosts = hosts
        self.vip = vip
        self.interval = interval
        self.probe = probe
        self.executor = executor
        self.runner = runner
    }

    /// Samples `hosts` (the bench's, by default) while `body` runs, and always stops.
    ///
    /// - Parameter hosts: give the current ``BenchHost`` values after a restart changed a pid (only names, sockets
    ///   and addresses are used, so the bench's list is fine unless the bench itself changed).
    public static func with<T: Sendable>(
        bench: Bench,
        hosts: [BenchHost]? = nil,
        vip: String = Bench.writerIP,
        interval: Duration = .milliseconds(100),
        probe: Probe = .unixSocket,
        _ body: (WriterSampler) async throws -> T
    ) async throws -> T {
        guard bench.mode == .netns else {
            throw MMMError(.invalidArgument, "the writer sampler reads each host's namespace; it needs the namespace bench")
        }
        // A frozen host leaves one abandoned probe thread per sample inside Connector/C for up to a second.
        let executor = MariaDBExecutor(numberOfThreads: 32)
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        let sampler = WriterSampler(
            bench: bench, hosts: hosts ?? bench.hosts, vip: vip, interval: interval, probe: probe, executor: executor,
            runner: CommandRunner(pool: pool)
        )
        do {
            let value = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await sampler.run() }
                do {
                    let value = try await body(sampler)
                    await sampler.stop()
                    try await group.waitForAll()
                    return value
                } catch {
                    await sampler.stop()
                    try? await group.waitForAll()
                    throw error
                }
            }
            try await executor.shutdownGracefully()
            try await pool.shutdownGracefully()
            return value
        } catch {
            try? await executor.shutdownGracefully()
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    /// Stops sampling after the sample in flight. Safe to call more than once.
    public func stop() async {
        self.stopping.withLockedValue { $0 = true }
        let limit = ContinuousClock.now + .seconds(5)
        while !self.finished.withLockedValue({ $0 }), ContinuousClock.now < limit {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Every sample so far.
    public var samples: [Sample] {
        self.samplesBox.withLockedValue { $0 }
    }

    /// The samples with two writable hosts or two VIP holders.
    public var conflicts: [Sample] {
        self.samples.filter(\.isConflict)
    }

    /// One line per change of what the samples saw (writable hosts, VIP holders, hosts not answering), with the time
    /// relative to `origin` (the first sample by default), e.g. `+1532 ms: writable ["db2"] VIP ["db2"]`, and a
    /// `TWO WRITERS` mark on conflicts.
    public func timeline(from origin: ContinuousClock.Instant? = nil) -> [String] {
        let samples = self.samples
        guard let first = samples.first else { return [] }
        let zero = origin ?? first.at
        var lines: [String] = []
        var last: String?
        for sample in samples where sample.summary != last {
            last = sample.summary
            let offset = milliseconds(of: sample.at - zero)
            lines.append("\(offset >= 0 ? "+" : "")\(offset) ms: \(sample.summary)\(sample.isConflict ? "  TWO WRITERS" : "")")
        }
        return lines
    }

    private func run() async {
        var next = ContinuousClock.now
        while !self.stopping.withLockedValue({ $0 }), !Task.isCancelled {
            let sample = await self.sampleOnce()
            self.samplesBox.withLockedValue { $0.append(sample) }
            next = max(next + self.interval, ContinuousClock.now)
            try? await Task.sleep(until: next, clock: .continuous)
        }
        self.finished.withLockedValue { $0 = true }
    }

    private enum Reading: Sendable {
        case readOnly(String, Bool?)
        case vip(String, Bool?)
    }

    private func sampleOnce() async -> Sample {
        let started = ContinuousClock.now
        var readOnly: [String: Bool] = [:]
        var unanswered: [String] = []
        var holders: [String] = []
        var vipUnknown: [String] = []
        await withTaskGroup(of: Reading.self) { group in
            for host in self.hosts {
                group.addTask { .readOnly(host.name, await self.readOnly(host)) }
                group.addTask { .vip(host.name, await self.holdsVIP(host)) }
            }
            for await reading in group {
                switch reading {
                case .readOnly(let name, let value?): readOnly[name] = value
                case .readOnly(let name, nil): unanswered.append(name)
                case .vip(let name, true?): holders.append(name)
                case .vip(_, false?): break
                case .vip(let name, nil): vipUnknown.append(name)
                }
            }
        }
        return Sample(
            at: started, took: ContinuousClock.now - started, readOnly: readOnly, unanswered: unanswered.sorted(),
            vipHolders: holders.sorted(), vipUnknown: vipUnknown.sorted()
        )
    }

    /// `@@read_only` of `host`, or `nil` if it did not answer within 200 ms.
    private func readOnly(_ host: BenchHost) async -> Bool? {
        var configuration: MariaDBConfiguration
        switch self.probe {
        case .unixSocket:
            configuration = MariaDBConfiguration(
                name: "sampler-\(host.name)", host: host.ip, port: host.port, unixSocket: host.socket, user: "root",
                password: ""
            )
        case .ownIP:
            configuration = self.bench.configuration(for: host)
            configuration.name = "sampler-\(host.name)"
        }
        configuration.connectTimeout = .milliseconds(200)
        configuration.readTimeout = .seconds(1)
        configuration.writeTimeout = .seconds(1)
        configuration.killGrace = .milliseconds(100)
        guard let connection = try? await MariaDBConnection.connect(configuration, on: self.executor) else { return nil }
        let value = try? await connection.query("SELECT @@read_only AS ro", deadline: .milliseconds(200))
            .singleRow("read_only").bool("ro")
        await connection.close()
        return value ?? nil
    }

    /// Whether `host`'s `eth0` holds the VIP, or `nil` if `ip` failed.
    private func holdsVIP(_ host: BenchHost) async -> Bool? {
        guard
            let result = try? await self.runner.run(
                "/usr/sbin/ip", ["-n", "mmmb-\(host.name)", "-4", "addr", "show", "dev", "eth0"], deadline: .seconds(2)
            ),
            result.status == 0
        else { return nil }
        return result.output.contains("inet \(self.vip)/")
    }
}

/// `duration` in whole milliseconds (rounded toward zero), for the failover tests' printed timings.
public func milliseconds(of duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
}
