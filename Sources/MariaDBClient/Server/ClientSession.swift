/// A client session as `information_schema.PROCESSLIST` shows it: a candidate for fencing.
public struct ClientSession: Sendable, Hashable {
    /// The session id (`KILL` takes it).
    public var id: UInt64
    /// The account.
    public var user: String
    /// `host:port` of the client.
    public var host: String
    /// `COMMAND`, e.g. `Query` or `Sleep`.
    public var command: String
    /// Seconds in the current state.
    public var time: Int
    /// `STATE` (may be empty).
    public var state: String
}
