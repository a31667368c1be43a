import MMMCore
import PropertyBased
import Testing

/// Laws of the GTID algebra, each checked on 1,000 or more generated cases.
@Suite struct GTIDAlgebraPropertyTests {
    static let cases = 1_000

    // MARK: - Round trips

    @Test func positionParsesItsOwnDescription() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.widePosition) { position in
            #expect(noThrow { try GTIDPosition(parsing: position.description) } == position)
        }
    }

    @Test func positionParsesShuffledListsWithWhitespace() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.widePosition, GTIDGen.seed) { position, seed in
            let text = noisyList(position.gtids, seed: seed)
            let parsed = noThrow { try GTIDPosition(parsing: text) }
            #expect(parsed == position, "text: \(text.debugDescription)")
            #expect(parsed?.description == position.description)
        }
    }

    @Test func positionDescriptionIsSortedByDomainWithoutSpaces() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.widePosition) { position in
            let domains = position.gtids.map(\.domain)
            #expect(domains == domains.sorted())
            #expect(Set(domains).count == domains.count)
            #expect(!position.description.contains(" "))
            #expect(position.description.split(separator: ",").count == position.count)
        }
    }

    @Test func binlogStateParsesItsOwnDescriptionAndNoisyText() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.wideBinlogState, GTIDGen.seed) { state, seed in
            #expect(noThrow { try GTIDBinlogState(parsing: state.description) } == state)
            #expect(noThrow { try GTIDBinlogState(parsing: noisyList(state.gtids, seed: seed)) } == state)
        }
    }

    @Test func duplicateDomainIsAlwaysRejected() async {
        await propertyCheck(
            count: Self.cases,
            input: GTIDGen.widePosition,
            GTIDGen.wideGTID,
            GTIDGen.seed
        ) { position, extra, seed in
            // Every case counts: an empty position gets `extra` as its one GTID.
            let gtids = position.isEmpty ? [extra] : position.gtids
            let victim = gtids[Int(seed % UInt64(gtids.count))]
            let duplicate = GTID(domain: victim.domain, serverID: extra.serverID, sequence: extra.sequence)
            let text = noisyList(gtids + [duplicate], seed: seed)
            let error = #expect(throws: MMMError.self) { try GTIDPosition(parsing: text) }
            #expect(error?.code == .invalidGTID)
            #expect(error?.message.contains("domain \(victim.domain) appears twice") == true)
        }
    }

    // MARK: - Containment

    @Test func containsIsReflexive() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.widePosition) { position in
            #expect(position.contains(position))
            #expect(position.contains(GTIDPosition.empty))
            #expect(position.ranges(notIn: position).isEmpty)
        }
    }

    @Test func containsIsTransitive() async {
        var premiseHeld = 0
        await propertyCheck(
            count: 3_000,
            input: GTIDGen.smallPosition,
            GTIDGen.smallPosition,
            GTIDGen.smallPosition
        ) { a, b, c in
            if a.contains(b) && b.contains(c) {
                premiseHeld += 1
                #expect(a.contains(c))
            }
        }
        // Random small positions must chain often enough for the law to have been exercised.
        #expect(premiseHeld >= 100, "only \(premiseHeld) chains")
    }

    @Test func containsIsTransitiveOnBuiltChains() async {
        // c ⊆ b ⊆ a by construction: b is a with domains lowered or dropped, c the same from b.
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.seed) { a, seed in
            var random = NoiseRandom(seed: seed)
            let b = Self.lowered(a, using: &random)
            let c = Self.lowered(b, using: &random)
            #expect(a.contains(b))
            #expect(b.contains(c))
            #expect(a.contains(c))
        }
    }

    @Test func containsMeansNothingErrantAndEveryDomainPresent() async {
        await propertyCheck(count: 3_000, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { a, b in
            let nothingErrant = b.ranges(notIn: a).isEmpty
            let everyDomainPresent = b.domains.allSatisfy { a[domain: $0] != nil }
            #expect(a.contains(b) == (nothingErrant && everyDomainPresent))
            // The two differ only on a domain b holds at sequence 0 and a lacks: no transaction is missing there.
            if nothingErrant && !everyDomainPresent {
                #expect(b.gtids.filter { a[domain: $0.domain] == nil }.allSatisfy { $0.sequence == 0 })
            }
        }
    }

    @Test func containsAgreesWithDomainComparison() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { a, b in
            let relations = a.compareDomains(with: b).map(\.relation)
            let expected = relations.allSatisfy { $0 == .equal || $0 == .ahead || $0 == .onlyInSelf }
            #expect(a.contains(b) == expected)
        }
    }

    @Test func containsSingleGTIDMatchesPositionOfOne() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.smallGTID) { position, gtid in
            #expect(position.contains(gtid) == noThrow { try GTIDPosition([gtid]) }.map { position.contains($0) })
        }
    }

    @Test func serverIDNeverDecidesContainment() async {
        await propertyCheck(
            count: Self.cases,
            input: GTIDGen.smallPosition,
            GTIDGen.smallPosition,
            Gen<UInt32>.value(in: 0...UInt32.max)
        ) { a, b, serverID in
            var renamed = GTIDPosition()
            for gtid in b.gtids {
                renamed.update(GTID(domain: gtid.domain, serverID: serverID, sequence: gtid.sequence))
            }
            #expect(a.contains(b) == a.contains(renamed))
            #expect(a.ranges(notIn: b).map(\.count) == a.ranges(notIn: renamed).map(\.count))
        }
    }

    // MARK: - Domain comparison

    @Test func domainComparisonIsAntisymmetric() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { a, b in
            let forward = a.compareDomains(with: b)
            let backward = b.compareDomains(with: a)
            #expect(forward.map(\.domain) == Set(a.domains).union(b.domains).sorted())
            #expect(forward.map(\.domain) == backward.map(\.domain))
            for (f, r) in zip(forward, backward) {
                #expect(f.ours == r.theirs && f.theirs == r.ours)
                #expect(Self.mirrored(f.relation) == r.relation)
            }
        }
    }

    // MARK: - Errant ranges (R2)

    @Test func errantRangesCoverExactlyWhatOtherLacks() async {
        await propertyCheck(count: 3_000, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { a, b in
            let ranges = a.ranges(notIn: b)
            #expect(ranges.map(\.domain) == ranges.map(\.domain).sorted())
            for range in ranges {
                let ours = a[domain: range.domain]
                #expect(range.lastGTID == ours)
                #expect(range.first == (b[domain: range.domain]?.sequence ?? 0) + 1)
                #expect(range.first <= range.last)
            }
            // A domain yields a range iff it is ahead here, or only here with a transaction in it.
            let expectedDomains = a.compareDomains(with: b).filter {
                $0.relation == .ahead || ($0.relation == .onlyInSelf && $0.ours!.sequence > 0)  // onlyInSelf has ours
            }.map(\.domain)
            #expect(ranges.map(\.domain) == expectedDomains)
        }
    }

    @Test func applyingTheErrantRangesCatchesUp() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { a, b in
            var caughtUp = b
            for range in a.ranges(notIn: b) {
                caughtUp.update(range.lastGTID)
            }
            #expect(a.ranges(notIn: caughtUp).isEmpty)
            #expect(caughtUp.contains(b))
        }
    }

    @Test func errantRangesAreEmptyAgainstWhatContainsIt() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { a, b in
            if b.contains(a) {
                #expect(a.ranges(notIn: b).isEmpty)
            }
            #expect(a.ranges(notIn: a.merging(b)).isEmpty)
        }
    }

    @Test func rangesHandleExtremeSequenceNumbers() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.widePosition, GTIDGen.widePosition) { a, b in
            for range in a.ranges(notIn: b) {
                let theirs = b[domain: range.domain]?.sequence ?? 0
                #expect(range.count == a[domain: range.domain]!.sequence - theirs)  // a range's domain is in a
            }
        }
    }

    // MARK: - Drain and merge

    @Test func drainedIffAppliedContainsReceived() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.smallPosition, GTIDGen.smallPosition) { io, slave in
            #expect(GTIDPosition.isDrained(received: io, applied: slave) == slave.contains(io))
            #expect(GTIDPosition.isDrained(received: io, applied: slave.merging(io)))
        }
    }

    @Test func mergingContainsBothAndIsTheLeastSuch() async {
        await propertyCheck(
            count: 3_000,
            input: GTIDGen.smallPosition,
            GTIDGen.smallPosition,
            GTIDGen.smallPosition
        ) { a, b, c in
            let merged = a.merging(b)
            #expect(merged.contains(a))
            #expect(merged.contains(b))
            #expect(merged.domains == Set(a.domains).union(b.domains).sorted())
            if c.contains(a) && c.contains(b) {
                #expect(c.contains(merged))
            }
            #expect(b.merging(a).contains(merged) && merged.contains(b.merging(a)))
            #expect(merged.merging(b) == merged)
        }
    }

    // MARK: - Binlog state (R1)

    @Test func binlogStateFindsEverythingPositionsFind() async {
        await propertyCheck(count: 3_000, input: GTIDGen.smallBinlogState, GTIDGen.smallBinlogState) { old, new in
            // R1 ⊇ R2: a domain ahead in the positions means its last writer's entry is ahead in the states.
            if old.ranges(notIn: new).isEmpty {
                #expect(old.position.ranges(notIn: new.position).isEmpty)
            }
            for range in old.position.ranges(notIn: new.position) {
                #expect(old.ranges(notIn: new).contains { $0.domain == range.domain && $0.last == range.last })
            }
        }
    }

    @Test func binlogStateContainsMeansNothingErrant() async {
        await propertyCheck(count: 3_000, input: GTIDGen.smallBinlogState, GTIDGen.smallBinlogState) { a, b in
            let nothingErrant = b.ranges(notIn: a).isEmpty
            let everyEntryPresent = b.gtids.allSatisfy { a[domain: $0.domain, serverID: $0.serverID] != nil }
            #expect(a.contains(b) == (nothingErrant && everyEntryPresent))
            #expect(a.contains(a))
            for range in b.ranges(notIn: a) {
                #expect(range.lastGTID == b[domain: range.domain, serverID: range.serverID])
                #expect(range.first == (a[domain: range.domain, serverID: range.serverID]?.sequence ?? 0) + 1)
            }
        }
    }

    @Test func binlogStatePositionIsTheMaximumPerDomain() async {
        await propertyCheck(count: Self.cases, input: GTIDGen.wideBinlogState) { state in
            let position = state.position
            #expect(position.domains == Set(state.gtids.map(\.domain)).sorted())
            for gtid in state.gtids {
                #expect(position.contains(gtid))
                #expect(state[domain: gtid.domain, serverID: gtid.serverID] == gtid)
            }
            for gtid in position.gtids {
                #expect(state[domain: gtid.domain, serverID: gtid.serverID] == gtid)
            }
        }
    }

    // MARK: - Helpers

    /// `position` with each domain randomly kept, lowered or dropped: a position that `position` contains.
    static func lowered(_ position: GTIDPosition, using random: inout NoiseRandom) -> GTIDPosition {
        var result = GTIDPosition()
        for gtid in position.gtids {
            switch random.next() % 3 {
            case 0: result.update(gtid)
            case 1:
                let sequence = UInt64.random(in: 0...gtid.sequence, using: &random)
                result.update(GTID(domain: gtid.domain, serverID: gtid.serverID &+ 1, sequence: sequence))
            default: break
            }
        }
        return result
    }

    static func mirrored(_ relation: GTIDPosition.DomainRelation) -> GTIDPosition.DomainRelation {
        switch relation {
        case .equal: .equal
        case .ahead: .behind
        case .behind: .ahead
        case .onlyInSelf: .onlyInOther
        case .onlyInOther: .onlyInSelf
        }
    }
}
