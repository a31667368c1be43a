import FoundationEssentials
import MMMCore
import MariaDBClient

/// Finds where GTIDs are in a server's binary logs, so an operator can inspect errant transactions with `mysqlbinlog`
/// (`mmm_control errant HOST`).
///
/// Reads `SHOW BINARY LOGS`, then `SHOW BINLOG EVENTS IN 'file'` from the newest file back, and matches the `Gtid`
/// events (`BEGIN GTID 0-1-6`, `GTID 0-1-6`). Errant transactions are recent, so the newest files are read first; at
/// most ``maximumFiles`` files are read. The account needs the `BINLOG MONITOR` privilege (the monitor's account
/// usually has it for the replication checks).
public enum BinlogLocator {
    /// Where one GTID's transaction begins.
    public struct Location: Hashable, Sendable {
        /// The binlog file.
        public var file: String
        /// The position of its `Gtid` event.
        public var position: UInt64
    }

    /// How many binlog files are read at most, newest first.
    public static let maximumFiles = 20

    /// The binlog location of each GTID of `gtids` found on `connection`'s server.
    public static func locate(_ gtids: Set<GTID>, on connection: MariaDBConnection, deadline: Duration) async throws -> [GTID: Location] {
        let files = try await connection.query("SHOW BINARY LOGS", deadline: deadline).rows
            .compactMap { try? $0.requiredString("Log_name") }
        var found: [GTID: Location] = [:]
        for file in files.reversed().prefix(Self.maximumFiles) where found.count < gtids.count {
            // The name comes from the server; it is still checked before it goes back into SQL.
            guard file.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }) else { continue }
            let events = try await connection.query("SHOW BINLOG EVENTS IN \(SQLValidation.quote(file))", deadline: deadline)
            for row in events.rows {
                guard try row.string("Event_type") == "Gtid", let info = try row.string("Info"),
                    let text = info.split(separator: " ").last, let gtid = try? GTID(parsing: text),
                    gtids.contains(gtid), let position = try row.uint64("Pos")
                else { continue }
                found[gtid] = Location(file: file, position: position)
            }
        }
        return found
    }

    /// The last GTID of each range text (`0-2-5..0-2-7` → `0-2-7`, `0-2-5` → `0-2-5`); texts that are not ranges are
    /// skipped.
    public static func lastGTIDs(of ranges: [String]) -> [GTID] {
        ranges.compactMap { range in
            let last = range.components(separatedBy: "..").last ?? range
            return try? GTID(parsing: last)
        }
    }
}
