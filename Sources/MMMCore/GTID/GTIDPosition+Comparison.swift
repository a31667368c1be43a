extension GTIDPosition {
    /// How one position relates to another in one domain. Sequence numbers decide; server IDs do not.
    public enum DomainRelation: Hashable, Sendable {
        /// Both have the domain at the same sequence number (their server IDs may still differ).
        case equal
        /// Both have the domain; this position's sequence number is higher.
        case ahead
        /// Both have the domain; this position's sequence number is lower.
        case behind
        /// Only this position has the domain: it is ahead there (errant, if it is a returning writer).
        case onlyInSelf
        /// Only the other position has the domain: this position is behind there, never errant.
        case onlyInOther
    }

    /// One domain of ``GTIDPosition/compareDomains(with:)``: both GTIDs and how they relate.
    public struct DomainComparison: Hashable, Sendable {
        /// The domain compared.
        public let domain: UInt32
        /// The GTID of the position `compareDomains(with:)` was called on, `nil` if it lacks the domain.
        public let ours: GTID?
        /// The GTID of the position passed as `other`, `nil` if it lacks the domain.
        public let theirs: GTID?

        /// How ``ours`` relates to ``theirs``.
        public var relation: DomainRelation {
            switch (self.ours, self.theirs) {
            case (let ours?, let theirs?):
                if ours.sequence == theirs.sequence { return .equal }
                return ours.sequence > theirs.sequence ? .ahead : .behind
            case (.some, nil):
                return .onlyInSelf
            case (nil, _):
                // Only built by compareDomains(with:), which never pairs two missing GTIDs.
                return .onlyInOther
            }
        }
    }

    /// Compares this position with `other`, domain by domain, over the domains that either has.
    ///
    /// - Returns: one ``DomainComparison`` per domain present in either position, sorted by domain.
    public func compareDomains(with other: GTIDPosition) -> [DomainComparison] {
        let domains = Set(self.domains).union(other.domains).sorted()
        return domains.map { domain in
            DomainComparison(domain: domain, ours: self[domain: domain], theirs: other[domain: domain])
        }
    }

    /// Whether this position contains `other`: every domain of `other` is present here with a sequence number at
    /// least as high. Server IDs are ignored.
    ///
    /// This is `MASTER_GTID_WAIT`'s test (fact R5): `MASTER_GTID_WAIT(other)` on a server returns 0 at once exactly
    /// when its `gtid_slave_pos` contains `other`. A domain of `other` that is missing here is never reached, even
    /// at sequence 0: MariaDB's documentation says the server then waits until the domain appears. The empty
    /// position is contained in every position; every position contains itself, and containment is transitive.
    ///
    /// Uses: drained (``isDrained(received:applied:)``, R4); zero-loss switchover (the candidate's position
    /// contains the fenced writer's `gtid_binlog_pos`); attaching a replica (R12: a replica whose `gtid_slave_pos`
    /// is not contained in the new master's `gtid_binlog_pos` gets IO error 1236).
    public func contains(_ other: GTIDPosition) -> Bool {
        other.gtids.allSatisfy { theirs in
            guard let ours = self[domain: theirs.domain] else { return false }
            return ours.sequence >= theirs.sequence
        }
    }

    /// Whether this position has reached `gtid`: its domain is present with a sequence number at least as high.
    /// Server IDs are ignored, as in ``contains(_:)``.
    public func contains(_ gtid: GTID) -> Bool {
        guard let ours = self[domain: gtid.domain] else { return false }
        return ours.sequence >= gtid.sequence
    }

    /// The transactions this position has that `other` lacks, per domain: the errant check of fact R2.
    ///
    /// For each domain D of this position at sequence `a`, with `other` at sequence `b` in D (`b = 0` when `other`
    /// lacks D): if `a > b`, the range `D-S-(b+1)..D-S-a`, where S is this position's server ID in D. A domain
    /// that only `other` has is "behind", never errant, and yields nothing.
    ///
    /// Errant check (R2): call it on the returning old writer's `@@gtid_binlog_pos` (taken after it is fenced)
    /// with the new writer's `@@gtid_binlog_pos`: `old.ranges(notIn: new)`. Anything returned exists only on the old
    /// writer; run the check before any `START SLAVE` on the returning host. Do not use the old writer's
    /// `gtid_slave_pos`: it lags its own binlog. In the fact file's example, old `0-1-3,1-1-3` against new
    /// `0-1-3,1-1-1,2-2-1` gives `1-1-2..1-1-3`.
    ///
    /// - Important: This is exact only when each domain has one writer (one domain per master). In a shared
    ///   domain a newer transaction of another server hides the returning host's extra ones (fact R1): use
    ///   ``GTIDBinlogState/ranges(notIn:)`` on `@@gtid_binlog_state`, which finds those too.
    /// - Note: A domain held at sequence 0 holds no transaction, so it never yields a range; that is the only case
    ///   where `other.contains(self)` is false although this returns nothing.
    /// - Returns: the ranges, sorted by domain; empty when `other` has everything this position has.
    public func ranges(notIn other: GTIDPosition) -> [GTIDRange] {
        self.gtids.compactMap { ours in
            let theirs = other[domain: ours.domain]?.sequence ?? 0
            guard ours.sequence > theirs else { return nil }
            return GTIDRange(domain: ours.domain, serverID: ours.serverID, first: theirs + 1, last: ours.sequence)
        }
    }

    /// Whether a replica has applied everything it received (fact R4).
    ///
    /// Drained means `applied` contains `received` in every domain, which is what
    /// `MASTER_GTID_WAIT('<Gtid_IO_Pos>', t)` returning 0 shows on the server. `Seconds_Behind_Master` cannot
    /// tell: it is NULL as soon as the IO thread is not running, even with unapplied relay log.
    ///
    /// - Parameters:
    ///   - received: the `Gtid_IO_Pos` column of the replica's connection to the writer (what reached its relay log).
    ///   - applied: the replica's `@@gtid_slave_pos` (what its SQL thread applied). Not `gtid_binlog_pos` or
    ///     `gtid_current_pos`: a server's own binlogged writes never satisfy `MASTER_GTID_WAIT` (R5).
    public static func isDrained(received: GTIDPosition, applied: GTIDPosition) -> Bool {
        applied.contains(received)
    }

    /// This position with `other` folded in: per domain, the GTID with the higher sequence number (this position's
    /// GTID when both are equal). The result contains both positions.
    public func merging(_ other: GTIDPosition) -> GTIDPosition {
        var result = self
        result.merge(other)
        return result
    }

    /// Folds `other` into this position: per domain, keeps the GTID with the higher sequence number (this
    /// position's GTID when both are equal).
    public mutating func merge(_ other: GTIDPosition) {
        for theirs in other.gtids {
            if let ours = self[domain: theirs.domain], ours.sequence >= theirs.sequence {
                continue
            }
            self.update(theirs)
        }
    }
}
