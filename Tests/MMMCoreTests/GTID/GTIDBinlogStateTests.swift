import MMMCore
import Testing

/// ``GTIDBinlogState`` and the errant check of R1, on the values of `mariadb-failover-facts.md`.
@Suite struct GTIDBinlogStateTests {
    static let listShape = "a GTID list looks like 0-1-100,1-2-57 (comma-separated GTIDs, or empty)"

    static func state(_ text: String) throws -> GTIDBinlogState {
        try GTIDBinlogState(parsing: text)
    }

    @Test func parsesSeveralServersPerDomainAndPrintsSorted() throws {
        // Facts §1: binlog_state `0-1-6,0-2-7,1-1-2,2-2-3` while binlog_pos was `0-2-7,1-1-2,2-2-3`.
        let state = try Self.state("2-2-3,\n1-1-2, 0-2-7,0-1-6")
        #expect(state.description == "0-1-6,0-2-7,1-1-2,2-2-3")
        #expect(state.count == 4)
        #expect(state[domain: 0, serverID: 1] == GTID(domain: 0, serverID: 1, sequence: 6))
        #expect(state[domain: 0, serverID: 2] == GTID(domain: 0, serverID: 2, sequence: 7))
        #expect(state[domain: 0, serverID: 3] == nil)
        #expect(try Self.state(state.description) == state)
    }

    @Test func positionIsTheHighestSequencePerDomain() throws {
        let state = try Self.state("0-1-6,0-2-7,1-1-2,2-2-3")
        #expect(state.position == (try GTIDPosition(parsing: "0-2-7,1-1-2,2-2-3")))
        #expect(try Self.state("0-1-4,0-2-7").position.description == "0-2-7")
        #expect(GTIDBinlogState.empty.position.isEmpty)
        // A tie is only possible without gtid_strict_mode; the lower server ID is taken.
        #expect(try Self.state("0-2-5,0-1-5").position.description == "0-1-5")
    }

    @Test func emptyTextIsTheEmptyState() throws {
        let state = try Self.state(" ")
        #expect(state.isEmpty)
        #expect(state == .empty)
        #expect(state.description == "")
    }

    @Test func rejectsDuplicateDomainAndServer() {
        #expect(
            throws: MMMError(
                .invalidGTID,
                "invalid GTID binlog state '0-1-4,0-2-7,0-1-6': domain 0 and server_id 1 appear twice "
                    + "(0-1-4 and 0-1-6); a binlog state holds one GTID per domain and server_id"
            )
        ) {
            try GTIDBinlogState(parsing: "0-1-4,0-2-7,0-1-6")
        }
        #expect(
            throws: MMMError(
                .invalidGTID,
                "invalid GTID binlog state: domain 1 and server_id 1 appear twice (1-1-2 and 1-1-3); "
                    + "a binlog state holds one GTID per domain and server_id"
            )
        ) {
            try GTIDBinlogState([GTID(domain: 1, serverID: 1, sequence: 2), GTID(domain: 1, serverID: 1, sequence: 3)])
        }
    }

    @Test func rejectsMalformedEntriesNamingThem() {
        #expect(
            throws: MMMError(
                .invalidGTID,
                "invalid GTID binlog state '0-1-6,': entry 2 is empty (a stray comma?); \(Self.listShape)"
            )
        ) {
            try GTIDBinlogState(parsing: "0-1-6,")
        }
        #expect(
            throws: MMMError(
                .invalidGTID,
                "invalid GTID binlog state '0-1-6,0-2-seven': entry 2 '0-2-seven' is not a GTID: "
                    + "its sequence 'seven' is not a decimal number; "
                    + "a GTID looks like 0-1-100 (domain-server_id-sequence, unsigned decimal numbers)"
            )
        ) {
            try GTIDBinlogState(parsing: "0-1-6,0-2-seven")
        }
    }

    @Test func updateSetsTheEntryOfDomainAndServer() throws {
        var state = try Self.state("0-1-4")
        state.update(GTID(domain: 0, serverID: 2, sequence: 7))
        state.update(GTID(domain: 0, serverID: 1, sequence: 6))
        #expect(state.description == "0-1-6,0-2-7")
    }

    // MARK: - Errant check (R1)

    @Test func singleSharedDomainDivergenceFoundOnlyByBinlogState() throws {
        // Facts §2.3: old writer's 0-1-5, 0-1-6 never reached db2, which then wrote 0-2-5..0-2-7.
        let oldWriter = try Self.state("0-1-6")
        let newWriter = try Self.state("0-1-4,0-2-7")
        #expect(oldWriter.position.ranges(notIn: newWriter.position).isEmpty)  // seq_no comparison: 6 < 7
        let errant = oldWriter.ranges(notIn: newWriter)
        #expect(errant == [GTIDRange(domain: 0, serverID: 1, first: 5, last: 6)])
        #expect(errant.map(\.description) == ["0-1-5..0-1-6"])
        #expect(!newWriter.contains(oldWriter))
    }

    @Test func divergenceStaysVisibleAfterSilentSlavePosReplication() throws {
        // Facts §2.3, gtid_strict_mode OFF: db1 applied 0-2-5..7 on top of its own 0-1-5, 0-1-6. Both show
        // gtid_binlog_pos 0-2-7; only the binlog state still differs.
        let db1 = try Self.state("0-1-6,0-2-7")
        let db2 = try Self.state("0-1-4,0-2-7")
        #expect(db1.position == db2.position)
        #expect(db1.ranges(notIn: db2).map(\.description) == ["0-1-5..0-1-6"])
        #expect(db2.ranges(notIn: db1).isEmpty)
    }

    @Test(arguments: [
        // (returning host's binlog_state, new writer's binlog_state, errant ranges)
        ("0-1-3,1-1-3", "0-1-3,1-1-1,2-2-1", "1-1-2..1-1-3"),  // §2.1, one domain per master
        ("0-1-3,1-1-11", "0-1-3,1-1-11,2-2-2", ""),  // §2.1 clean rejoin
        ("0-1-6", "0-1-4,0-2-7", "0-1-5..0-1-6"),  // §2.3 shared domain
        ("0-1-4", "0-1-4,0-2-7", ""),  // shared domain, clean
        ("0-1-6,0-2-7,1-1-2,2-2-3", "0-1-6,0-2-7,1-1-2,2-2-3", ""),  // §1 identical hosts
        ("0-1-6,0-2-7,1-1-2,2-2-3,3-3-1", "0-1-6,0-2-7,1-1-2,2-2-3", "3-3-1"),  // db3's local write
        ("0-1-3,0-2-9,1-1-4", "0-1-2,0-2-9,1-1-1", "0-1-3,1-1-2..1-1-4"),
        ("", "0-1-3", ""),
    ])
    func errantRangesPerDomainAndServer(returning: String, newWriter: String, expected: String) throws {
        let returningState = try Self.state(returning)
        let writerState = try Self.state(newWriter)
        let errant = returningState.ranges(notIn: writerState)
        #expect(errant.map(\.description).joined(separator: ",") == expected)
        #expect(writerState.contains(returningState) == expected.isEmpty)
    }
}
