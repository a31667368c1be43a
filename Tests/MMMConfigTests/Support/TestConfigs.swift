import Foundation
import MMMConfig
import Testing

/// Builders for in-memory config directories and access to the seed fixtures.
enum TestConfigs {
    /// The directory every in-memory test config lives in.
    static let directory = "/etc/mysql-mmm"

    /// A config directory holding `files` (name → text), each with `mode`.
    static func directory(_ files: [String: String], mode: UInt16 = 0o600) -> ConfigDirectory {
        var stored: [String: (text: String, mode: UInt16)] = [:]
        for (name, text) in files {
            stored["\(self.directory)/\(name)"] = (text, mode)
        }
        return ConfigDirectory(path: self.directory, fileSystem: InMemoryConfigFileSystem(files: stored))
    }

    /// `/etc/mysql-mmm/NAME`.
    static func path(_ name: String) -> String {
        "\(self.directory)/\(name)"
    }

    /// The fixture folder `Fixtures/NAME` inside the test bundle.
    static func fixtureURL(_ name: String) throws -> URL {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures").appendingPathComponent(name)
        return url
    }

    /// The text of every file in the fixture folder `name`, by file name.
    static func fixtureFiles(_ name: String) throws -> [String: String] {
        let url = try self.fixtureURL(name)
        var files: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: url.path) {
            files[file] = try String(contentsOf: url.appendingPathComponent(file), encoding: .utf8)
        }
        return files
    }

    /// A small valid two-master configuration, used as the base that tests break one line of.
    /// Line numbers are referred to by tests: keep them stable.
    static let common = """
        active_master_role writer

        <host default>
            cluster_interface    eth0
            pid_path             /run/mmm-agent.pid
            bin_path             /usr/libexec/mysql-mmm
            replication_user     repl
            replication_password Repl-Pass#1
            agent_user           mmm_agent
            agent_password       Agent-Pass#2
            monitor_user         mmm_monitor
            monitor_password     Monitor-Pass#3
        </host>

        <host db1>
            ip   192.168.1.101
            mode master
            peer db2
        </host>

        <host db2>
            ip   192.168.1.102
            mode master
            peer db1
        </host>

        <role writer>
            hosts  db1, db2
            ips    192.168.1.210
            mode   exclusive
        </role>

        <role reader>
            hosts  db1, db2
            ips    192.168.1.220, 192.168.1.221
            mode   balanced
        </role>

        """

    /// The passwords of ``common``, which must never appear in any output.
    static let commonSecrets = ["Repl-Pass#1", "Agent-Pass#2", "Monitor-Pass#3"]

    /// An agent file including ``common``.
    static let agent = """
        include mmm_common.conf
        this db1

        """

    /// A monitor file including ``common``.
    static let monitor = """
        include mmm_common.conf

        <monitor>
            ip           127.0.0.1
            pid_path     /run/mmm-mon.pid
            bin_path     /usr/libexec/mysql-mmm
            status_path  /var/lib/mysql-mmm/mmm_mond.status
            ping_ips     192.168.1.1
        </monitor>

        """

    /// ``common`` with line `line` (1-based) replaced by `replacement` (which may hold several lines).
    static func common(replacingLine line: Int, with replacement: String) -> String {
        var lines = self.common.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[line - 1] = replacement
        return lines.joined(separator: "\n")
    }

    /// The problems of loading `mmm_common.conf` = `common` through the agent (or monitor) file.
    static func problems(
        common: String,
        program: ConfigProgram = .agent,
        extraFiles: [String: String] = [:]
    ) -> [ConfigProblem] {
        var files = ["mmm_common.conf": common, "mmm_agent.conf": self.agent, "mmm_mon.conf": self.monitor]
        files.merge(extraFiles) { _, new in new }
        return self.directory(files).validate(ConfigDirectory.fileName(for: program, cluster: nil), program: program)
            .problems
    }
}
