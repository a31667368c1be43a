/// Logger metadata keys, declared once so that every daemon, dashboards and `grep` agree on them.
public enum LogKey {
    /// The program that logs (`mmm_agentd`, `mmm_mond`).
    public static let program = "mmm.program"
    /// The host a daemon runs as (`this` in `mmm_agent.conf`) or the host an event is about.
    public static let host = "mmm.host"
    /// A role name (`writer`, `reader`).
    public static let role = "mmm.role"
    /// Whether a listener uses mutual TLS (`mutual`) or not (`off`).
    public static let tls = "mmm.tls"
    /// A monitor check (`ping`, `mysql`, `rep_threads`, `rep_backlog`).
    public static let check = "mmm.check"
    /// The remote end of a connection (`127.0.0.1:40312`).
    public static let peer = "mmm.peer"
    /// An error's description (never contains a secret: ``MMMCore/MMMError`` messages do not).
    public static let error = "mmm.error"
    /// A protocol request's kind (`ping`, `setStatus`).
    public static let request = "mmm.request"
    /// The sender name of a protocol frame.
    public static let sender = "mmm.sender"
    /// The cluster name (`mmm_agent_CLUSTER.conf`), when not the default one.
    public static let cluster = "mmm.cluster"
    /// A rejected frame's reason (`badMAC`, `replayed`…).
    public static let rejection = "mmm.rejection"
    /// A local listening address.
    public static let address = "mmm.address"
    /// A file path (the pid file).
    public static let path = "mmm.path"
    /// A process id.
    public static let pid = "mmm.pid"
    /// A protocol key's fingerprint (``ProtocolKey.fingerprint`` in `MMMProtocol`; never the key itself), so that
    /// operators can compare keys across hosts when frames are refused with `badMAC`.
    public static let keyFingerprint = "mmm.key.fingerprint"
    /// A duration (a deadline, a timeout).
    public static let duration = "mmm.duration"
    /// A server's limit of open connections (``ProtocolServerConfiguration.maximumConnections`` in `MMMTransport`).
    public static let connectionLimit = "mmm.connection.limit"
    /// How many connections were refused, for the same reason, since the previous log line about such refusals.
    public static let refusedConnections = "mmm.connections.refused"
}
