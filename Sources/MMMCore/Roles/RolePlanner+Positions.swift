extension RolePlanner {
    /// The hosts among `hosts` that may be chosen as writer candidate by how much they have: DESIGN.md §4 step 3,
    /// "most advanced received GTID, then applied GTID, then `prefer`".
    ///
    /// The rule, with positions compared per domain by ``GTIDPosition/contains(_:)`` (sequence numbers decide, server
    /// IDs do not; fact R1):
    /// 1. A host whose positions are unknown (missing from `positions`) counts as having received and applied
    ///    nothing (the empty position).
    /// 2. Host B is *strictly ahead* of host A on a position when B's position contains A's and A's does not contain
    ///    B's: B has at least as much as A in every domain A has, and more somewhere (a domain A lacks counts).
    /// 3. The hosts kept first are those no host of `hosts` is strictly ahead of on
    ///    ``ReplicationPositions/received``; of those, the ones no other kept host is strictly ahead of on
    ///    ``ReplicationPositions/applied``.
    ///
    /// So a candidate is never strictly behind another of `hosts` with a known position (a host that received more
    /// could not attach to it, fact R12, and what only that host has would be lost). Hosts with equal positions, and
    /// hosts whose positions are incomparable (each has a transaction the other lacks: diverged histories, which no
    /// choice repairs; the errant check then holds the other one out), are all kept: the planner's usual order
    /// (`prefer`, then load, then configuration order) chooses among them. With no position known, every host is
    /// kept. The result is never empty when `hosts` is not (strictly ahead is a strict partial order).
    ///
    /// - Parameters:
    ///   - hosts: the hosts that may become writer now.
    ///   - positions: what each host last reported; hosts missing have unknown positions.
    /// - Returns: the hosts of `hosts` that may be chosen.
    public static func mostAdvanced(among hosts: [String], positions: [String: ReplicationPositions]) -> Set<String> {
        let byReceived = Self.notStrictlyBehind(hosts) { positions[$0]?.received ?? .empty }
        return Set(Self.notStrictlyBehind(byReceived) { positions[$0]?.applied ?? .empty })
    }

    /// The hosts of `hosts` that no other host of `hosts` is strictly ahead of on `position`.
    private static func notStrictlyBehind(_ hosts: [String], _ position: (String) -> GTIDPosition) -> [String] {
        let ranked = hosts.map { (host: $0, position: position($0)) }
        return ranked.filter { mine in
            !ranked.contains { other in
                other.host != mine.host && other.position.contains(mine.position)
                    && !mine.position.contains(other.position)
            }
        }.map(\.host)
    }

    /// The hosts of `others` that received something `candidate` did not: a promotion of `candidate` would lose it
    /// (what such a host ACKed under `zero_loss` included), and the host could not replicate from it (fact R12).
    ///
    /// The monitor chooses the candidate from positions polled every second, which can be older than the last
    /// transactions a replica received before the writer failed; a promotion therefore reads the positions again
    /// once the old writer is fenced and, if this is not empty, gives the candidate up so that the choice is made
    /// again with what it read (found by the zero-loss model: a third master that ACKed while the candidate's
    /// replication was stalled).
    ///
    /// Positions compare per domain by ``GTIDPosition/contains(_:)``; a domain the candidate lacks counts. Hosts
    /// missing from `positions` (not read) are left out; a candidate missing from it counts as having nothing.
    ///
    /// - Returns: the hosts ahead, in the order of `others`.
    public static func hostsAhead(
        of candidate: String,
        among others: [String],
        positions: [String: ReplicationPositions]
    ) -> [String] {
        let mine = positions[candidate]?.received ?? .empty
        return others.filter { other in
            guard other != candidate, let theirs = positions[other]?.received else { return false }
            return !mine.contains(theirs)
        }
    }
}
