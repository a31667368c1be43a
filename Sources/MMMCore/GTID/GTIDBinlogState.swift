/// A MariaDB `@@gtid_binlog_state`: the last GTID per (domain, server ID) in a server's binary log.
///
/// Where `@@gtid_binlog_pos` keeps only the last GTID of each domain, the binlog state keeps one per server that
/// wrote in the domain: `0-1-6,0-2-7,1-1-2,2-2-3` while the position was `0-2-7,1-1-2,2-2-3`.
///
/// That difference is why the errant check needs it (fact R1). In a domain that two servers write, sequence
/// numbers continue across servers, so a returning writer's extra transactions can carry lower numbers than the
/// new writer's later ones. Observed with a single shared domain 0: the old writer had binlog position `0-1-6`
/// (its `0-1-5`, `0-1-6` never reached the new writer), the new writer `0-2-7`. Comparing positions says the old
/// writer (6) is behind the new one (7) and finds nothing. The binlog states, `0-1-6` against `0-1-4,0-2-7`, show
/// server 1 at 6 on the old writer and at 4 on the new one: `0-1-5..0-1-6` are errant. With gtid_strict_mode OFF,
/// replication then silently stacks the new writer's transactions on top of the errant ones, and afterwards only
/// the binlog state still differs.
///
/// ``description`` prints the GTIDs sorted by domain, then server ID, so parsing a printed state gives it back.
public struct GTIDBinlogState: Hashable, Sendable {
    /// One entry's identity: a domain and a server that wrote in it.
    private struct Key: Hashable, Sendable {
        var domain: UInt32
        var serverID: UInt32
    }

    private var entries: [Key: GTID]

    /// The empty state: a server whose binary log holds no GTID.
    public init() {
        self.entries = [:]
    }

    /// The empty state.
    public static var empty: GTIDBinlogState { GTIDBinlogState() }

    /// Creates a state from GTIDs, at most one per (domain, server ID); their order does not matter.
    ///
    /// - Throws: ``MMMError`` with code ``MMMError/Code/invalidGTID`` when two GTIDs share domain and server ID.
    public init(_ gtids: some Sequence<GTID>) throws(MMMError) {
        self.entries = [:]
        for gtid in gtids {
            if let earlier = self.insertNew(gtid) {
                throw MMMError(
                    .invalidGTID,
                    "invalid GTID binlog state: domain \(gtid.domain) and server_id \(gtid.serverID) appear twice "
                        + "(\(earlier) and \(gtid)); a binlog state holds one GTID per domain and server_id"
                )
            }
        }
    }

    /// Parses `@@gtid_binlog_state` as MariaDB prints it, e.g. `0-1-6,0-2-7,1-1-2,2-2-3`.
    ///
    /// Same syntax as ``GTIDPosition/init(parsing:)`` (whitespace around commas ignored, blank text is empty),
    /// except that a domain may appear several times, once per server ID.
    ///
    /// - Throws: ``MMMError`` with code ``MMMError/Code/invalidGTID`` when an entry is not a GTID, an entry is
    ///   empty, or two entries share domain and server ID. The message quotes the text and names the bad entry.
    public init(parsing text: some StringProtocol) throws(MMMError) {
        let gtids = try GTIDText.parseList(text, kind: "GTID binlog state")
        self.entries = [:]
        for gtid in gtids {
            if let earlier = self.insertNew(gtid) {
                throw MMMError(
                    .invalidGTID,
                    "invalid GTID binlog state \(GTIDText.quote(text)): domain \(gtid.domain) and server_id "
                        + "\(gtid.serverID) appear twice (\(earlier) and \(gtid)); "
                        + "a binlog state holds one GTID per domain and server_id"
                )
            }
        }
    }

    /// The GTIDs, sorted by domain, then server ID.
    public var gtids: [GTID] {
        self.entries.values.sorted { ($0.domain, $0.serverID) < ($1.domain, $1.serverID) }
    }

    /// Whether the state has no GTID at all.
    public var isEmpty: Bool {
        self.entries.isEmpty
    }

    /// The number of (domain, server ID) entries.
    public var count: Int {
        self.entries.count
    }

    /// The last GTID that `serverID` wrote in `domain`, or `nil` when there is none.
    public subscript(domain domain: UInt32, serverID serverID: UInt32) -> GTID? {
        self.entries[Key(domain: domain, serverID: serverID)]
    }

    /// Sets the entry of (`gtid.domain`, `gtid.serverID`) to `gtid`, as the server does when it binlogs `gtid`.
    public mutating func update(_ gtid: GTID) {
        self.entries[Key(domain: gtid.domain, serverID: gtid.serverID)] = gtid
    }

    /// The position this state implies: per domain, the GTID with the highest sequence number.
    ///
    /// With gtid_strict_mode that is the server's `@@gtid_binlog_pos`. Without it two servers can hold the same
    /// sequence number in a domain; then the lower server ID is taken, whereas the server shows whichever it
    /// binlogged last.
    public var position: GTIDPosition {
        var position = GTIDPosition()
        for gtid in self.gtids {
            if let best = position[domain: gtid.domain], best.sequence >= gtid.sequence {
                continue
            }
            position.update(gtid)
        }
        return position
    }

    /// Whether this state contains `other`: every (domain, server ID) entry of `other` is present here with a
    /// sequence number at least as high.
    public func contains(_ other: GTIDBinlogState) -> Bool {
        other.entries.allSatisfy { key, theirs in
            guard let ours = self.entries[key] else { return false }
            return ours.sequence >= theirs.sequence
        }
    }

    /// The transactions this state has that `other` lacks, per (domain, server ID): the errant check of fact R1.
    ///
    /// For each entry D-S-`a` of this state, with `other` at D-S-`b` (`b = 0` when `other` has no entry for D and
    /// S): if `a > b`, the range `D-S-(b+1)..D-S-a`. Call it on the returning host's `@@gtid_binlog_state` with the
    /// new writer's: `returning.ranges(notIn: newWriter)`; anything returned means the returning host diverged.
    ///
    /// Unlike ``GTIDPosition/ranges(notIn:)`` on `gtid_binlog_pos`, this also finds divergence inside a domain that
    /// several servers wrote (see the type's documentation), and it finds everything that one finds: whenever the
    /// positions show a domain ahead, the entry of that domain's last writer is ahead here too. In the one-domain
    /// example, `0-1-6` against `0-1-4,0-2-7` gives `0-1-5..0-1-6`.
    ///
    /// - Note: Within a shared domain a range names sequence numbers of server S, not all of which need be S's
    ///   transactions (other servers' numbers interleave); its last GTID is certainly one of them.
    /// - Returns: the ranges, sorted by domain, then server ID; empty when `other` has everything this state has.
    public func ranges(notIn other: GTIDBinlogState) -> [GTIDRange] {
        self.gtids.compactMap { ours in
            let theirs = other[domain: ours.domain, serverID: ours.serverID]?.sequence ?? 0
            guard ours.sequence > theirs else { return nil }
            return GTIDRange(domain: ours.domain, serverID: ours.serverID, first: theirs + 1, last: ours.sequence)
        }
    }

    /// Inserts `gtid` unless its (domain, server ID) is taken; returns the GTID already there, if any.
    private mutating func insertNew(_ gtid: GTID) -> GTID? {
        let key = Key(domain: gtid.domain, serverID: gtid.serverID)
        if let earlier = self.entries[key] {
            return earlier
        }
        self.entries[key] = gtid
        return nil
    }
}

extension GTIDBinlogState: CustomStringConvertible {
    /// The state as MariaDB prints it, sorted by domain, then server ID: `0-1-6,0-2-7,1-1-2`; empty when empty.
    public var description: String {
        self.gtids.map(\.description).joined(separator: ",")
    }
}
