/// The directives and sections the grammar accepts: MMM 2.2's, plus swift-mmm's additions.
///
/// The parser rejects anything not listed here; the builder reads every name listed here.
/// docs/configuration.md documents each one with its default.
enum ConfigSchema {
    /// Directives allowed outside any section.
    static let globalDirectives: Set<String> = [
        "this", "debug", "active_master_role", "max_kill_retries", "blocking_type", "iptables_block_cmd",
        "iptables_unblock_cmd", "default_copy_method", "clone_dirs",
        // swift-mmm
        "agent_secret", "lease_timeout", "lease_safety_margin", "failover_policy", "semi_sync_timeout",
        "monitor_public_key",
    ]

    /// Sections that appear at most once and have no name: `<monitor>`, `<socket>`.
    static let uniqueSections: Set<String> = ["monitor", "socket"]

    /// Sections that carry a name: `<host db1>`.
    static let namedSections: Set<String> = ["host", "role", "check", "copy_method"]

    /// Named section kinds whose `default` section is a template for the others.
    static let templateSections: Set<String> = ["host", "check", "copy_method"]

    /// Directives allowed in each kind of section.
    static let sectionDirectives: [String: Set<String>] = [
        "host": [
            "ip", "mode", "peer", "pid_path", "bin_path", "agent_port", "cluster_interface", "mysql_port",
            "mysql_pidfile", "mysql_rcscript", "mysql_cnf", "agent_user", "agent_password", "monitor_user",
            "monitor_password", "replication_user", "replication_password", "ssh_user", "ssh_port",
            "ssh_parameters", "tools_user", "tools_password", "backup_dir", "restore_dir", "lvm_bin_lvcreate",
            "lvm_bin_lvremove", "lvm_snapshot_size", "lvm_logical_volume", "lvm_volume_group", "lvm_mount_dir",
            "lvm_mount_opts",
            // swift-mmm
            "endpoint_provider", "endpoint_exec",
        ],
        "role": ["mode", "hosts", "ips", "prefer"],
        "monitor": [
            "ip", "port", "pid_path", "bin_path", "status_path", "ping_interval", "ping_ips", "flap_duration",
            "flap_count", "auto_set_online", "kill_host_bin", "careful_startup", "mode", "wait_for_other_master",
            // swift-mmm
            "failover_policy", "drain_timeout", "drain_timeout_action", "cadence_report_interval", "monitor_signing_key",
        ],
        "check": [
            "check_period", "trap_period", "timeout", "restart_after", "max_backlog",
            // swift-mmm
            "recovery_period",
        ],
        "socket": ["type", "cert_file", "key_file", "ca_file"],
        "copy_method": [
            "backup_command", "restore_command", "incremental_command", "incremental", "single_run", "true_copy",
        ],
    ]

    /// Whether a directive holds a password or key (its value is never shown, and the file's mode is checked).
    static func isSecret(_ name: String) -> Bool {
        name.hasSuffix("_password") || name == "agent_secret"
    }

    /// Where a directive unknown in one place belongs instead, e.g. `<host>` for `monitor_user`.
    static func homes(of name: String) -> [String] {
        var homes: [String] = []
        if self.globalDirectives.contains(name) { homes.append("the top level (outside any section)") }
        for kind in ["host", "role", "monitor", "check", "socket", "copy_method"]
        where self.sectionDirectives[kind]?.contains(name) == true {
            homes.append("<\(kind)>")
        }
        return homes
    }

    /// The known name closest to `name` (edit distance at most 2), for "did you mean" fixes.
    static func closest(to name: String, in candidates: Set<String>) -> String? {
        var best: (String, Int)?
        for candidate in candidates.sorted() {
            let distance = self.editDistance(name, candidate)
            if distance <= 2, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        return best?.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
