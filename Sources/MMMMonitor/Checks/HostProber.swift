import MMMConfig
import MMMCore
import MMMSystem
import MariaDBClient
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The values of one `<host>` section that the checks use.
public struct MonitoredHost: Sendable, Hashable {
    /// The host's name (`db1`).
    public var name: String
    /// Its permanent IP: ping and MariaDB checks target it.
    public var ip: String
    /// `mysql_port`.
    public var mysqlPort: Int
    /// `monitor_user`.
    public var monitorUser: String
    /// `monitor_password`.
    public var monitorPassword: Secret

    /// Creates a host from its values.
    public init(name: String, ip: String, mysqlPort: Int = 3306, monitorUser: String, monitorPassword: Secret) {
        self.name = name
        self.ip = ip
        self.mysqlPort = mysqlPort
        self.monitorUser = monitorUser
        self.monitorPassword = monitorPassword
    }

    /// Takes a `<host>` section. A section without `monitor_user` gets an empty user (every SQL check then fails to
    /// log in and says so); `loadMonitor` already refuses such a configuration.
    public init(_ host: HostConfiguration) {
        self.init(
            name: host.name, ip: "\(host.ip)", mysqlPort: host.mysqlPort, monitorUser: host.monitorUser ?? "",
            monitorPassword: host.monitorPassword ?? Secret("")
        )
    }
}

/// Runs MMM's four checks against one host and turns what it sees into ``CheckOutcome``s with MMM's texts.
///
/// Each SQL check (`mysql`, `rep_threads`, `rep_backlog`) keeps its own connection open between probes, so a probe
/// costs one round trip instead of a login; a connection that fails in any way is closed and the next probe opens a
/// new one. One connection per check rather than per host, because the checks run on their own cadences and a
/// connection runs one statement at a time: sharing it would make one check wait behind another's hung statement.
/// A kept connection that turns out to be dead (the server restarted) is replaced once within the same probe.
///
/// Every probe ends by the check's `timeout`: a statement gets what is left of it minus the `KILL QUERY` grace, so
/// that a statement killed at its deadline still returns in time. ``CheckScheduler`` adds its own guard on top. Call ``probe(_:)`` for one check at a time per check kind
/// (the scheduler guarantees it); different kinds may run concurrently.
///
/// Until a host has answered, and again once a connect has found nobody answering (its deadline passed: a host that
/// is off, unplugged or black-holed), connects first try a plain TCP connect on NIO's event loops, which holds no thread, and hand over to the
/// blocking client only once the server accepts; a monitor with many dead hosts so never fills its blocking pool with
/// connects that cannot succeed, and the checks of live hosts never wait for a thread behind them. Hosts that answer
/// never get this extra connection (a server counts an unfinished handshake towards `max_connect_errors`; the
/// successful connect right after it resets the count).
public final class HostProber: Sendable {
    /// The host probed.
    public let host: MonitoredHost
    /// The checks' settings (`timeout`, `max_backlog`).
    public let checks: ChecksConfiguration

    private let executor: MariaDBExecutor
    private let pinger: ICMPPinger
    private let connections = NIOLockedValueBox<[CheckKind: MariaDBConnection]>([:])
    private let killGrace: Duration
    private let eventLoopGroup: any EventLoopGroup
    private let clock: MMMClock
    /// What the last connect (of any check) found. Until the host answered, and after a connect found nobody by its
    /// deadline, a connect first tests TCP on the event loops. After such a timeout the replication checks also
    /// answer UNKNOWN at once instead of each waiting out a connect of its own; the `mysql` check keeps trying and
    /// its first success lets them run again.
    private let lastConnect = NIOLockedValueBox(LastConnect.none)

    private enum LastConnect {
        /// No connect was made yet.
        case none
        /// The host answered (or refused fast).
        case answered
        /// Nobody answered by the deadline.
        case timedOut
    }

    /// Creates a prober.
    ///
    /// - Parameters:
    ///   - host: the host to probe.
    ///   - checks: the `<check>` sections (their `timeout` bounds each probe, `max_backlog` judges `rep_backlog`).
    ///   - executor: runs the MariaDB client's blocking calls: only to servers that accepted a connection, so
    ///     ``MariaDBExecutor/boundedThreads(forConnections:limit:)`` with three connections per host is enough.
    ///   - pinger: sends the ICMP echo of the `ping` check.
    ///   - killGrace: how long a timed-out statement's `KILL QUERY` may take (at most a quarter of a check's `timeout`).
    ///   - eventLoopGroup: runs the TCP connects that test an unanswering host without a blocking thread.
    ///   - clock: times each probe's deadline.
    public init(
        host: MonitoredHost,
        checks: ChecksConfiguration,
        executor: MariaDBExecutor,
        pinger: ICMPPinger,
        killGrace: Duration = .milliseconds(250),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: MMMClock = .system
    ) {
        self.clock = clock
        self.host = host
        self.checks = checks
        self.executor = executor
        self.pinger = pinger
        self.killGrace = killGrace
        self.eventLoopGroup = eventLoopGroup
    }

    /// Runs `check` once and returns its outcome; never throws (every failure is an outcome).
    public func probe(_ check: CheckKind) async -> CheckOutcome {
        let timeout = self.checks[check].timeout
        switch check {
        case .ping:
            do {
                _ = try await self.pinger.ping(self.host.ip, deadline: timeout)
                return CheckMessages.ping(ip: self.host.ip, error: nil)
            } catch {
                return CheckMessages.ping(ip: self.host.ip, error: error)
            }
        case .mysql:
            switch await self.run("SELECT NOW()", for: check, timeout: timeout) {
            case .success:
                return .ok(message: "OK")
            case .failure(let failure):
                return CheckMessages.mysql(
                    ip: self.host.ip, port: self.host.mysqlPort, user: self.host.monitorUser,
                    phase: failure.phase, error: failure.error
                )
            }
        case .repThreads, .repBacklog:
            switch await self.run("SHOW ALL SLAVES STATUS", for: check, timeout: timeout) {
            case .success(let result):
                if check == .repThreads { return CheckMessages.repThreads(rows: result.rows) }
                let maxBacklog = Int(self.checks.repBacklog.maxBacklog.components.seconds)
                return CheckMessages.repBacklog(rows: result.rows, maxBacklog: maxBacklog)
            case .failure(let failure):
                return CheckMessages.replicationUnreadable(
                    ip: self.host.ip, port: self.host.mysqlPort, user: self.host.monitorUser,
                    phase: failure.phase, error: failure.error
                )
            }
        }
    }

    /// Closes the kept connections. Probes started later open new ones.
    public func close() async {
        let open = self.connections.withLockedValue { connections in
            defer { connections = [:] }
            return Array(connections.values)
        }
        for connection in open { await connection.close() }
    }

    /// A SQL probe's failure and where it happened.
    struct Failure: Error {
        var phase: CheckMessages.Phase
        var error: any Error
    }

    /// Runs `sql` on the check's kept connection (opening one if needed) within `timeout`.
    private func run(_ sql: String, for check: CheckKind, timeout: Duration) async -> Result<MariaDBResult, Failure> {
        let deadline = self.clock.now + timeout
        var connection = self.connections.withLockedValue { $0.removeValue(forKey: check) }
        var reused = connection != nil
        while true {
            let current: MariaDBConnection
            if let connection {
                current = connection
            } else if check != .mysql, self.lastConnect.withLockedValue({ $0 }) == .timedOut {
                return .failure(
                    Failure(
                        phase: .connect,
                        error: MMMError(
                            .timedOut,
                            "the last connect to \(self.host.ip):\(self.host.mysqlPort) found nobody answering; the mysql check tries again every period"
                        )
                    )
                )
            } else {
                switch await self.connect(until: deadline, timeout: timeout) {
                case .success(let opened): current = opened
                case .failure(let failure): return .failure(failure)
                }
            }
            do {
                // A statement past its deadline is killed within killGrace before the call returns; keep that
                // inside the check's timeout so that the probe as a whole ends by it.
                let remaining = deadline - self.clock.now - self.grace(within: timeout)
                guard remaining > .zero else {
                    await self.keep(current, for: check)
                    return .failure(Failure(phase: .query, error: Self.timeout(timeout, self.host)))
                }
                let result = try await current.query(sql, deadline: remaining)
                await self.keep(current, for: check)
                return .success(result)
            } catch {
                await current.close()
                // A kept connection may have died while idle (the server restarted): that says nothing about the
                // server now, so try once more on a fresh connection.
                if reused, let error = error as? MMMError, error.code == .connectionLost || error.code == .connectionClosed {
                    reused = false
                    connection = nil
                    continue
                }
                return .failure(Failure(phase: .query, error: error))
            }
        }
    }

    private func connect(until deadline: MonitorInstant, timeout: Duration) async -> Result<MariaDBConnection, Failure> {
        let remaining = deadline - self.clock.now
        guard remaining > .milliseconds(1) else {
            return .failure(Failure(phase: .connect, error: Self.timeout(timeout, self.host)))
        }
        let endpoint = "\(self.host.name) (\(self.host.ip):\(self.host.mysqlPort))"
        if self.lastConnect.withLockedValue({ $0 }) != .answered, !(await self.acceptsTCP(within: remaining)) {
            self.lastConnect.withLockedValue { $0 = .timedOut }
            return .failure(
                Failure(
                    phase: .connect,
                    error: MMMError(
                        .timedOut,
                        "connect to \(endpoint) did not finish within \(timeout); check that the host is up and reachable"
                    )
                )
            )
        }
        // What the TCP test left of the budget, not the budget it started with.
        let left = deadline - self.clock.now
        guard left > .milliseconds(1) else {
            return .failure(Failure(phase: .connect, error: Self.timeout(timeout, self.host)))
        }
        let configuration = MariaDBConfiguration(
            name: self.host.name, host: self.host.ip, port: self.host.mysqlPort, user: self.host.monitorUser,
            password: self.host.monitorPassword.revealed(), connectTimeout: left, readTimeout: timeout,
            writeTimeout: timeout, killGrace: self.grace(within: timeout)
        )
        do {
            let connection = try await MariaDBConnection.connect(configuration, on: self.executor)
            self.lastConnect.withLockedValue { $0 = .answered }
            return .success(connection)
        } catch {
            let timedOut = (error as? MMMError)?.code == .timedOut
            self.lastConnect.withLockedValue { $0 = timedOut ? .timedOut : .answered }
            return .failure(Failure(phase: .connect, error: error))
        }
    }

    /// Whether the host's MariaDB port accepts a TCP connection within `limit`, tried on the event loops (no blocking
    /// thread); the connection is closed at once. `true` also when the attempt failed otherwise (refused, unreachable):
    /// the blocking connect then fails fast with the client's own error text.
    private func acceptsTCP(within limit: Duration) async -> Bool {
        let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
        do {
            let bootstrap = ClientBootstrap(group: self.eventLoopGroup).connectTimeout(.milliseconds(max(1, milliseconds)))
            // An IP address is connected to directly, without getaddrinfo on a thread and address-family racing.
            let channel: any Channel
            if let address = try? SocketAddress(ipAddress: self.host.ip, port: self.host.mysqlPort) {
                channel = try await bootstrap.connect(to: address).get()
            } else {
                channel = try await bootstrap.connect(host: self.host.ip, port: self.host.mysqlPort).get()
            }
            try? await channel.close()
            return true
        } catch let error as ChannelError {
            if case .connectTimeout = error { return false }
            return true
        } catch {
            return true
        }
    }

    /// The `KILL QUERY` grace for a check with `timeout`: at most a quarter of it.
    private func grace(within timeout: Duration) -> Duration {
        min(self.killGrace, timeout / 4)
    }

    private func keep(_ connection: MariaDBConnection, for check: CheckKind) async {
        let displaced = self.connections.withLockedValue { $0.updateValue(connection, forKey: check) }
        // Only two probes of one check at once (a caller outside the scheduler) can displace a connection.
        if let displaced, displaced !== connection { await displaced.close() }
    }

    /// The error a probe (or the scheduler's guard) reports when `host` did not answer within `timeout`.
    static func timeout(_ timeout: Duration, _ host: MonitoredHost) -> MMMError {
        MMMError(.timedOut, "no answer from \(host.name) (\(host.ip):\(host.mysqlPort)) within \(timeout)")
    }
}
