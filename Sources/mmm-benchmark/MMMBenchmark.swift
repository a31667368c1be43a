import ArgumentParser
import Foundation
import MMMCore
import MMMTestSupport
import MariaDBClient

/// `mmm-benchmark`: measures swift-mmm's figures and writes them to BENCHMARKS.md. Not a test: nothing is asserted.
@main
struct MMMBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmm-benchmark",
        abstract: "Measure swift-mmm on real MariaDB servers and write the figures to BENCHMARKS.md.",
        discussion: """
            Runs, on this machine (needs root and mariadb-server: it starts the bench):
              1. connect + SELECT @@gtid_current_pos + close against a mariadbd on loopback (--runs times),
                 and the same query on one open connection;
              2. bring-up and tear-down of a 3-host namespace bench (--bench-runs times).
            Then rewrites the foundation section of BENCHMARKS.md (other sections are kept) with median, p99,
            max, run counts, the machine and the date. Progress goes to standard error.
            """
    )

    @Option(help: "Connect+query runs (at least 1000 for the published table).")
    var runs: Int = 1000

    @Option(help: "Bench bring-up runs.")
    var benchRuns: Int = 5

    @Option(help: "The file to update.")
    var output: String = "BENCHMARKS.md"

    func run() async throws {
        guard self.runs >= 1, self.benchRuns >= 1 else {
            throw ValidationError("--runs and --bench-runs must be at least 1")
        }
        let executor = MariaDBExecutor(numberOfThreads: 8)
        do {
            try await self.measure(executor)
            try await executor.shutdownGracefully()
        } catch {
            try? await executor.shutdownGracefully()
            throw error
        }
    }

    private func measure(_ executor: MariaDBExecutor) async throws {
        progress("starting a 1-host loopback bench")
        let (connectSamples, querySamples, serverVersion) = try await Bench.withBench(hosts: 1, mode: .loopback) {
            bench in
            let configuration = bench.configuration(for: bench.hosts[0])
            var connectSamples: [Duration] = []
            var querySamples: [Duration] = []
            for index in 0..<self.runs {
                let started = ContinuousClock.now
                let connection = try await MariaDBConnection.connect(configuration, on: executor)
                _ = try await connection.query("SELECT @@gtid_current_pos")
                await connection.close()
                connectSamples.append(ContinuousClock.now - started)
                if (index + 1) % 250 == 0 { progress("connect+query+close: \(index + 1)/\(self.runs)") }
            }
            let connection = try await MariaDBConnection.connect(configuration, on: executor)
            for index in 0..<self.runs {
                let started = ContinuousClock.now
                _ = try await connection.query("SELECT @@gtid_current_pos")
                querySamples.append(ContinuousClock.now - started)
                if (index + 1) % 250 == 0 { progress("query on one connection: \(index + 1)/\(self.runs)") }
            }
            let version = connection.serverVersion
            await connection.close()
            return (connectSamples, querySamples, version)
        }

        let (upSamples, downSamples) = try await Bench.withMachineLock { () -> ([Duration], [Duration]) in
            var upSamples: [Duration] = []
            var downSamples: [Duration] = []
            for index in 0..<self.benchRuns {
                progress("bench bring-up \(index + 1)/\(self.benchRuns)")
                let bench = try await Bench.start(hosts: 3, mode: .netns)
                upSamples.append(bench.startDuration)
                let started = ContinuousClock.now
                try await bench.stop()
                downSamples.append(ContinuousClock.now - started)
            }
            return (upSamples, downSamples)
        }

        let rows = [
            Row(what: "connect + `SELECT @@gtid_current_pos` + close, TCP loopback", samples: connectSamples),
            Row(what: "`SELECT @@gtid_current_pos` on one open connection", samples: querySamples),
            Row(what: "bench up: 3 hosts in namespaces, master-master + replica, replication started", samples: upSamples),
            Row(what: "bench down: servers killed, namespaces, links and data removed", samples: downSamples),
        ]
        let section = Self.render(rows: rows, serverVersion: serverVersion)
        try Self.update(file: self.output, section: section)
        print(section)
        progress("wrote \(self.output)")
    }

    /// One line of the table.
    struct Row {
        var what: String
        var samples: [Duration]
    }

    static func render(rows: [Row], serverVersion: String) -> String {
        var text = """
            ## Foundation: client latency and bench bring-up

            Measured \(Machine.date()) on \(Machine.describe()); server \(serverVersion); \
            `swift run -c release mmm-benchmark` (debug builds are slower).

            | what | runs | median | p99 | max |
            | --- | ---: | ---: | ---: | ---: |

            """
        for row in rows {
            let sorted = row.samples.sorted()
            text += "| \(row.what) | \(sorted.count) | \(format(percentile(sorted, 0.5))) | "
                + "\(format(percentile(sorted, 0.99))) | \(format(sorted.last ?? .zero)) |\n"
        }
        return text
    }

    /// Replaces the text between this command's markers, or appends the section.
    static func update(file: String, section: String) throws {
        let begin = "<!-- mmm-benchmark:foundation:begin -->"
        let end = "<!-- mmm-benchmark:foundation:end -->"
        let block = "\(begin)\n\(section)\(end)\n"
        var existing = (try? String(contentsOfFile: file, encoding: .utf8)) ?? "# swift-mmm benchmarks\n\n"
        if let start = existing.range(of: begin), let stop = existing.range(of: end, range: start.upperBound..<existing.endIndex) {
            let lineEnd = existing[stop.upperBound...].first == "\n" ? existing.index(after: stop.upperBound) : stop.upperBound
            existing.replaceSubrange(start.lowerBound..<lineEnd, with: block)
        } else {
            existing += (existing.hasSuffix("\n\n") ? "" : "\n") + block
        }
        try existing.write(toFile: file, atomically: true, encoding: .utf8)
    }
}

/// The nearest-rank percentile of sorted samples.
func percentile(_ sorted: [Duration], _ fraction: Double) -> Duration {
    guard !sorted.isEmpty else { return .zero }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Milliseconds with three significant decimals.
func format(_ duration: Duration) -> String {
    let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return milliseconds < 10 ? String(format: "%.3f ms", milliseconds) : String(format: "%.1f ms", milliseconds)
}

func progress(_ message: String) {
    FileHandle.standardError.write(Data("mmm-benchmark: \(message)\n".utf8))
}

/// What the figures were measured on.
enum Machine {
    static func describe() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("MemTotal") }?
            .split(separator: " ").dropFirst().first.flatMap { Double($0) }
            .map { String(format: "%.0f GiB", $0 / 1024 / 1024) } ?? "unknown memory"
        let kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown kernel"
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(cpu)), \(memory), Linux \(kernel), load average \(load) at the end"
    }

    static func date() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date())
    }
}
