import Foundation
import MMMCore

/// What `mmm_mond` persists in its status file (`status_path`) and starts from after a restart (invariant 9).
///
/// A JSON document, not MMM's `host|STATE|roles` lines: it also holds flapping flags, errant GTIDs and an
/// in-progress failover, which MMM's format cannot carry.
public struct MonitorStatus: Codable, Sendable, Hashable {
    /// The schema this build writes. A file with a higher version was written by a newer swift-mmm and is refused.
    public static let currentSchemaVersion = 1

    /// The schema version the file was written with.
    public var schemaVersion: Int
    /// The core's persisted state: mode, host states, roles, last writer.
    public var cluster: ClusterSnapshot
    /// The failover that was running when the status was saved, encoded by its owner (opaque here); nil when none.
    /// On start it is resumed or rolled back.
    public var failoverInProgress: Data?
    /// The last epoch the agents were sent. A restarted monitor continues above it (agents ignore lower epochs);
    /// absent in files written before it existed.
    public var epoch: UInt64?
    /// The last (or running) change of writer, for `mmm_control failover_report`.
    public var lastFailover: FailoverReport?
    /// Hosts whose agent refused connections (host up, agent not running) the last time the monitor tried, and has
    /// not answered since. A restarted monitor must not take such a host for a silent one whose lease it can wait out
    /// when it cannot reach it any more (its server may still write); absent in files written before it existed.
    public var agentsRefusing: [String]?

    /// Creates a status of the current schema.
    public init(
        cluster: ClusterSnapshot,
        failoverInProgress: Data? = nil,
        epoch: UInt64? = nil,
        lastFailover: FailoverReport? = nil,
        agentsRefusing: [String]? = nil
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.cluster = cluster
        self.failoverInProgress = failoverInProgress
        self.epoch = epoch
        self.lastFailover = lastFailover
        self.agentsRefusing = agentsRefusing
    }
}

/// A value a ``StatusStore`` can persist: Codable with a schema version it checks on load.
public protocol VersionedStatus: Codable, Sendable {
    /// The newest schema version this build understands.
    static var currentSchemaVersion: Int { get }
    /// The version the value was written with.
    var schemaVersion: Int { get }
}

extension MonitorStatus: VersionedStatus {}
