import Foundation
import MMMCore

/// Turns a ``RawConfiguration`` into a typed ``MMMConfiguration``, collecting every problem.
///
/// Typing (numbers, booleans, enums, addresses, durations) and per-program requirements are checked
/// here; references between sections (peers, role hosts, VIPs) in `ConfigBuilder+References.swift`.
/// The result is meaningful only when no problem has severity `.error`.
struct ConfigBuilder {
    /// What the parser produced.
    let raw: RawConfiguration
    /// Whose requirements apply; `nil` checks grammar, types and references only.
    let program: ConfigProgram?
    /// Problems found so far.
    private(set) var problems: [ConfigProblem] = []
    /// Hosts whose `ip` or `mode` was missing or malformed: left out of reference checks to avoid noise.
    var incompleteHosts: Set<String> = []
    /// Every `kind.directive` the builder looked up (`.this` for the top level); tests use it to prove
    /// that no directive the parser accepts is silently ignored.
    var consulted: Set<String> = []

    /// Creates a builder; use ``build(_:program:)``.
    init(raw: RawConfiguration, program: ConfigProgram?) {
        self.raw = raw
        self.program = program
    }

    /// Builds and validates.
    static func build(_ raw: RawConfiguration, program: ConfigProgram?) -> (MMMConfiguration, [ConfigProblem]) {
        var builder = ConfigBuilder(raw: raw, program: program)
        let configuration = builder.build()
        return (configuration, builder.problems)
    }

    /// Records a problem.
    mutating func report(
        _ severity: ConfigProblem.Severity = .error,
        at location: SourceLocation,
        _ message: String,
        fix: String
    ) {
        self.problems.append(ConfigProblem(severity, at: location, message, fix: fix))
    }

    /// Runs the build on this builder, keeping ``consulted`` and ``problems`` for inspection.
    mutating func buildForTesting() -> MMMConfiguration {
        self.build()
    }

    private mutating func build() -> MMMConfiguration {
        var configuration = MMMConfiguration()
        let globals = self.raw.globals
        configuration.this = self.name("this", in: globals, requiredBy: [.agent])
        configuration.debug = self.bool("debug", in: globals) ?? configuration.debug
        configuration.activeMasterRole = self.name("active_master_role", in: globals, requiredBy: [.agent, .monitor])
        configuration.maxKillRetries =
            self.int("max_kill_retries", in: globals, range: 0...1000) ?? configuration.maxKillRetries
        configuration.blockingType = self.enumeration("blocking_type", in: globals) ?? configuration.blockingType
        configuration.iptablesBlockCommand =
            self.string("iptables_block_cmd", in: globals) ?? configuration.iptablesBlockCommand
        configuration.iptablesUnblockCommand =
            self.string("iptables_unblock_cmd", in: globals) ?? configuration.iptablesUnblockCommand
        configuration.defaultCopyMethod = self.name("default_copy_method", in: globals)
        configuration.cloneDirs = self.list("clone_dirs", in: globals) ?? []
        configuration.agentSecret = self.secret("agent_secret", in: globals)
        if let secret = configuration.agentSecret, let value = globals.values["agent_secret"],
            secret.revealed().count < 16
        {
            self.report(
                at: value.location,
                "`agent_secret` is shorter than 16 characters",
                fix: "use at least 16 random characters, e.g. the output of `openssl rand -hex 32`"
            )
        }
        if let value = self.value("monitor_public_key", in: globals, requiredBy: []) {
            if let bytes = Data(base64Encoded: value.text), bytes.count == 32 {
                configuration.monitorPublicKey = value.text
            } else {
                self.report(
                    at: value.location,
                    "`monitor_public_key` is not a 32-byte key in base64",
                    fix: "copy the line `mmm_mond --generate-signing-key <file>` printed on the monitor's host"
                )
            }
        }
        configuration.leaseTimeout =
            self.duration("lease_timeout", in: globals, positive: true) ?? configuration.leaseTimeout
        configuration.leaseSafetyMargin =
            self.duration("lease_safety_margin", in: globals) ?? configuration.leaseSafetyMargin
        configuration.failoverPolicy = self.enumeration("failover_policy", in: globals) ?? configuration.failoverPolicy
        configuration.semiSyncTimeout = self.semiSyncTimeout(in: globals) ?? configuration.semiSyncTimeout

        configuration.hosts = self.applyingTemplate(self.raw.sections("host"), kind: "host").compactMap {
            self.buildHost($0)
        }
        configuration.roles = self.raw.sections("role").compactMap { self.buildRole($0) }
        configuration.monitor = self.buildMonitor()
        self.reconcileFailoverPolicy(&configuration)
        configuration.checks = self.buildChecks()
        configuration.socket = self.buildSocket()
        configuration.copyMethods = self.applyingTemplate(self.raw.sections("copy_method"), kind: "copy_method").map {
            self.buildCopyMethod($0)
        }
        self.checkReferences(configuration)
        return configuration
    }

    /// Fills each section's unset values from `<KIND default>`, as MMM does.
    func applyingTemplate(_ sections: [RawSection], kind: String) -> [RawSection] {
        guard let template = self.raw.namedSections[kind]?.first(where: { $0.name == "default" }) else {
            return sections
        }
        return sections.map { section in
            var section = section
            for (name, value) in template.values where section.values[name] == nil {
                var inherited = value
                inherited.fromTemplate = true
                section.values[name] = inherited
            }
            return section
        }
    }

    /// `semi_sync_timeout`: whole milliseconds on the server, 1 ms to 1 hour.
    private mutating func semiSyncTimeout(in globals: RawSection) -> Duration? {
        guard let timeout = self.duration("semi_sync_timeout", in: globals, positive: true),
            let value = globals.values["semi_sync_timeout"]
        else { return nil }
        guard timeout >= .milliseconds(1), timeout <= .seconds(3600) else {
            self.report(
                at: value.location,
                "`semi_sync_timeout \(value.text)` is out of range",
                fix: "write between 0.001 and 3600 seconds, e.g. `semi_sync_timeout 10`"
            )
            return nil
        }
        return timeout
    }

    /// `failover_policy` may be written at the top level (agents and monitor read it) and in `<monitor>` (the monitor
    /// only): both must agree, and the monitor's copy is the effective value.
    private mutating func reconcileFailoverPolicy(_ configuration: inout MMMConfiguration) {
        let top = self.raw.globals.values["failover_policy"]
        let inMonitor = self.raw.uniqueSections["monitor"]?.values["failover_policy"]
        guard var monitor = configuration.monitor else { return }
        if let top, let inMonitor {
            if monitor.failoverPolicy != configuration.failoverPolicy {
                self.report(
                    at: inMonitor.location,
                    "`failover_policy \(inMonitor.text)` in <monitor> differs from `failover_policy \(top.text)` at the top level (\(top.location))",
                    fix: "write `failover_policy` once, at the top level of mmm_common.conf (the agents read it there too), or make both say the same"
                )
            }
        } else if top != nil {
            monitor.failoverPolicy = configuration.failoverPolicy
        } else if let inMonitor {
            configuration.failoverPolicy = monitor.failoverPolicy
            if monitor.failoverPolicy == .zeroLoss {
                self.report(
                    .warning,
                    at: inMonitor.location,
                    "`failover_policy zero_loss` in <monitor> is not seen by the agents, which keep semi-sync only when they read it",
                    fix: "move `failover_policy zero_loss` to the top level of mmm_common.conf"
                )
            }
        }
        configuration.monitor = monitor
    }

    // MARK: - Sections

    private mutating func buildHost(_ section: RawSection) -> HostConfiguration? {
        let name = section.name ?? ""
        let ip = self.ip("ip", in: section, requiredBy: Set(ConfigProgram.allCases))
        let mode: HostMode? = self.enumeration("mode", in: section, requiredBy: Set(ConfigProgram.allCases))
        let peer = self.name("peer", in: section)
        guard let ip, let mode else {
            self.incompleteHosts.insert(name)
            return nil
        }
        var host = HostConfiguration(name: name, ip: ip, mode: mode, peer: peer)
        host.pidPath = self.string("pid_path", in: section, requiredBy: [.agent])
        host.binPath = self.string("bin_path", in: section, requiredBy: [.agent])
        host.agentPort = self.int("agent_port", in: section, range: 1...65535) ?? host.agentPort
        host.clusterInterface = self.string("cluster_interface", in: section, requiredBy: [.agent])
        if let interface = host.clusterInterface, let value = section.values["cluster_interface"],
            !NameRules.isValidInterfaceName(interface)
        {
            self.report(
                at: value.location,
                "`cluster_interface \(interface)` in \(Self.place(value, section)) is not a valid interface name",
                fix: "use 1-15 characters of A-Z a-z 0-9 _ . - :, e.g. `cluster_interface eth0`"
            )
        }
        host.mysqlPort = self.int("mysql_port", in: section, range: 1...65535) ?? host.mysqlPort
        host.mysqlPidfile = self.string("mysql_pidfile", in: section) ?? host.mysqlPidfile
        host.mysqlRcscript = self.string("mysql_rcscript", in: section) ?? host.mysqlRcscript
        host.mysqlCnf = self.string("mysql_cnf", in: section) ?? host.mysqlCnf
        host.agentUser = self.string("agent_user", in: section, requiredBy: [.agent])
        host.agentPassword = self.secret("agent_password", in: section, requiredBy: [.agent])
        host.monitorUser = self.string("monitor_user", in: section, requiredBy: [.monitor])
        host.monitorPassword = self.secret("monitor_password", in: section, requiredBy: [.monitor])
        host.replicationUser = self.string("replication_user", in: section, requiredBy: [.agent])
        host.replicationPassword = self.secret("replication_password", in: section, requiredBy: [.agent])
        host.sshUser = self.string("ssh_user", in: section)
        host.sshPort = self.int("ssh_port", in: section, range: 1...65535) ?? host.sshPort
        host.sshParameters = self.string("ssh_parameters", in: section) ?? host.sshParameters
        host.toolsUser = self.string("tools_user", in: section)
        host.toolsPassword = self.secret("tools_password", in: section)
        host.backupDir = self.string("backup_dir", in: section)
        host.restoreDir = self.string("restore_dir", in: section)
        host.lvmBinLvcreate = self.string("lvm_bin_lvcreate", in: section) ?? host.lvmBinLvcreate
        host.lvmBinLvremove = self.string("lvm_bin_lvremove", in: section) ?? host.lvmBinLvremove
        host.lvmSnapshotSize = self.string("lvm_snapshot_size", in: section)
        host.lvmLogicalVolume = self.string("lvm_logical_volume", in: section)
        host.lvmVolumeGroup = self.string("lvm_volume_group", in: section)
        host.lvmMountDir = self.string("lvm_mount_dir", in: section)
        host.lvmMountOpts = self.string("lvm_mount_opts", in: section)
        host.endpointProvider = self.enumeration("endpoint_provider", in: section) ?? host.endpointProvider
        host.endpointExec = self.string("endpoint_exec", in: section)
        if host.endpointProvider == .exec {
            if let exec = host.endpointExec, let value = section.values["endpoint_exec"] {
                if !NameRules.isAbsolutePath(exec) {
                    self.report(
                        at: value.location,
                        "`endpoint_exec` in \(Self.place(value, section)) is not an absolute path",
                        fix: "write the program's full path, e.g. `endpoint_exec /usr/local/sbin/mmm-endpoint`"
                    )
                }
            } else {
                self.report(
                    at: section.values["endpoint_provider"]?.location ?? section.location,
                    "\(section.label) uses `endpoint_provider exec` but has no `endpoint_exec`",
                    fix: "add `endpoint_exec /usr/local/sbin/mmm-endpoint` (the program to run), or use `endpoint_provider vip`"
                )
            }
        }
        return host
    }

    private mutating func buildRole(_ section: RawSection) -> RoleConfiguration? {
        let mode: RoleMode? = self.enumeration("mode", in: section, requiredBy: Set(ConfigProgram.allCases))
        let hosts = self.list("hosts", in: section, requiredBy: Set(ConfigProgram.allCases))
        let ips = self.ipList("ips", in: section, requiredBy: Set(ConfigProgram.allCases))
        let prefer = self.name("prefer", in: section)
        if let hosts, let value = section.values["hosts"] {
            for host in hosts where !NameRules.isValidName(host) {
                self.report(
                    at: value.location,
                    "`\(host)` in the hosts of \(section.label) is not a valid host name",
                    fix: "list <host> section names separated by commas, e.g. `hosts db1, db2`"
                )
            }
        }
        guard let mode, let hosts, let ips else { return nil }
        return RoleConfiguration(name: section.name ?? "", mode: mode, hosts: hosts, ips: ips, prefer: prefer)
    }

    private mutating func buildMonitor() -> MonitorConfiguration? {
        guard let section = self.raw.uniqueSections["monitor"] else {
            if let program = self.program, program == .monitor || program == .control {
                self.report(
                    at: self.raw.globals.location,
                    "there is no <monitor> section, which \(program.rawValue) needs",
                    fix: "add `<monitor>` with at least `ip 127.0.0.1` and `</monitor>` (see docs/configuration.md)"
                )
            }
            return nil
        }
        guard let ip = self.ip("ip", in: section, requiredBy: [.monitor, .control]) else { return nil }
        var monitor = MonitorConfiguration(ip: ip)
        monitor.port = self.int("port", in: section, range: 1...65535) ?? monitor.port
        monitor.pidPath = self.string("pid_path", in: section, requiredBy: [.monitor])
        monitor.binPath = self.string("bin_path", in: section, requiredBy: [.monitor])
        monitor.statusPath = self.string("status_path", in: section, requiredBy: [.monitor])
        monitor.signingKeyPath = self.string("monitor_signing_key", in: section)
        monitor.pingInterval = self.duration("ping_interval", in: section, positive: true) ?? monitor.pingInterval
        monitor.pingIPs = self.ipList("ping_ips", in: section, requiredBy: [.monitor]) ?? []
        monitor.flapDuration = self.duration("flap_duration", in: section) ?? monitor.flapDuration
        monitor.flapCount = self.int("flap_count", in: section, range: 0...1_000_000) ?? monitor.flapCount
        monitor.autoSetOnline = self.duration("auto_set_online", in: section) ?? monitor.autoSetOnline
        monitor.killHostBin = self.string("kill_host_bin", in: section) ?? monitor.killHostBin
        monitor.carefulStartup = self.bool("careful_startup", in: section) ?? monitor.carefulStartup
        monitor.mode = self.enumeration("mode", in: section) ?? monitor.mode
        monitor.waitForOtherMaster = self.duration("wait_for_other_master", in: section) ?? monitor.waitForOtherMaster
        monitor.failoverPolicy = self.enumeration("failover_policy", in: section) ?? monitor.failoverPolicy
        monitor.drainTimeout = self.duration("drain_timeout", in: section, positive: true) ?? monitor.drainTimeout
        monitor.drainTimeoutAction = self.enumeration("drain_timeout_action", in: section) ?? monitor.drainTimeoutAction
        monitor.cadenceReportInterval =
            self.duration("cadence_report_interval", in: section, positive: true) ?? monitor.cadenceReportInterval
        return monitor
    }

    private mutating func buildChecks() -> ChecksConfiguration {
        var checks = ChecksConfiguration()
        let all = self.raw.namedSections["check"] ?? []
        for section in all where section.name != "default" && CheckKind(rawValue: section.name ?? "") == nil {
            self.report(
                at: section.location,
                "unknown check `\(section.name ?? "")`",
                fix: "checks are <check ping>, <check mysql>, <check rep_threads>, <check rep_backlog> and <check default>"
            )
        }
        let template = all.first { $0.name == "default" }
        for name in CheckKind.allCases {
            let explicit = all.first { $0.name == name.rawValue }
            var section =
                explicit
                ?? RawSection(kind: "check", name: name.rawValue, location: template?.location ?? self.raw.globals.location)
            if explicit != nil {
                section = self.applyingTemplate([section], kind: "check")[0]  // one in, one out
            } else if let template {
                section.values = template.values
            }
            var check = CheckConfiguration(defaultsFor: name)
            check.checkPeriod = self.duration("check_period", in: section, positive: true) ?? check.checkPeriod
            check.trapPeriod = self.duration("trap_period", in: section, positive: true) ?? check.trapPeriod
            check.recoveryPeriod = self.duration("recovery_period", in: section) ?? check.recoveryPeriod
            check.timeout = self.duration("timeout", in: section, positive: true) ?? check.timeout
            check.restartAfter = self.int("restart_after", in: section, range: 0...Int(Int32.max)) ?? check.restartAfter
            check.maxBacklog = self.duration("max_backlog", in: section) ?? check.maxBacklog
            checks[name] = check
        }
        return checks
    }

    private mutating func buildSocket() -> SocketConfiguration {
        var socket = SocketConfiguration()
        guard let section = self.raw.uniqueSections["socket"] else { return socket }
        socket.type = self.enumeration("type", in: section) ?? socket.type
        let sslOnly: Set<ConfigProgram> = socket.type == .ssl ? Set(ConfigProgram.allCases) : []
        socket.certFile = self.string("cert_file", in: section, requiredBy: sslOnly)
        socket.keyFile = self.string("key_file", in: section, requiredBy: sslOnly)
        socket.caFile = self.string("ca_file", in: section, requiredBy: sslOnly.subtracting([.control]))
        return socket
    }

    private mutating func buildCopyMethod(_ section: RawSection) -> CopyMethodConfiguration {
        var method = CopyMethodConfiguration(name: section.name ?? "")
        method.backupCommand = self.string("backup_command", in: section)
        method.restoreCommand = self.string("restore_command", in: section)
        method.incrementalCommand = self.string("incremental_command", in: section)
        method.incremental = self.bool("incremental", in: section) ?? method.incremental
        method.singleRun = self.bool("single_run", in: section) ?? method.singleRun
        method.trueCopy = self.bool("true_copy", in: section) ?? method.trueCopy
        for (name, present) in [
            ("backup_command", method.backupCommand != nil), ("restore_command", method.restoreCommand != nil),
        ] where !present {
            self.report(
                at: section.location,
                "\(section.label) has no `\(name)`",
                fix: "add `\(name) COMMAND` (see MMM's sample copy methods)"
            )
        }
        if method.incremental && method.incrementalCommand == nil {
            self.report(
                at: section.location,
                "\(section.label) sets `incremental` but has no `incremental_command`",
                fix: "add `incremental_command COMMAND`, or remove `incremental`"
            )
        }
        return method
    }
}
