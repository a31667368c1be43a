/// The `<socket>` section: transport of monitor⇄agent and control connections.
public struct SocketConfiguration: Sendable, Hashable {
    /// `type`, default `plain`.
    public var type: SocketType = .plain
    /// `cert_file` (required with `type ssl`).
    public var certFile: String?
    /// `key_file` (required with `type ssl`).
    public var keyFile: String?
    /// `ca_file` (required with `type ssl` for agent and monitor).
    public var caFile: String?

    /// Creates a plain socket configuration.
    public init() {}
}

/// A `<copy_method NAME>` section (MMM's tools; accepted and validated, not used by swift-mmm yet).
public struct CopyMethodConfiguration: Sendable, Hashable {
    /// The section name, e.g. `scp`.
    public var name: String
    /// `backup_command`.
    public var backupCommand: String?
    /// `restore_command`.
    public var restoreCommand: String?
    /// `incremental_command`.
    public var incrementalCommand: String?
    /// `incremental`, default false.
    public var incremental: Bool = false
    /// `single_run`, default false.
    public var singleRun: Bool = false
    /// `true_copy`, default false.
    public var trueCopy: Bool = false

    /// Creates a copy method with defaults.
    public init(name: String) {
        self.name = name
    }
}
