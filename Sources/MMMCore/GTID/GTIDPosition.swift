/// A MariaDB GTID position: at most one GTID per replication domain.
///
/// This is the value of `@@gtid_binlog_pos`, `@@gtid_slave_pos`, `@@gtid_current_pos`, the `Gtid_IO_Pos` and
/// `Gtid_Slave_Pos` columns of `SHOW ALL SLAVES STATUS`, and the argument of `MASTER_GTID_WAIT`. Each GTID is the
/// last one of its domain that the server binlogged, applied or received.
///
/// Positions are compared per domain (facts R1, R2, R4, R5); see ``contains(_:)``, ``ranges(notIn:)`` and
/// ``compareDomains(with:)``. The server ID of each GTID is kept and printed but never decides order: in a
/// domain that several servers write, a position cannot show divergence; ``GTIDBinlogState`` can.
///
/// ``description`` prints the GTIDs sorted by domain, so `GTIDPosition(parsing: p.description) == p` and printing a
/// parsed value gives a canonical text.
public struct GTIDPosition: Hashable, Sendable {
    private var byDomain: [UInt32: GTID]

    /// The empty position: no domain at all (`''`, as `gtid_slave_pos` shows before any replication).
    public init() {
        self.byDomain = [:]
    }

    /// The empty position.
    public static var empty: GTIDPosition { GTIDPosition() }

    /// Creates a position from GTIDs, at most one per domain; their order does not matter.
    ///
    /// - Throws: ``MMMError`` with code ``MMMError/Code/invalidGTID`` when two GTIDs share a domain.
    public init(_ gtids: some Sequence<GTID>) throws(MMMError) {
        self.byDomain = [:]
        for gtid in gtids {
            if let earlier = self.byDomain[gtid.domain] {
                throw MMMError(
                    .invalidGTID,
                    "invalid GTID position: domain \(gtid.domain) appears twice (\(earlier) and \(gtid)); "
                        + "a position holds at most one GTID per domain"
                )
            }
            self.byDomain[gtid.domain] = gtid
        }
    }

    /// Parses a GTID list as MariaDB prints it, e.g. `0-1-100,1-2-57`.
    ///
    /// Accepts the value of `@@gtid_binlog_pos`, `@@gtid_slave_pos`, `@@gtid_current_pos` and of the `Gtid_IO_Pos`
    /// column, which is not sorted by domain (`1-1-2,2-2-3,0-1-6`). Whitespace and newlines around the commas and
    /// the whole text are ignored (MariaDB may print `",\n"` in long lists). Empty or blank text is the empty
    /// position. Each entry must be a valid ``GTID`` (see ``GTID/init(parsing:)``).
    ///
    /// - Parameter text: the list text.
    /// - Throws: ``MMMError`` with code ``MMMError/Code/invalidGTID`` when an entry is not a GTID, an entry is
    ///   empty (`0-1-1,,0-1-2`, a trailing comma), or two entries share a domain. The message quotes the text and
    ///   names the bad entry.
    public init(parsing text: some StringProtocol) throws(MMMError) {
        let gtids = try GTIDText.parseList(text, kind: "GTID list")
        self.byDomain = [:]
        for gtid in gtids {
            if let earlier = self.byDomain[gtid.domain] {
                throw MMMError(
                    .invalidGTID,
                    "invalid GTID list \(GTIDText.quote(text)): domain \(gtid.domain) appears twice "
                        + "(\(earlier) and \(gtid)); a position holds at most one GTID per domain"
                )
            }
            self.byDomain[gtid.domain] = gtid
        }
    }

    /// The GTIDs, sorted by domain.
    public var gtids: [GTID] {
        self.byDomain.values.sorted { $0.domain < $1.domain }
    }

    /// The domains present, sorted.
    public var domains: [UInt32] {
        self.byDomain.keys.sorted()
    }

    /// Whether the position has no domain at all.
    public var isEmpty: Bool {
        self.byDomain.isEmpty
    }

    /// The number of domains.
    public var count: Int {
        self.byDomain.count
    }

    /// The GTID of `domain`, or `nil` when the position has none.
    public subscript(domain domain: UInt32) -> GTID? {
        self.byDomain[domain]
    }

    /// Sets the GTID of `gtid.domain` to `gtid`, replacing what the domain held, even a higher sequence.
    ///
    /// This is what the server does when it records a commit or `SET GLOBAL gtid_slave_pos`; use
    /// ``merging(_:)`` to keep the higher sequence per domain instead.
    public mutating func update(_ gtid: GTID) {
        self.byDomain[gtid.domain] = gtid
    }

    /// Removes `domain` from the position and returns the GTID it held, if any.
    @discardableResult
    public mutating func removeDomain(_ domain: UInt32) -> GTID? {
        self.byDomain.removeValue(forKey: domain)
    }
}

extension GTIDPosition: CustomStringConvertible {
    /// The position as MariaDB prints a GTID list, sorted by domain without spaces: `0-1-100,1-2-57`; empty for
    /// the empty position.
    public var description: String {
        self.gtids.map(\.description).joined(separator: ",")
    }
}
