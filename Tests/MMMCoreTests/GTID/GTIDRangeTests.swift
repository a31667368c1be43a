import MMMCore
import Testing

@Suite struct GTIDRangeTests {
    @Test func describesSeveralSequenceNumbersAsFirstDotDotLast() {
        let range = GTIDRange(domain: 1, serverID: 1, first: 2, last: 3)
        #expect(range.description == "1-1-2..1-1-3")
        #expect(range.count == 2)
        #expect(range.firstGTID == GTID(domain: 1, serverID: 1, sequence: 2))
        #expect(range.lastGTID == GTID(domain: 1, serverID: 1, sequence: 3))
    }

    @Test func describesOneSequenceNumberAsOneGTID() {
        let range = GTIDRange(domain: 2, serverID: 2, first: 1, last: 1)
        #expect(range.description == "2-2-1")
        #expect(range.count == 1)
    }

    @Test func countSaturatesForTheWholeSequenceSpace() {
        #expect(GTIDRange(domain: 0, serverID: 1, first: 0, last: .max).count == .max)
        #expect(GTIDRange(domain: 0, serverID: 1, first: 1, last: .max).count == .max)
        #expect(GTIDRange(domain: 0, serverID: 1, first: .max, last: .max).count == 1)
    }

    @Test func containsOnlyItsDomainServerAndSequences() {
        let range = GTIDRange(domain: 1, serverID: 1, first: 2, last: 3)
        #expect(range.contains(GTID(domain: 1, serverID: 1, sequence: 2)))
        #expect(range.contains(GTID(domain: 1, serverID: 1, sequence: 3)))
        #expect(!range.contains(GTID(domain: 1, serverID: 1, sequence: 1)))
        #expect(!range.contains(GTID(domain: 1, serverID: 1, sequence: 4)))
        #expect(!range.contains(GTID(domain: 1, serverID: 2, sequence: 2)))
        #expect(!range.contains(GTID(domain: 0, serverID: 1, sequence: 2)))
    }

    @Test func listOfRangesPrintsEachDescription() {
        let ranges = [
            GTIDRange(domain: 1, serverID: 1, first: 2, last: 3),
            GTIDRange(domain: 2, serverID: 2, first: 1, last: 1),
        ]
        #expect(ranges.map(\.description).joined(separator: ",") == "1-1-2..1-1-3,2-2-1")
        #expect("\(ranges)" == "[1-1-2..1-1-3, 2-2-1]")
    }
}
