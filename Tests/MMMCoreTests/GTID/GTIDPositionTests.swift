import MMMCore
import Testing

/// Parsing, printing and the per-domain algebra of ``GTIDPosition``, on the values of
/// `mariadb-failover-facts.md` (observed on MariaDB 10.11.19).
@Suite struct GTIDPositionTests {
    static let listShape = "a GTID list looks like 0-1-100,1-2-57 (comma-separated GTIDs, or empty)"
    static let gtidShape = "a GTID looks like 0-1-100 (domain-server_id-sequence, unsigned decimal numbers)"

    /// Shorthand for a position literal in tests.
    static func pos(_ text: String) throws -> GTIDPosition {
        try GTIDPosition(parsing: text)
    }

    // MARK: - Parsing and printing

    @Test(arguments: [
        ("0-1-100,1-2-57", "0-1-100,1-2-57"),
        // Gtid_IO_Pos is not sorted by domain (facts §1).
        ("1-1-2,2-2-3,0-2-7", "0-2-7,1-1-2,2-2-3"),
        ("1-1-11,2-2-2,0-1-3", "0-1-3,1-1-11,2-2-2"),
        ("1-1-5,0-1-3", "0-1-3,1-1-5"),
        ("0-1-3, 1-1-3", "0-1-3,1-1-3"),
        ("0-1-3,\n1-1-11,\n2-2-2", "0-1-3,1-1-11,2-2-2"),
        ("  0-1-6 \n", "0-1-6"),
        ("", ""),
        ("  \n ", ""),
    ])
    func parsesAndPrintsCanonically(text: String, canonical: String) throws {
        let position = try Self.pos(text)
        #expect(position.description == canonical)
        #expect(try Self.pos(position.description) == position)
    }

    @Test func emptyTextIsTheEmptyPosition() throws {
        // db3 after `SET GLOBAL gtid_slave_pos=''` shows an empty gtid_slave_pos (facts §1).
        let position = try Self.pos("")
        #expect(position == GTIDPosition.empty)
        #expect(position.isEmpty)
        #expect(position.count == 0)
        #expect(position.gtids.isEmpty)
        #expect(position.description == "")
    }

    @Test func exposesGTIDsByDomain() throws {
        let position = try Self.pos("2-2-3,0-2-7,1-1-2")
        #expect(position.count == 3)
        #expect(position.domains == [0, 1, 2])
        #expect(
            position.gtids == [
                GTID(domain: 0, serverID: 2, sequence: 7),
                GTID(domain: 1, serverID: 1, sequence: 2),
                GTID(domain: 2, serverID: 2, sequence: 3),
            ]
        )
        #expect(position[domain: 1] == GTID(domain: 1, serverID: 1, sequence: 2))
        #expect(position[domain: 3] == nil)
    }

    @Test func initFromGTIDsEqualsParsedText() throws {
        let position = try GTIDPosition([
            GTID(domain: 1, serverID: 1, sequence: 11), GTID(domain: 0, serverID: 1, sequence: 3),
        ])
        #expect(position == (try Self.pos("0-1-3,1-1-11")))
    }

    @Test func initFromGTIDsRejectsDuplicateDomain() {
        #expect(
            throws: MMMError(
                .invalidGTID,
                "invalid GTID position: domain 0 appears twice (0-1-6 and 0-2-7); "
                    + "a position holds at most one GTID per domain"
            )
        ) {
            try GTIDPosition([GTID(domain: 0, serverID: 1, sequence: 6), GTID(domain: 0, serverID: 2, sequence: 7)])
        }
    }

    @Test(arguments: [
        (
            "0-1-6,0-2-7",
            "invalid GTID list '0-1-6,0-2-7': domain 0 appears twice (0-1-6 and 0-2-7); "
                + "a position holds at most one GTID per domain"
        ),
        (
            "0-1-1,,0-1-2",
            "invalid GTID list '0-1-1,,0-1-2': entry 2 is empty (a stray comma?); \(listShape)"
        ),
        (
            "0-1-1,",
            "invalid GTID list '0-1-1,': entry 2 is empty (a stray comma?); \(listShape)"
        ),
        (
            ",0-1-1",
            "invalid GTID list ',0-1-1': entry 1 is empty (a stray comma?); \(listShape)"
        ),
        (
            "0-1-1,\n ,1-1-1",
            "invalid GTID list '0-1-1,\\n ,1-1-1': entry 2 is empty (a stray comma?); \(listShape)"
        ),
        (
            "garbage",
            "invalid GTID list 'garbage': entry 1 'garbage' is not a GTID: "
                + "it is not three numbers separated by '-'; \(gtidShape)"
        ),
        (
            "0-1-3,1-1-x",
            "invalid GTID list '0-1-3,1-1-x': entry 2 '1-1-x' is not a GTID: "
                + "its sequence 'x' is not a decimal number; \(gtidShape)"
        ),
        (
            "0-1-3;1-1-3",
            "invalid GTID list '0-1-3;1-1-3': entry 1 '0-1-3;1-1-3' is not a GTID: "
                + "it has 5 parts separated by '-' instead of 3; \(gtidShape)"
        ),
        (
            "0-1-3,\n-1-1-3",
            "invalid GTID list '0-1-3,\\n-1-1-3': entry 2 '-1-1-3' is not a GTID: "
                + "it starts with a sign; GTID numbers are unsigned; \(gtidShape)"
        ),
        (
            "0-1-3 1-1-3",
            "invalid GTID list '0-1-3 1-1-3': entry 1 '0-1-3 1-1-3' is not a GTID: "
                + "it has 5 parts separated by '-' instead of 3; \(gtidShape)"
        ),
        (
            "0-4294967296-3",
            "invalid GTID list '0-4294967296-3': entry 1 '0-4294967296-3' is not a GTID: "
                + "its server_id 4294967296 is larger than 4294967295; \(gtidShape)"
        ),
    ])
    func rejectsMalformedListsNamingTheEntry(text: String, message: String) {
        #expect(throws: MMMError(.invalidGTID, message)) {
            try GTIDPosition(parsing: text)
        }
    }

    @Test func errorMessageShortensVeryLongLists() {
        let long = (1...60).map { "\($0)-1-1" }.joined(separator: ",") + ",x"
        do {
            _ = try GTIDPosition(parsing: long)
            Issue.record("parsed a list ending in 'x'")
        } catch {
            #expect(error.code == .invalidGTID)
            #expect(error.message.contains("...': entry 61 'x' is not a GTID"))
            #expect(error.message.count < 400)
        }
    }

    @Test func updateReplacesAndRemoveDomainDeletes() throws {
        var position = try Self.pos("0-1-6")
        position.update(GTID(domain: 0, serverID: 1, sequence: 5))
        #expect(position.description == "0-1-5")
        position.update(GTID(domain: 3, serverID: 3, sequence: 1))
        #expect(position.description == "0-1-5,3-3-1")
        #expect(position.removeDomain(0) == GTID(domain: 0, serverID: 1, sequence: 5))
        #expect(position.removeDomain(0) == nil)
        #expect(position.description == "3-3-1")
    }

    // MARK: - Errant transactions (R2), facts §2.1

    @Test func oldWriterAheadInItsDomainHasErrantRange() throws {
        // db2 stopped its slave; db1 wrote 1-1-2, 1-1-3 and was fenced; db2 became writer and wrote 2-2-1.
        let oldWriter = try Self.pos("0-1-3,1-1-3")
        let newWriter = try Self.pos("0-1-3,1-1-1,2-2-1")
        let errant = oldWriter.ranges(notIn: newWriter)
        #expect(errant == [GTIDRange(domain: 1, serverID: 1, first: 2, last: 3)])
        #expect(errant.map(\.description) == ["1-1-2..1-1-3"])
        #expect(errant.first?.count == 2)
        #expect(!newWriter.contains(oldWriter))
        // The GTIDs themselves, as the errant report lists them.
        #expect(
            errant.first.map { [$0.firstGTID, $0.lastGTID] } == [
                GTID(domain: 1, serverID: 1, sequence: 2), GTID(domain: 1, serverID: 1, sequence: 3),
            ]
        )
    }

    @Test func domainOnlyTheNewWriterHasIsNotErrant() throws {
        // Domain 2 exists only on the new writer: the old writer is behind there. Seen from the new writer, it is
        // the one thing it has that the old writer lacks.
        let oldWriter = try Self.pos("0-1-3,1-1-3")
        let newWriter = try Self.pos("0-1-3,1-1-1,2-2-1")
        #expect(!oldWriter.ranges(notIn: newWriter).contains { $0.domain == 2 })
        #expect(newWriter.ranges(notIn: oldWriter) == [GTIDRange(domain: 2, serverID: 2, first: 1, last: 1)])
    }

    @Test func comparesDomainByDomain() throws {
        let oldWriter = try Self.pos("0-1-3,1-1-3")
        let newWriter = try Self.pos("0-1-3,1-1-1,2-2-1")
        let comparison = oldWriter.compareDomains(with: newWriter)
        #expect(comparison.map(\.domain) == [0, 1, 2])
        #expect(comparison.map(\.relation) == [.equal, .ahead, .onlyInOther])
        #expect(comparison[1].ours == GTID(domain: 1, serverID: 1, sequence: 3))
        #expect(comparison[1].theirs == GTID(domain: 1, serverID: 1, sequence: 1))
        #expect(comparison[2].ours == nil)
        #expect(newWriter.compareDomains(with: oldWriter).map(\.relation) == [.equal, .behind, .onlyInSelf])
    }

    @Test func equalSequenceWithDifferentServerIsEqual() throws {
        let comparison = try Self.pos("1-9-1").compareDomains(with: Self.pos("1-1-1"))
        #expect(comparison.map(\.relation) == [.equal])
    }

    @Test func cleanOldWriterIsNotFlagged() throws {
        // Promotion run of §4: db1 rejoined without errors and the ring closed.
        let oldWriter = try Self.pos("0-1-3,1-1-11")
        let newWriter = try Self.pos("0-1-3,1-1-11,2-2-2")
        #expect(oldWriter.ranges(notIn: newWriter).isEmpty)
        #expect(newWriter.contains(oldWriter))
        #expect(!oldWriter.contains(newWriter))
    }

    @Test func oldWriterMissingADomainEntirelyIsErrantFromOne() throws {
        // db3 after a local write in domain 3 (facts §1): the whole domain is unknown to the writer.
        let returning = try Self.pos("0-2-7,1-1-2,2-2-3,3-3-1")
        let writer = try Self.pos("0-2-7,1-1-2,2-2-3")
        #expect(returning.ranges(notIn: writer).map(\.description) == ["3-3-1"])
    }

    @Test func sharedDomainDivergenceIsInvisibleToPositions() throws {
        // Facts §2.3: single domain 0; old writer's 0-1-5, 0-1-6 never reached the new writer. Positions miss it
        // (R1); GTIDBinlogStateTests show the binlog state catching it.
        let oldWriter = try Self.pos("0-1-6")
        let newWriter = try Self.pos("0-2-7")
        #expect(oldWriter.ranges(notIn: newWriter).isEmpty)
        #expect(newWriter.contains(oldWriter))
    }

    @Test func replicaAheadOfNewWriterCannotAttach() throws {
        // Facts §4 / R12: db3 had 1-1-11, db2 only 1-1-9: IO error 1236 on slave_pos.
        let replicaSlavePos = try Self.pos("0-1-3,1-1-11")
        let newWriterBinlogPos = try Self.pos("0-1-3,1-1-9")
        #expect(!newWriterBinlogPos.contains(replicaSlavePos))
        #expect(replicaSlavePos.ranges(notIn: newWriterBinlogPos).map(\.description) == ["1-1-10..1-1-11"])
    }

    // MARK: - MASTER_GTID_WAIT semantics (R5), facts §2.1 and §3.2

    @Test(arguments: [
        // (gtid_slave_pos on db2, MASTER_GTID_WAIT argument, returned 0)
        ("0-1-3,1-1-1", "0-1-3,1-1-3", false),
        ("0-1-3,1-1-1", "0-1-3,1-1-1", true),
        ("0-1-3,1-1-1", "1-9-1", true),  // server_id ignored
        ("0-1-3,1-1-1", "2-2-1", false),  // the server's own write is not in slave_pos
        ("0-1-3,1-1-1", "", true),
        ("0-1-3,1-1-4", "0-1-3,1-1-4", true),
        ("0-1-3,1-1-4", "0-1-3,1-1-4,2-2-1", false),  // a domain it never applied
        ("", "0-1-3", false),
    ])
    func containsAgreesWithMasterGTIDWait(slavePos: String, waitFor: String, reached: Bool) throws {
        #expect(try Self.pos(slavePos).contains(Self.pos(waitFor)) == reached)
    }

    @Test func containsSingleGTIDIgnoresServerID() throws {
        let slavePos = try Self.pos("0-1-3,1-1-1")
        #expect(slavePos.contains(GTID(domain: 1, serverID: 9, sequence: 1)))
        #expect(!slavePos.contains(GTID(domain: 1, serverID: 1, sequence: 2)))
        #expect(!slavePos.contains(GTID(domain: 2, serverID: 2, sequence: 1)))
    }

    @Test func missingDomainAtSequenceZeroIsNotContainedButHasNoRange() throws {
        let applied = try Self.pos("0-1-3")
        let wanted = try Self.pos("0-1-3,5-1-0")
        #expect(!applied.contains(wanted))
        #expect(wanted.ranges(notIn: applied).isEmpty)
    }

    // MARK: - Drain (R4), facts §1 and §3.1

    @Test(arguments: [
        // (Gtid_IO_Pos, gtid_slave_pos, drained)
        ("1-1-5,0-1-3", "0-1-3,1-1-1", false),  // SQL thread stuck on a row lock
        ("1-1-11,0-1-3", "0-1-3,1-1-11", true),  // "Slave has read all relay log"
        ("0-1-5", "0-1-5", true),  // writer with its own STOP SLAVE
        ("1-1-1,0-1-3", "0-1-3,1-1-1", true),  // new writer db2, slave stopped
        ("1-1-2,2-2-3,0-2-7", "0-2-7,1-1-2,2-2-3", true),
        ("", "", true),
        ("0-1-3", "", false),
    ])
    func drainedWhenSlavePosReachesIOPos(ioPos: String, slavePos: String, drained: Bool) throws {
        #expect(try GTIDPosition.isDrained(received: Self.pos(ioPos), applied: Self.pos(slavePos)) == drained)
    }

    @Test func undrainedBacklogIsTheReceivedRangeNotApplied() throws {
        let received = try Self.pos("1-1-5,0-1-3")
        let applied = try Self.pos("0-1-3,1-1-1")
        #expect(received.ranges(notIn: applied).map(\.description) == ["1-1-2..1-1-5"])
    }

    // MARK: - Merging

    @Test func mergingKeepsHigherSequencePerDomain() throws {
        let a = try Self.pos("0-1-3,1-1-3")
        let b = try Self.pos("0-1-3,1-1-1,2-2-1")
        #expect(a.merging(b).description == "0-1-3,1-1-3,2-2-1")  // the state §2.2 ended with everywhere
        #expect(b.merging(a).description == "0-1-3,1-1-3,2-2-1")
        // On equal sequence numbers the receiver's GTID wins.
        #expect(try Self.pos("1-9-1").merging(Self.pos("1-1-1")).description == "1-9-1")
        var c = try Self.pos("")
        c.merge(a)
        #expect(c == a)
    }
}
