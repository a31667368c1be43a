import MMMCore

/// A directory of MMM config files (default `/etc/mysql-mmm`) and the loaders of the three programs.
///
/// `mmm_agentd` reads `mmm_agent[_CLUSTER].conf`, `mmm_mond` and `mmm_control` read
/// `mmm_mon[_CLUSTER].conf`; both usually `include mmm_common.conf`. Relative includes are looked up
/// in this directory. Unlike MMM, which searches `/etc`, `/etc/mmm` and `/etc/mysql-mmm`, only this
/// one directory is used, so `--config-dir` says exactly which files are read.
///
/// ```swift
/// let configuration = try ConfigDirectory(path: "/etc/mysql-mmm").loadAgent(cluster: nil)
/// ```
public struct ConfigDirectory: Sendable {
    /// MMM's directory for Debian-style installs.
    public static let defaultPath = "/etc/mysql-mmm"

    /// The directory.
    public var path: String
    /// Where files are read from.
    public var fileSystem: any ConfigFileSystem

    /// Creates a loader for the directory at `path`.
    public init(path: String = ConfigDirectory.defaultPath, fileSystem: any ConfigFileSystem = LocalConfigFileSystem()) {
        self.path = path
        self.fileSystem = fileSystem
    }

    /// `mmm_agent.conf`, `mmm_agent_CLUSTER.conf`, `mmm_mon.conf` or `mmm_mon_CLUSTER.conf`.
    public static func fileName(for program: ConfigProgram, cluster: String?) -> String {
        let base = program == .agent ? "mmm_agent" : "mmm_mon"
        if let cluster { return "\(base)_\(cluster).conf" }
        return "\(base).conf"
    }

    /// The full path of a file in this directory.
    public func filePath(_ fileName: String) -> String {
        ConfigParser.join(self.path, fileName)
    }

    /// Loads `mmm_agent[_CLUSTER].conf` for `mmm_agentd`; the result has `this` and ``MMMConfiguration/thisHost``.
    /// - Throws: `MMMError` with code `invalidConfiguration` listing every error, one per line.
    public func loadAgent(cluster: String? = nil) throws(MMMError) -> MMMConfiguration {
        try self.load(.agent, cluster: cluster)
    }

    /// Loads `mmm_mon[_CLUSTER].conf` for `mmm_mond`; the result has ``MMMConfiguration/monitor``.
    /// - Throws: `MMMError` with code `invalidConfiguration` listing every error, one per line.
    public func loadMonitor(cluster: String? = nil) throws(MMMError) -> MMMConfiguration {
        try self.load(.monitor, cluster: cluster)
    }

    /// Loads `mmm_mon[_CLUSTER].conf` with `mmm_control`'s requirements (only the monitor's address).
    /// - Throws: `MMMError` with code `invalidConfiguration` listing every error, one per line.
    public func loadControl(cluster: String? = nil) throws(MMMError) -> MMMConfiguration {
        try self.load(.control, cluster: cluster)
    }

    /// Loads the file of `program` and throws if there is any error (warnings do not prevent loading).
    public func load(_ program: ConfigProgram, cluster: String? = nil) throws(MMMError) -> MMMConfiguration {
        if let cluster, !NameRules.isValidName(cluster) {
            throw MMMError(.invalidArgument, "cluster name `\(cluster)` is not valid; use A-Z a-z 0-9 _ . -")
        }
        let result = self.validate(Self.fileName(for: program, cluster: cluster), program: program)
        guard let configuration = result.configuration else {
            let errors = result.problems.filter { $0.severity == .error }.map(\.description)
            throw MMMError(
                .invalidConfiguration,
                "\(errors.count) error\(errors.count == 1 ? "" : "s") in the configuration:\n"
                    + errors.joined(separator: "\n")
            )
        }
        return configuration
    }

    /// Parses and validates `fileName` (in this directory) for `program` without throwing.
    ///
    /// - Parameters:
    ///   - fileName: e.g. `mmm_agent.conf`; an absolute path is used as is.
    ///   - program: whose requirements apply; `nil` checks grammar, types and references only.
    /// - Returns: every problem, sorted by file and line, and the configuration when there is no error.
    public func validate(_ fileName: String, program: ConfigProgram?) -> ConfigValidation {
        let mainFile = fileName.hasPrefix("/") ? fileName : self.filePath(fileName)
        let modes = ModeRecorder()
        let fileSystem = self.fileSystem
        let (raw, parseProblems) = ConfigParser.parse(mainFile: mainFile, directory: self.path) { path in
            let contents = fileSystem.contents(ofFile: path)
            if case .text(_, let mode) = contents { modes.modes[path] = mode }
            return contents
        }
        let (configuration, buildProblems) = ConfigBuilder.build(raw, program: program)
        var problems = parseProblems + buildProblems
        for file in raw.files {
            guard let line = file.firstSecretLine, let mode = modes.modes[file.path], mode & 0o077 != 0 else { continue }
            problems.append(
                ConfigProblem(
                    at: SourceLocation(file: file.path, line: line),
                    "the file holds passwords but its mode \(Self.octal(mode)) lets other users \(Self.access(mode)) it",
                    fix: "run `chmod 600 \(file.path)` (owner root)"
                )
            )
        }
        problems = Self.redacting(Self.uniqued(problems), secrets: raw)
        problems.sort { $0.location < $1.location }
        let valid = !problems.contains { $0.severity == .error }
        return ConfigValidation(
            configuration: valid ? configuration : nil,
            problems: problems,
            files: raw.files.map(\.path)
        )
    }

    /// The clusters that have an agent or monitor file here: `nil` for `mmm_agent.conf`/`mmm_mon.conf`,
    /// the name for `mmm_agent_NAME.conf`/`mmm_mon_NAME.conf`. Log configs (`mmm_agent_log.conf`) are skipped.
    public func clusters() -> [String?] {
        var clusters: Set<String> = []
        var hasDefault = false
        for name in self.fileSystem.fileNames(inDirectory: self.path) ?? [] {
            for base in ["mmm_agent", "mmm_mon"] where name.hasPrefix(base) && name.hasSuffix(".conf") {
                let middle = name.dropFirst(base.count).dropLast(".conf".count)
                if middle.isEmpty {
                    hasDefault = true
                } else if middle.hasPrefix("_") {
                    let cluster = String(middle.dropFirst())
                    if cluster != "log", !cluster.hasPrefix("log_"), NameRules.isValidName(cluster) {
                        clusters.insert(cluster)
                    }
                }
            }
        }
        return (hasDefault ? [nil] : []) + clusters.sorted().map { $0 }
    }

    private static func octal(_ mode: UInt16) -> String {
        "0" + String(mode & 0o7777, radix: 8)
    }

    private static func access(_ mode: UInt16) -> String {
        let read = mode & 0o044 != 0
        let write = mode & 0o022 != 0
        let execute = mode & 0o011 != 0
        switch (read, write) {
        case (true, true): return "read and change"
        case (true, false): return "read"
        case (false, true): return "change"
        case (false, false): return execute ? "execute" : "access"
        }
    }

    private static func uniqued(_ problems: [ConfigProblem]) -> [ConfigProblem] {
        var seen: Set<ConfigProblem> = []
        return problems.filter { seen.insert($0).inserted }
    }

    /// Belt and braces: problems are built from names only, but a password typed where a name was
    /// expected (a line holding only the password) would otherwise be echoed.
    private static func redacting(_ problems: [ConfigProblem], secrets raw: RawConfiguration) -> [ConfigProblem] {
        var secrets: Set<String> = []
        let sections = [raw.globals] + Array(raw.uniqueSections.values) + raw.namedSections.values.flatMap { $0 }
        for section in sections {
            for (name, value) in section.values where ConfigSchema.isSecret(name) && value.text.count >= 4 {
                secrets.insert(value.text)
            }
        }
        guard !secrets.isEmpty else { return problems }
        return problems.map { problem in
            var problem = problem
            for secret in secrets {
                problem.message = problem.message.replacing(secret, with: "<redacted>")
                problem.fix = problem.fix.replacing(secret, with: "<redacted>")
            }
            return problem
        }
    }
}

/// The outcome of ``ConfigDirectory/validate(_:program:)``.
public struct ConfigValidation: Sendable {
    /// The configuration, when there is no error.
    public var configuration: MMMConfiguration?
    /// Every problem, errors and warnings, sorted by file and line.
    public var problems: [ConfigProblem]
    /// Every file read: the main file, then each include, in order.
    public var files: [String]

    /// Whether any problem is an error.
    public var hasErrors: Bool { self.problems.contains { $0.severity == .error } }
}

/// Collects file modes during one parse; lives only inside ``ConfigDirectory/validate(_:program:)``.
private final class ModeRecorder {
    var modes: [String: UInt16] = [:]
}
