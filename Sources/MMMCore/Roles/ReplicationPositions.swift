/// What one host has of the cluster's transactions, as its agent last reported it: the input of the writer
/// candidate's ranking (DESIGN.md §4 step 3, fact R12; see ``RolePlanner/mostAdvanced(among:positions:)``).
///
/// Positions are compared per domain with ``GTIDPosition/contains(_:)`` (fact R1); server IDs never decide.
public struct ReplicationPositions: Hashable, Sendable {
    /// Everything the host has in any form, per domain: what reached its relay log (`Gtid_IO_Pos`) folded with
    /// what it has committed (``applied``). Always contains ``applied``.
    public let received: GTIDPosition
    /// What the host has committed, per domain: `@@gtid_slave_pos` (applied by its SQL thread) folded with
    /// `@@gtid_binlog_pos` (everything in its binlog, its own writes included).
    public let applied: GTIDPosition

    /// Creates a report; `applied` is folded into `received`, so that a host is never ranked as having received
    /// less than it has committed (a host that is not a replica has an empty `Gtid_IO_Pos`).
    ///
    /// - Parameters:
    ///   - received: what the host received (its `Gtid_IO_Pos`, the caller may fold its `gtid_binlog_pos` in).
    ///   - applied: what the host committed (`gtid_slave_pos` folded with `gtid_binlog_pos`).
    public init(received: GTIDPosition, applied: GTIDPosition) {
        self.received = received.merging(applied)
        self.applied = applied
    }

    /// Creates a report from a host's GTID variables as its agent prints them (``GTIDPosition/init(parsing:)``).
    ///
    /// `received` becomes `Gtid_IO_Pos` ∪ `gtid_slave_pos` ∪ `gtid_binlog_pos` and `applied` becomes
    /// `gtid_slave_pos` ∪ `gtid_binlog_pos`, per domain, the higher sequence number winning.
    ///
    /// - Parameters:
    ///   - receivedPosition: the `Gtid_IO_Pos` column of the host's replication connection (empty when it has none).
    ///   - slavePosition: `@@gtid_slave_pos`.
    ///   - binlogPosition: `@@gtid_binlog_pos`.
    /// - Throws: ``MMMError`` with code ``MMMError/Code/invalidGTID`` when a text is not a GTID list.
    public init(receivedPosition: String, slavePosition: String, binlogPosition: String) throws(MMMError) {
        let applied = try GTIDPosition(parsing: slavePosition).merging(try GTIDPosition(parsing: binlogPosition))
        self.init(received: try GTIDPosition(parsing: receivedPosition), applied: applied)
    }
}
