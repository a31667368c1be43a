import Foundation
import MMMCore
import MariaDBClient
import NIOConcurrencyHelpers

/// A client that inserts one row per statement, continuously, through one address (the writer VIP), and records
/// every insert the server acknowledged: what a failover test needs to measure the write outage a client sees and
/// the acknowledged writes a failover lost.
///
/// Each row carries a unique id (1, 2, 3, ... in the order they were sent). An id whose `INSERT` returned OK is
/// *acknowledged*; an id whose `INSERT` failed (error, timeout, lost connection) is *in doubt*: it may or may not have
/// committed. After any error the client closes its connection, pauses ``Configuration/retryPause`` and connects
/// again, so it follows the VIP wherever it moves.
///
/// The load writes as an ordinary application account (``Configuration/user``, created by ``with(_:_:)`` with only
/// `SELECT, INSERT, CREATE` on the table's schema): an account with `READ_ONLY ADMIN` or `SUPER` (the bench's admin
/// account, which is also the agents' account) writes through `read_only=ON` and is spared when the agent kills
/// sessions, so it would keep writing into a fenced old writer.
///
/// The table has no unique key on `id` (`KEY (id)` only), on purpose: a transaction applied twice (the seed's failure)
/// then shows up as a duplicate id in ``check(on:)`` instead of only as a replication error.
public final class WriteLoad: Sendable {
    /// Where and how the load writes.
    public struct Configuration: Sendable, Hashable {
        /// The address every insert goes to (the writer VIP, `198.18.0.200` on the bench).
        public var address: String
        /// The server port.
        public var port: Int
        /// The application account the load writes as (created with only `SELECT, INSERT, CREATE` on the schema).
        public var user: String
        /// Its password.
        public var password: String
        /// An account allowed to create users, for the setup (the bench's admin account).
        public var adminUser: String
        /// Its password.
        public var adminPassword: String
        /// `schema.table` the load creates and fills.
        public var table: String
        /// How long a connect may take.
        public var connectTimeout: Duration
        /// How long one `INSERT` may take.
        public var readTimeout: Duration
        /// The pause after a failed connect or insert, before the next connect.
        public var retryPause: Duration
        /// The shortest time between the starts of two inserts (`nil`: back to back). The bench machine has two
        /// shared cores; an unpaced load would compete with the monitor and agents whose timing the test measures.
        public var pace: Duration?

        /// A load on `address` with the usual failover-test timings: connect 300 ms, insert 1 s, retry after 20 ms, at
        /// most one insert started per 2 ms.
        public init(
            address: String,
            port: Int = 3306,
            user: String = "mmm_load",
            password: String = "mmm_load_pw",
            adminUser: String,
            adminPassword: String,
            table: String = "mmm_bench.load",
            connectTimeout: Duration = .milliseconds(300),
            readTimeout: Duration = .seconds(1),
            retryPause: Duration = .milliseconds(20),
            pace: Duration? = .milliseconds(2)
        ) {
            self.address = address
            self.port = port
            self.user = user
            self.password = password
            self.adminUser = adminUser
            self.adminPassword = adminPassword
            self.table = table
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.retryPause = retryPause
            self.pace = pace
        }
    }

    /// An insert the server acknowledged.
    public struct Acknowledgement: Sendable, Hashable {
        /// The row's id.
        public var id: Int64
        /// When the `INSERT` returned OK.
        public var at: ContinuousClock.Instant
    }

    /// A failed connect or insert.
    public struct Failure: Sendable, Hashable {
        /// When it failed.
        public var at: ContinuousClock.Instant
        /// The id of the insert that failed (its outcome is unknown), or `nil` for a failed connect.
        public var id: Int64?
        /// The error's text.
        public var error: String
    }

    /// The time between two acknowledged inserts.
    public struct Gap: Sendable, Hashable {
        /// The acknowledgement before the gap (or the start of the range asked for).
        public var from: ContinuousClock.Instant
        /// The acknowledgement after it; for a gap still open when the load stopped, the stop.
        public var to: ContinuousClock.Instant
        /// True if no insert was acknowledged after the gap began (writes never resumed before the stop).
        public var open: Bool
        /// `to - from`.
        public var duration: Duration { self.to - self.from }
    }

    /// What a table holds compared with what the load was told.
    public struct Check: Sendable, Hashable {
        /// How many inserts were acknowledged.
        public var acknowledged: Int
        /// How many rows the table holds.
        public var rows: Int
        /// Acknowledged ids missing from the table: lost acknowledged writes.
        public var lost: [Int64]
        /// Ids present more than once: transactions applied twice.
        public var duplicates: [Int64]
        /// Ids present whose insert was never acknowledged (the client got an error but the row committed: the
        /// un-ACKed window).
        public var unacknowledgedPresent: Int
    }

    private struct State {
        var acknowledgements: [Acknowledgement] = []
        var failures: [Failure] = []
        var stopping = false
        var paused = false
        var idle = false
        var finished = false
        var startedAt: ContinuousClock.Instant?
        var stoppedAt: ContinuousClock.Instant?
    }

    /// The configuration the load runs with.
    public let configuration: Configuration
    private let executor: MariaDBExecutor
    private let state = NIOLockedValueBox(State())

    private init(configuration: Configuration, executor: MariaDBExecutor) {
        self.configuration = configuration
        self.executor = executor
    }

    /// Creates the application account and the table through ``Configuration/address`` (with the admin account),
    /// runs the load while `body` runs, and always stops it and shuts its executor down.
    ///
    /// - Throws: the setup's error (nothing is running then), or `body`'s.
    public static func with<T: Sendable>(
        _ configuration: Configuration,
        _ body: (WriteLoad) async throws -> T
    ) async throws -> T {
        // Hung connects and abandoned statements each hold a thread until Connector/C gives up (its socket timeouts
        // are whole seconds), so the pool is sized well above the one statement in flight.
        let executor = MariaDBExecutor(numberOfThreads: 8)
        let load = WriteLoad(configuration: configuration, executor: executor)
        do {
            try await load.prepare()
            let value = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await load.run() }
                do {
                    let value = try await body(load)
                    await load.stop()
                    try await group.waitForAll()
                    return value
                } catch {
                    await load.stop()
                    try? await group.waitForAll()
                    throw error
                }
            }
            try await executor.shutdownGracefully()
            return value
        } catch {
            try? await executor.shutdownGracefully()
            throw error
        }
    }

    /// Stops the load and returns once no insert is in flight any more. Safe to call more than once.
    public func stop() async {
        self.state.withLockedValue { state in
            state.stopping = true
        }
        let limit = ContinuousClock.now + self.configuration.connectTimeout + self.configuration.readTimeout + .seconds(2)
        while !self.state.withLockedValue({ $0.finished }), ContinuousClock.now < limit {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops sending inserts after the one in flight, and returns once that one has finished (so a caller can then
    /// compare servers knowing nothing more will be acknowledged).
    public func pause() async {
        self.state.withLockedValue { state in
            state.paused = true
            state.idle = false
        }
        let limit = ContinuousClock.now + self.configuration.connectTimeout + self.configuration.readTimeout + .seconds(2)
        while !self.state.withLockedValue({ $0.idle || $0.finished }), ContinuousClock.now < limit {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Resumes after ``pause()``.
    public func resume() {
        self.state.withLockedValue { state in
            state.paused = false
            state.idle = false
        }
    }

    /// Every acknowledged insert so far, in the order they were acknowledged.
    public var acknowledgements: [Acknowledgement] {
        self.state.withLockedValue { $0.acknowledgements }
    }

    /// The acknowledged ids so far.
    public var acknowledgedIDs: [Int64] {
        self.state.withLockedValue { $0.acknowledgements.map(\.id) }
    }

    /// Every failed connect or insert so far.
    public var failures: [Failure] {
        self.state.withLockedValue { $0.failures }
    }

    /// When the load began inserting.
    public var startedAt: ContinuousClock.Instant? {
        self.state.withLockedValue { $0.startedAt }
    }

    /// The first insert acknowledged after `instant`, if any yet.
    public func firstAcknowledgement(after instant: ContinuousClock.Instant) -> Acknowledgement? {
        self.state.withLockedValue { state in
            let index = Self.firstIndex(in: state.acknowledgements, after: instant)
            return index < state.acknowledgements.endIndex ? state.acknowledgements[index] : nil
        }
    }

    /// The index of the first acknowledgement after `instant` (they are appended in time order, so a binary search).
    private static func firstIndex(in acknowledgements: [Acknowledgement], after instant: ContinuousClock.Instant) -> Int {
        var low = 0
        var high = acknowledgements.count
        while low < high {
            let middle = (low + high) / 2
            if acknowledgements[middle].at > instant { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The longest time between two acknowledged inserts within `from...to` (the whole run by default): the write
    /// outage a client saw. A gap still open at the end (writes never resumed) counts up to the stop (or now) and is
    /// marked ``Gap/open``. `nil` before the first acknowledgement.
    public func longestGap(from: ContinuousClock.Instant? = nil, to: ContinuousClock.Instant? = nil) -> Gap? {
        let (acks, stoppedAt) = self.state.withLockedValue { ($0.acknowledgements, $0.stoppedAt) }
        let end = to ?? stoppedAt ?? ContinuousClock.now
        var times = acks.map(\.at).filter { $0 <= end }
        if let from { times = times.filter { $0 >= from } }
        guard var previous = times.first else { return nil }
        var longest = Gap(from: previous, to: previous, open: false)
        for time in times.dropFirst() {
            if time - previous > longest.duration { longest = Gap(from: previous, to: time, open: false) }
            previous = time
        }
        if end - previous > longest.duration { longest = Gap(from: previous, to: end, open: true) }
        return longest
    }

    /// Waits until `count` inserts were acknowledged after `instant`, and returns the last of them.
    ///
    /// - Throws: ``MMMCore/MMMError`` `timedOut` after `timeout`, with the last failure's text.
    @discardableResult
    public func waitForAcknowledgements(
        _ count: Int,
        after instant: ContinuousClock.Instant,
        timeout: Duration
    ) async throws -> Acknowledgement {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (found, lastFailure) = self.state.withLockedValue { state in
                let index = Self.firstIndex(in: state.acknowledgements, after: instant)
                return (Array(state.acknowledgements[index...].prefix(count)), state.failures.last)
            }
            if found.count >= count, let last = found.last { return last }
            guard ContinuousClock.now < deadline else {
                throw MMMError(
                    .timedOut,
                    "the write load got \(found.count) of \(count) acknowledged inserts within \(timeout) through \(self.configuration.address); last error: \(lastFailure?.error ?? "none")"
                )
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// A one-line summary of the failures: how many, and the distinct error texts (first 5) with their counts.
    public var failureSummary: String {
        let failures = self.failures
        var counts: [String: Int] = [:]
        var order: [String] = []
        for failure in failures {
            // Thread ids and deadlines differ per error; the text before them is what tells the errors apart.
            let key = String(failure.error.prefix(90))
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        let listed = order.prefix(5).map { "\(counts[$0]!)x \($0)" }  // !: every key in order was counted
        return "\(failures.count) failures" + (listed.isEmpty ? "" : ": " + listed.joined(separator: " | "))
    }

    /// Compares the table on `server` (the final writer; connect through its own address or socket, with an account
    /// that can read the table) with the acknowledged ids. Call it after ``stop()``, inside ``with(_:_:)`` (it uses
    /// the load's executor), once the server has applied what it will get.
    public func check(on server: MariaDBConfiguration) async throws -> Check {
        let acknowledged = Set(self.acknowledgedIDs)
        let failedIDs = Set(self.failures.compactMap(\.id))
        var reading = server
        reading.readTimeout = max(server.readTimeout, .seconds(10))
        let connection = try await MariaDBConnection.connect(reading, on: self.executor)
        let result: MariaDBResult
        do {
            result = try await connection.query("SELECT id, COUNT(*) AS n FROM \(self.configuration.table) GROUP BY id")
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
        var present = Set<Int64>()
        var duplicates: [Int64] = []
        var rows = 0
        for row in result.rows {
            guard let text = try row.string("id"), let id = Int64(text), let count = try row.int("n") else {
                throw MMMError(.unexpectedResult, "\(self.configuration.table) on \(server.endpointDescription) returned a row without id or count")
            }
            present.insert(id)
            rows += count
            if count > 1 { duplicates.append(id) }
        }
        let lost = acknowledged.subtracting(present).sorted()
        let unacknowledged = present.subtracting(acknowledged)
        // An id present but neither acknowledged nor failed was never sent: the table holds rows this load did not write.
        let stray = unacknowledged.subtracting(failedIDs)
        guard stray.isEmpty else {
            throw MMMError(
                .unexpectedResult,
                "\(self.configuration.table) on \(server.endpointDescription) holds ids this load never sent (\(stray.sorted().prefix(5))); use a fresh table"
            )
        }
        return Check(
            acknowledged: acknowledged.count, rows: rows, lost: lost, duplicates: duplicates.sorted(),
            unacknowledgedPresent: unacknowledged.count
        )
    }

    // MARK: - The load itself

    private var loadConfiguration: MariaDBConfiguration {
        MariaDBConfiguration(
            name: "write-load", host: self.configuration.address, port: self.configuration.port,
            user: self.configuration.user, password: self.configuration.password,
            connectTimeout: self.configuration.connectTimeout, readTimeout: self.configuration.readTimeout,
            writeTimeout: self.configuration.readTimeout, killGrace: .milliseconds(200)
        )
    }

    private func prepare() async throws {
        let admin = MariaDBConfiguration(
            name: "write-load-setup", host: self.configuration.address, port: self.configuration.port,
            user: self.configuration.adminUser, password: self.configuration.adminPassword,
            connectTimeout: .seconds(2), readTimeout: .seconds(10)
        )
        let schema = self.configuration.table.split(separator: ".").first.map(String.init) ?? "mmm_bench"
        let connection = try await MariaDBConnection.connect(admin, on: self.executor)
        do {
            for statement in [
                "CREATE USER IF NOT EXISTS '\(self.configuration.user)'@'%' IDENTIFIED BY '\(self.configuration.password)'",
                "GRANT SELECT, INSERT, CREATE ON \(schema).* TO '\(self.configuration.user)'@'%'",
                "CREATE TABLE IF NOT EXISTS \(self.configuration.table) (id BIGINT NOT NULL, at TIMESTAMP(6) NOT NULL, KEY (id)) ENGINE=InnoDB",
            ] {
                _ = try await connection.query(statement)
            }
            let existing = try await connection.query("SELECT COUNT(*) AS n FROM \(self.configuration.table)")
                .singleRow("row count").int("n") ?? 0
            await connection.close()
            guard existing == 0 else {
                throw MMMError(
                    .invalidArgument,
                    "\(self.configuration.table) already holds \(existing) rows; the load needs an empty table to tell its ids apart"
                )
            }
        } catch {
            await connection.close()
            throw error
        }
    }

    private func run() async {
        let configuration = self.loadConfiguration
        var connection: MariaDBConnection?
        var nextID: Int64 = 1
        var lastStart = ContinuousClock.now
        self.state.withLockedValue { $0.startedAt = ContinuousClock.now }
        while true {
            let (stopping, paused) = self.state.withLockedValue { state -> (Bool, Bool) in
                if state.paused { state.idle = true }
                return (state.stopping, state.paused)
            }
            if stopping || Task.isCancelled { break }
            if paused {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            if let pace = self.configuration.pace {
                try? await Task.sleep(until: lastStart + pace, clock: .continuous)
            }
            lastStart = ContinuousClock.now
            var id: Int64?
            do {
                if connection == nil {
                    connection = try await MariaDBConnection.connect(configuration, on: self.executor)
                }
                id = nextID
                nextID += 1
                // !: set just above when it was nil.
                _ = try await connection!.query("INSERT INTO \(self.configuration.table) (id, at) VALUES (\(id!), NOW(6))")
                let now = ContinuousClock.now
                self.state.withLockedValue { $0.acknowledgements.append(Acknowledgement(id: id!, at: now)) }
            } catch {
                let now = ContinuousClock.now
                self.state.withLockedValue { $0.failures.append(Failure(at: now, id: id, error: "\(error)")) }
                if let open = connection { await open.close() }
                connection = nil
                try? await Task.sleep(for: self.configuration.retryPause)
            }
        }
        if let open = connection { await open.close() }
        self.state.withLockedValue { state in
            state.finished = true
            state.stoppedAt = ContinuousClock.now
        }
    }
}
