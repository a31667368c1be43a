/// A run of sequence numbers in one domain, attributed to one server: `1-1-2..1-1-3`.
///
/// Used to report transactions one host has and another lacks (errant transactions, see
/// ``GTIDPosition/ranges(notIn:)`` and ``GTIDBinlogState/ranges(notIn:)``).
///
/// - Note: A range names sequence numbers, not proven transactions. In a domain that only one server writes (the
///   swift-mmm layout: one domain per master) every number of the range is normally a transaction of ``serverID``
///   (sequence numbers grow by one per transaction unless a session sets `gtid_seq_no`). In a domain shared by
///   several servers some numbers of the range may belong to other servers' transactions.
public struct GTIDRange: Hashable, Sendable {
    /// The replication domain.
    public var domain: UInt32
    /// The server the range is attributed to.
    public var serverID: UInt32
    /// The first sequence number in the range.
    public var first: UInt64
    /// The last sequence number in the range, at least ``first``.
    public var last: UInt64

    /// Creates a range.
    ///
    /// - Precondition: `first <= last`.
    public init(domain: UInt32, serverID: UInt32, first: UInt64, last: UInt64) {
        precondition(first <= last, "a GTID range needs first <= last, got \(first)..\(last)")
        self.domain = domain
        self.serverID = serverID
        self.first = first
        self.last = last
    }

    /// How many sequence numbers the range spans (`last - first + 1`), saturating at `UInt64.max`.
    public var count: UInt64 {
        let (count, overflow) = (self.last - self.first).addingReportingOverflow(1)
        return overflow ? .max : count
    }

    /// The first GTID of the range, `domain-serverID-first`.
    public var firstGTID: GTID {
        GTID(domain: self.domain, serverID: self.serverID, sequence: self.first)
    }

    /// The last GTID of the range, `domain-serverID-last`.
    public var lastGTID: GTID {
        GTID(domain: self.domain, serverID: self.serverID, sequence: self.last)
    }

    /// Whether `gtid` is in the range: same domain and server, sequence between ``first`` and ``last``.
    public func contains(_ gtid: GTID) -> Bool {
        gtid.domain == self.domain && gtid.serverID == self.serverID && (self.first...self.last).contains(gtid.sequence)
    }
}

extension GTIDRange: CustomStringConvertible {
    /// `1-1-2..1-1-3`, or `1-1-2` when the range holds one sequence number.
    public var description: String {
        if self.first == self.last {
            return self.firstGTID.description
        }
        return "\(self.firstGTID)..\(self.lastGTID)"
    }
}
