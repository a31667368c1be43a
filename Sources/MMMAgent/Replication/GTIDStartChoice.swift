import MMMCore
import MariaDBClient

extension GTIDStartPosition {
    /// The `MASTER_USE_GTID` for repointing a host (invariant 4): ``currentPos`` for a host that has written on its
    /// own, ``slavePos`` for one that never has.
    ///
    /// A host has written when its `@@gtid_binlog_state` holds a GTID with its own `server_id`. The binlog state is
    /// used, not `@@gtid_binlog_pos`, because in a domain that another server wrote later the position no longer
    /// shows the host's own writes while the state still does (R1). With `current_pos`, a host holding transactions
    /// the new master lacks is refused with IO error 1236 (R2, §2.2 of the facts); `slave_pos` would accept it silently
    /// and master-master would spread its errant transactions. A host that never wrote has `gtid_current_pos` equal
    /// to `gtid_slave_pos` in effect, and `slave_pos` is the mode the facts verified for replicas (§4).
    ///
    /// - Parameters:
    ///   - serverID: the host's `@@server_id`.
    ///   - binlogState: the host's `@@gtid_binlog_state`.
    public static func forRepointing(serverID: UInt32, binlogState: GTIDBinlogState) -> GTIDStartPosition {
        binlogState.gtids.contains { $0.serverID == serverID } ? .currentPos : .slavePos
    }

    /// ``forRepointing(serverID:binlogState:)`` for the host these facts describe.
    public static func forRepointing(_ facts: ServerFacts) -> GTIDStartPosition {
        self.forRepointing(serverID: facts.serverID, binlogState: facts.gtidBinlogState)
    }

    /// The `Using_Gtid` value `SHOW SLAVE STATUS` shows for this mode.
    public var statusMode: ReplicaStatus.GTIDMode {
        switch self {
        case .slavePos: return .slavePos
        case .currentPos: return .currentPos
        }
    }
}
