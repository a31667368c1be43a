import ArgumentParser
import MMMConfig
import MMMCore
import MariaDBClient

/// `mmm_control [--config-dir DIR] [@CLUSTER] probe [HOST...]`: ask every server directly what it reports.
struct Probe: AsyncParsableCommand {
    /// Name and help text.
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Connect to each host with its monitor account and show what the server reports.",
        discussion: """
            Reads the hosts of mmm_mon.conf (with mmm_common.conf), connects to every one at once with its \
            monitor_user, and prints read_only, server_id, gtid_domain_id, the GTID positions and every \
            replication connection (threads, master, GTID mode, lag, errors). Needs no monitor or agent: use it \
            to see the servers as they are. Every connection has a deadline (--timeout), so a dead host is \
            reported, never waited for. Warns when more than one host is writable.
            Exit status: 0 when every host answered, 1 otherwise.
            """
    )

    /// `--config-dir` and `--cluster`.
    @OptionGroup var options: GlobalOptions

    /// Deadline for each connection and statement.
    @Option(help: "Deadline in seconds for each connect and statement.")
    var timeout: Double = 2

    /// Only these hosts (default: all).
    @Argument(help: "Hosts to probe (default: every host in the config).")
    var hosts: [String] = []

    /// Refuses a deadline that is not a positive number of seconds up to an hour.
    func validate() throws {
        guard self.timeout.isFinite, self.timeout > 0, self.timeout <= 3600 else {
            throw ValidationError("--timeout must be a number of seconds above 0 and at most 3600, got \(self.timeout)")
        }
    }

    /// Probes every host concurrently and prints the reports in config order.
    func run() async throws {
        let configuration = try self.options.directory.loadMonitor(cluster: self.options.cluster)
        var selected = configuration.hosts
        if !self.hosts.isEmpty {
            for name in self.hosts where configuration.host(named: name) == nil {
                throw ValidationError("no host '\(name)' in the config; hosts: \(configuration.hosts.map(\.name).joined(separator: ", "))")
            }
            selected = selected.filter { self.hosts.contains($0.name) }
        }
        let deadline = Duration.milliseconds(Int(self.timeout * 1000))
        let executor = MariaDBExecutor(numberOfThreads: MariaDBExecutor.recommendedThreads(forServers: selected.count))
        let reports = await withTaskGroup(of: (Int, HostReport).self) { group in
            for (index, host) in selected.enumerated() {
                group.addTask { (index, await Self.probe(host, deadline: deadline, executor: executor)) }
            }
            var reports: [HostReport?] = Array(repeating: nil, count: selected.count)
            for await (index, report) in group { reports[index] = report }
            return reports.compactMap { $0 }
        }
        try? await executor.shutdownGracefully()
        for report in reports {
            print(report.text)
        }
        let writable = reports.filter { $0.facts?.readOnly == false }.map(\.name)
        if writable.count > 1 {
            print("WARNING: \(writable.count) hosts are writable (\(writable.joined(separator: ", "))); at most one may be")
        }
        if reports.contains(where: { $0.facts == nil }) {
            throw ExitCode.failure
        }
    }

    /// What one host reported.
    struct HostReport: Sendable {
        var name: String
        var facts: ServerFacts?
        var text: String
    }

    static func probe(_ host: HostConfiguration, deadline: Duration, executor: MariaDBExecutor) async -> HostReport {
        let address = "\(host.ip):\(host.mysqlPort)"
        guard let user = host.monitorUser, let password = host.monitorPassword else {
            return HostReport(
                name: host.name, facts: nil,
                text: "  \(host.name)(\(address)) ERROR: no monitor_user/monitor_password for this host in the config"
            )
        }
        let configuration = MariaDBConfiguration(
            name: host.name, host: "\(host.ip)", port: host.mysqlPort, user: user, password: password.revealed(),
            connectTimeout: deadline, readTimeout: deadline, writeTimeout: deadline
        )
        do {
            let connection = try await MariaDBConnection.connect(configuration, on: executor)
            let facts: ServerFacts
            let replicas: [ReplicaStatus]
            do {
                facts = try await connection.serverFacts()
                replicas = try await connection.replicaStatuses()
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            var lines = [
                "  \(host.name)(\(address)) \(facts.readOnly ? "read_only" : "WRITABLE"), server_id \(facts.serverID), "
                    + "gtid_domain_id \(facts.gtidDomainID), hostname \(facts.hostname), \(facts.version)",
                "      gtid_binlog_pos '\(facts.gtidBinlogPos)', gtid_slave_pos '\(facts.gtidSlavePos)', "
                    + "gtid_strict_mode \(facts.gtidStrictMode ? "ON" : "OFF")",
            ]
            if replicas.isEmpty {
                lines.append("      replication: none")
            }
            for replica in replicas {
                let lag = replica.secondsBehindMaster.map { "\($0) s" } ?? "NULL"
                var line = "      replication '\(replica.connectionName)' from \(replica.masterHost):\(replica.masterPort): "
                    + "IO \(replica.ioThread.rawValue), SQL \(replica.sqlThreadRunning ? "Yes" : "No"), "
                    + "Using_Gtid \(replica.usingGTID.rawValue), lag \(lag), received '\(replica.gtidIOPos)'"
                if replica.lastIOErrno != 0 { line += ", IO error \(replica.lastIOErrno): \(replica.lastIOError)" }
                if replica.lastSQLErrno != 0 { line += ", SQL error \(replica.lastSQLErrno): \(replica.lastSQLError)" }
                lines.append(line)
            }
            return HostReport(name: host.name, facts: facts, text: lines.joined(separator: "\n"))
        } catch {
            return HostReport(name: host.name, facts: nil, text: "  \(host.name)(\(address)) ERROR: \(error)")
        }
    }
}
