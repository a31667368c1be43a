import Foundation
import MMMCore

extension Bench {
    /// The writer role's IP on the bench (namespace mode).
    public static let writerIP = "198.18.0.200"
    /// The reader role's IPs on the bench (namespace mode).
    public static let readerIPs = ["198.18.0.201", "198.18.0.202"]
    /// The protocol secret the bench's configs share.
    public static let agentSecret = "bench-agent-secret-0123456789"
    /// The bench monitor's Ed25519 signing key (a test key: the seed in base64, as a `monitor_signing_key` file
    /// holds it), so every end-to-end test runs with signed monitor orders.
    public static let monitorSigningKey = "/CfDLLa8CiD5QOm4lXCFbNGhLnzlggNKvTawSizBidA="
    /// The public half of ``monitorSigningKey`` (`monitor_public_key`).
    public static let monitorPublicKey = "gBSZWcFvjsFXfp1CntmS0RgdckQSNGm9D2P+4ke3g8A="

    /// Writes MMM config files for this bench into `directory` (created, mode 700; files mode 600): db1 and db2
    /// masters with each other as peer, db3.. slaves, an exclusive `writer` role on db1/db2 and a balanced `reader`
    /// role on every host; every account is the bench's admin account, replication uses the bench's replication
    /// account. `this` selects the host of `mmm_agent.conf`; `agentPort` the agents' port; `monitorPort` the monitor's
    /// control port; `monitorExtra` is appended to `mmm_mon.conf` (e.g. a `<check>` section); `commonExtra` is added to
    /// the top level of `mmm_common.conf` (e.g. `failover_policy zero_loss`); `killHostBin` false leaves
    /// `kill_host_bin` out (a DBA without a way to power a host off: the lease is then the only way past a silent writer).
    public func writeMMMConfiguration(
        to directory: String,
        this: String = "db1",
        agentPort: Int = 9989,
        monitorPort: Int = 9988,
        monitorExtra: String = "",
        commonExtra: String = "",
        killHostBin: Bool = true
    ) throws {
        var common = """
            # Written by MMMTestSupport for the bench.
            active_master_role      writer
            agent_secret            \(Bench.agentSecret)
            monitor_public_key      \(Bench.monitorPublicKey)
            \(commonExtra)

            <host default>
                cluster_interface       eth0
                pid_path                \(directory)/mmm_agentd.pid
                bin_path                /usr/libexec/mysql-mmm
                agent_port              \(agentPort)
                replication_user        \(self.replicationUser)
                replication_password    \(self.replicationPassword)
                agent_user              \(self.adminUser)
                agent_password          \(self.adminPassword)
                monitor_user            \(self.adminUser)
                monitor_password        \(self.adminPassword)
            </host>

            """
        for (index, host) in self.hosts.enumerated() {
            let master = index < 2
            var section = "<host \(host.name)>\n    ip      \(host.ip)\n    mysql_port  \(host.port)\n"
            section += "    mode    \(master ? "master" : "slave")\n"
            if master, self.hosts.count > 1 {
                section += "    peer    \(self.hosts[1 - index].name)\n"
            }
            common += section + "</host>\n\n"
        }
        let masters = self.hosts.prefix(2).map(\.name).joined(separator: ", ")
        let everyone = self.hosts.map(\.name).joined(separator: ", ")
        common += """
            <role writer>
                hosts   \(masters)
                ips     \(Bench.writerIP)
                mode    exclusive
            </role>

            <role reader>
                hosts   \(everyone)
                ips     \(Bench.readerIPs.joined(separator: ", "))
                mode    balanced
            </role>

            """
        let monitor = """
            include mmm_common.conf

            <monitor>
                ip                  127.0.0.1
                port                \(monitorPort)
                pid_path            \(directory)/mmm_mond.pid
                bin_path            /usr/libexec/mysql-mmm
                status_path         \(directory)/mmm_mond.status
                monitor_signing_key \(directory)/monitor.key
                ping_ips            198.18.0.1
                auto_set_online     1
                \(killHostBin ? "kill_host_bin       \(Bench.scriptURL().deletingLastPathComponent().appendingPathComponent("kill_host").path)" : "")
            </monitor>

            \(monitorExtra)
            """
        let agent = "include mmm_common.conf\nthis \(this)\n"
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, text) in [
            ("mmm_common.conf", common), ("mmm_mon.conf", monitor), ("mmm_agent.conf", agent),
            ("monitor.key", Bench.monitorSigningKey + "\n"),
        ] {
            let path = "\(directory)/\(name)"
            guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw MMMError(.commandFailed, "could not write \(path)")
            }
        }
    }
}
