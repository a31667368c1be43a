import MMMCore

/// A `<host NAME>` section, after the `<host default>` template has filled its unset values.
public struct HostConfiguration: Sendable, Hashable {
    /// The section name (`db1`), used everywhere a host is named.
    public var name: String
    /// `ip`: the host's permanent address. Checks target it; the agent listens on it.
    public var ip: IPAddress
    /// `mode`: `master` or `slave`.
    public var mode: HostMode
    /// `peer`: the other master (required for masters; never the host itself).
    public var peer: String?
    /// `pid_path` (agent).
    public var pidPath: String?
    /// `bin_path` (agent): MMM's helper directory; kept for compatibility.
    public var binPath: String?
    /// `agent_port`, default 9989.
    public var agentPort: Int = 9989
    /// `cluster_interface` (agent): the interface that VIPs are added to, e.g. `eth0`.
    public var clusterInterface: String?
    /// `mysql_port`, default 3306.
    public var mysqlPort: Int = 3306
    /// `mysql_pidfile` (tools), default `/var/run/mysqld/mysqld.pid`.
    public var mysqlPidfile: String = "/var/run/mysqld/mysqld.pid"
    /// `mysql_rcscript` (tools), default `/etc/init.d/mysql`.
    public var mysqlRcscript: String = "/etc/init.d/mysql"
    /// `mysql_cnf` (tools), default `/etc/my.cnf`.
    public var mysqlCnf: String = "/etc/my.cnf"
    /// `agent_user` (agent): the agent's MariaDB login.
    public var agentUser: String?
    /// `agent_password` (agent).
    public var agentPassword: Secret?
    /// `monitor_user` (monitor): the monitor's MariaDB login for checks.
    public var monitorUser: String?
    /// `monitor_password` (monitor).
    public var monitorPassword: Secret?
    /// `replication_user` (agent): used in `CHANGE MASTER` (the new master's section's credentials).
    public var replicationUser: String?
    /// `replication_password` (agent).
    public var replicationPassword: Secret?
    /// `ssh_user` (tools).
    public var sshUser: String?
    /// `ssh_port` (tools), default 22.
    public var sshPort: Int = 22
    /// `ssh_parameters` (tools), default empty.
    public var sshParameters: String = ""
    /// `tools_user` (tools).
    public var toolsUser: String?
    /// `tools_password` (tools).
    public var toolsPassword: Secret?
    /// `backup_dir` (tools).
    public var backupDir: String?
    /// `restore_dir` (tools).
    public var restoreDir: String?
    /// `lvm_bin_lvcreate` (tools), default `lvcreate`.
    public var lvmBinLvcreate: String = "lvcreate"
    /// `lvm_bin_lvremove` (tools), default `lvremove`.
    public var lvmBinLvremove: String = "lvremove"
    /// `lvm_snapshot_size` (tools).
    public var lvmSnapshotSize: String?
    /// `lvm_logical_volume` (tools).
    public var lvmLogicalVolume: String?
    /// `lvm_volume_group` (tools).
    public var lvmVolumeGroup: String?
    /// `lvm_mount_dir` (tools).
    public var lvmMountDir: String?
    /// `lvm_mount_opts` (tools).
    public var lvmMountOpts: String?
    /// `endpoint_provider` (swift-mmm), default `vip`.
    public var endpointProvider: EndpointProvider = .vip
    /// `endpoint_exec` (swift-mmm): absolute path of the program run when `endpoint_provider exec`.
    public var endpointExec: String?

    /// Creates a host with MMM's defaults for everything but the required values.
    public init(name: String, ip: IPAddress, mode: HostMode, peer: String? = nil) {
        self.name = name
        self.ip = ip
        self.mode = mode
        self.peer = peer
    }
}
