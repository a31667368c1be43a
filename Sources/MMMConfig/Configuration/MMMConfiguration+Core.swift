import MMMCore

extension MMMConfiguration {
    /// The hosts and roles as the decision core takes them (`ClusterStateMachine`).
    ///
    /// - Throws: ``MMMError/Code/invalidConfiguration`` when there is no `active_master_role`, or when the core finds
    ///   the topology inconsistent (it reports every problem at once). A configuration that passed validation
    ///   does not throw.
    public func clusterTopology() throws(MMMError) -> ClusterTopology {
        guard let activeMasterRole = self.activeMasterRole else {
            throw MMMError(
                .invalidConfiguration,
                "no active_master_role in the configuration; add `active_master_role writer` to mmm_common.conf"
            )
        }
        let hosts = self.hosts.map { host in
            HostSpec(name: host.name, ip: "\(host.ip)", mode: host.mode, peer: host.peer)
        }
        let roles = self.roles.map { role in
            RoleSpec(name: role.name, mode: role.mode, hosts: role.hosts, ips: role.ips.map { "\($0)" }, prefer: role.prefer)
        }
        return try ClusterTopology(hosts: hosts, roles: roles, activeMasterRole: activeMasterRole)
    }

    /// The monitor's policy (`auto_set_online`, flap detection, `wait_for_other_master`, startup, mode) for the core.
    /// Uses MMM's meaning of 0: `auto_set_online 0` and `wait_for_other_master 0` switch the feature off.
    public func clusterPolicy() -> ClusterPolicy {
        let monitor = self.monitor ?? MonitorConfiguration(ip: .v4(127, 0, 0, 1))
        return ClusterPolicy(
            autoSetOnline: monitor.autoSetOnline > .zero ? monitor.autoSetOnline : nil,
            flapDuration: monitor.flapDuration,
            flapCount: monitor.flapCount,
            waitForOtherMaster: monitor.waitForOtherMaster > .zero ? monitor.waitForOtherMaster : nil,
            carefulStartup: monitor.carefulStartup,
            initialMode: monitor.mode
        )
    }

    /// The debouncing of each check (`trap_period`, `recovery_period`, `max_backlog`) for the core.
    public func checkPolicies() -> [CheckKind: CheckPolicy] {
        var policies: [CheckKind: CheckPolicy] = [:]
        for kind in CheckKind.allCases {
            let check = self.checks[kind]
            let backlogSeconds = Int(check.maxBacklog.components.seconds)
            policies[kind] = CheckPolicy(
                trapPeriod: check.trapPeriod, recoveryPeriod: check.recoveryPeriod, maxBacklog: backlogSeconds
            )
        }
        return policies
    }
}
