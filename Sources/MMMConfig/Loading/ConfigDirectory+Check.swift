/// What `mmm_control check-config` prints, as a value.
public struct ConfigCheckReport: Sendable, Hashable {
    /// One line per problem (`file:line: what is wrong; what to write instead`), then a summary line.
    public var lines: [String]
    /// The number of problems with severity `.error`.
    public var errorCount: Int
    /// The number of problems with severity `.warning`.
    public var warningCount: Int
    /// The files that were read, main files first, each once.
    public var checkedFiles: [String]

    /// Whether the configuration can be used: no error (warnings allowed). `check-config` exits 0 only then.
    public var isOK: Bool { self.errorCount == 0 && !self.checkedFiles.isEmpty }
}

extension ConfigDirectory {
    /// Validates the agent and monitor files of this directory, like `nginx -t`.
    ///
    /// - Parameter cluster: `nil` checks `mmm_agent.conf`, `mmm_mon.conf` and every
    ///   `mmm_agent_CLUSTER.conf`/`mmm_mon_CLUSTER.conf` present; a name checks only that cluster's files.
    ///   Agent files are checked with `mmm_agentd`'s requirements, monitor files with `mmm_mond`'s.
    ///   Problems found through a shared include (`mmm_common.conf`) are shown once.
    /// - Returns: the lines to print and the counts; ``ConfigCheckReport/isOK`` decides the exit status.
    public func checkConfig(cluster: String? = nil) -> ConfigCheckReport {
        var problems: [ConfigProblem] = []
        var files: [String] = []
        let selected: [String?]
        if let cluster {
            guard NameRules.isValidName(cluster) else {
                return ConfigCheckReport(
                    lines: ["mmm_control: cluster name `\(cluster)` is not valid; use A-Z a-z 0-9 _ . -"],
                    errorCount: 1,
                    warningCount: 0,
                    checkedFiles: []
                )
            }
            selected = [cluster]
        } else {
            selected = self.clusters()
        }
        for cluster in selected {
            for program in [ConfigProgram.agent, .monitor] {
                let name = Self.fileName(for: program, cluster: cluster)
                if case .missing = self.fileSystem.contents(ofFile: self.filePath(name)) { continue }
                let result = self.validate(name, program: program)
                problems += result.problems
                files += result.files
            }
        }
        var seen: Set<ConfigProblem> = []
        problems = problems.filter { seen.insert($0).inserted }.sorted { $0.location < $1.location }
        var seenFiles: Set<String> = []
        files = files.filter { seenFiles.insert($0).inserted }

        var lines = problems.map(\.description)
        let errors = problems.filter { $0.severity == .error }.count
        let warnings = problems.count - errors
        if files.isEmpty {
            let names =
                cluster.map { "\(Self.fileName(for: .agent, cluster: $0)) or \(Self.fileName(for: .monitor, cluster: $0))" }
                ?? "mmm_agent.conf, mmm_mon.conf or mmm_*_CLUSTER.conf"
            lines.append("mmm_control: no \(names) in \(self.path); nothing to check (use --config-dir DIR)")
            return ConfigCheckReport(lines: lines, errorCount: errors + 1, warningCount: warnings, checkedFiles: [])
        }
        let checked = files.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ")
        let warningText = "\(warnings) warning\(warnings == 1 ? "" : "s")"
        if errors == 0 {
            lines.append("mmm_control: configuration in \(self.path) is OK (\(checked); \(warningText))")
        } else {
            lines.append(
                "mmm_control: configuration in \(self.path) has \(errors) error\(errors == 1 ? "" : "s") and \(warningText) (\(checked))"
            )
        }
        return ConfigCheckReport(lines: lines, errorCount: errors, warningCount: warnings, checkedFiles: files)
    }
}
