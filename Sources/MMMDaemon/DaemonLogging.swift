import Logging
import MMMCore
import Synchronization

/// How an executable's logs look: where they go, from which level, and what every entry carries.
public struct DaemonLoggingConfiguration: Sendable, Hashable {
    /// The program name (`mmm_agentd`), put in every entry under ``LogKey/program``.
    public var program: String
    /// The host this daemon runs as (`this` in `mmm_agent.conf`), under ``LogKey/host``; `nil` when there is none
    /// (the monitor).
    public var host: String?
    /// The cluster name, under ``LogKey/cluster``; `nil` for the default cluster.
    public var cluster: String?
    /// The lowest level written.
    public var level: Logger.Level

    /// Creates a logging configuration.
    public init(program: String, host: String? = nil, cluster: String? = nil, level: Logger.Level = .info) {
        self.program = program
        self.host = host
        self.cluster = cluster
        self.level = level
    }

    /// The metadata every entry starts with.
    public var baseMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [LogKey.program: "\(self.program)"]
        if let host = self.host { metadata[LogKey.host] = "\(host)" }
        if let cluster = self.cluster { metadata[LogKey.cluster] = "\(cluster)" }
        return metadata
    }
}

/// Sets up swift-log for an executable: the only place outside tests where a log handler is chosen.
///
/// Libraries never call this; they take a `Logger` in `init` (house style §5.1). Executables call
/// ``bootstrap(_:)`` once at the top of `run()`, then create their loggers with `Logger(label:)`.
public enum DaemonLogging {
    private static let bootstrapped = Mutex(false)

    /// The level names a `--log-level` flag accepts, lowest first: `trace`, `debug`, `info`, `notice`, `warning`,
    /// `error`, `critical`.
    public static var levelNames: [String] { Logger.Level.allCases.map(\.rawValue) }

    /// The level named `name` (case-insensitive).
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidArgument` naming the value and the accepted names.
    public static func level(named name: String) throws(MMMError) -> Logger.Level {
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw MMMError(
                .invalidArgument,
                "unknown log level '\(name)'; use one of \(Self.levelNames.joined(separator: ", "))"
            )
        }
        return level
    }

    /// A standard-error handler for `label` that carries `configuration`'s level and base metadata.
    public static func makeHandler(label: String, configuration: DaemonLoggingConfiguration) -> StreamLogHandler {
        var handler = StreamLogHandler.standardError(label: label, metadataProvider: nil)
        handler.logLevel = configuration.level
        handler.metadata = configuration.baseMetadata
        return handler
    }

    /// Routes every logger of this process to standard error with `configuration`'s level and metadata.
    ///
    /// Standard error, because systemd's journal (and any supervisor) collects it with timestamps and the unit name;
    /// no log file is opened. Only the first call has an effect: swift-log traps on a second bootstrap, so later
    /// calls (a test calling an executable's entry point twice) are ignored.
    ///
    /// - Returns: whether this call installed the handler.
    @discardableResult
    public static func bootstrap(_ configuration: DaemonLoggingConfiguration) -> Bool {
        let first = Self.bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return false }
        LoggingSystem.bootstrap { label in Self.makeHandler(label: label, configuration: configuration) }
        return true
    }
}
