import MMMCore
import PropertyBased
import Testing

@Suite struct GTIDTests {
    /// The text every GTID parse error ends with.
    static let shape = "a GTID looks like 0-1-100 (domain-server_id-sequence, unsigned decimal numbers)"

    @Test(arguments: [
        ("0-1-100", GTID(domain: 0, serverID: 1, sequence: 100)),
        ("1-2-57", GTID(domain: 1, serverID: 2, sequence: 57)),
        ("0-0-0", GTID(domain: 0, serverID: 0, sequence: 0)),
        (
            "4294967295-4294967295-18446744073709551615",
            GTID(domain: .max, serverID: .max, sequence: .max)
        ),
        (" 2-2-3\n", GTID(domain: 2, serverID: 2, sequence: 3)),
        ("0-01-005", GTID(domain: 0, serverID: 1, sequence: 5)),
    ])
    func parsesValidGTIDs(text: String, expected: GTID) throws {
        #expect(try GTID(parsing: text) == expected)
    }

    @Test func printsAsMariaDBDoes() {
        #expect(GTID(domain: 0, serverID: 1, sequence: 100).description == "0-1-100")
        #expect(GTID(domain: .max, serverID: 0, sequence: .max).description == "4294967295-0-18446744073709551615")
    }

    @Test(arguments: [
        ("", "invalid GTID '': it is empty"),
        ("   ", "invalid GTID '   ': it is empty"),
        ("garbage", "invalid GTID 'garbage': it is not three numbers separated by '-'"),
        ("0-1", "invalid GTID '0-1': it has 2 parts separated by '-' instead of 3"),
        ("0-1-2-3", "invalid GTID '0-1-2-3': it has 4 parts separated by '-' instead of 3"),
        ("-1-1-1", "invalid GTID '-1-1-1': it starts with a sign; GTID numbers are unsigned"),
        ("+1-1-1", "invalid GTID '+1-1-1': it starts with a sign; GTID numbers are unsigned"),
        ("0-+1-1", "invalid GTID '0-+1-1': its server_id '+1' has a sign"),
        ("0--1", "invalid GTID '0--1': it has an empty server_id"),
        ("-0-1", "invalid GTID '-0-1': it starts with a sign; GTID numbers are unsigned"),
        ("0-1-", "invalid GTID '0-1-': it has an empty sequence"),
        ("-", "invalid GTID '-': it starts with a sign; GTID numbers are unsigned"),
        ("0-1-x", "invalid GTID '0-1-x': its sequence 'x' is not a decimal number"),
        ("0x1-1-1", "invalid GTID '0x1-1-1': its domain '0x1' is not a decimal number"),
        ("0 -1-1", "invalid GTID '0 -1-1': its domain '0 ' is not a decimal number"),
        ("0-1-1.5", "invalid GTID '0-1-1.5': its sequence '1.5' is not a decimal number"),
        ("٣-1-1", "invalid GTID '٣-1-1': its domain '٣' is not a decimal number"),
        ("4294967296-1-1", "invalid GTID '4294967296-1-1': its domain 4294967296 is larger than 4294967295"),
        ("0-99999999999-1", "invalid GTID '0-99999999999-1': its server_id 99999999999 is larger than 4294967295"),
        (
            "0-1-18446744073709551616",
            "invalid GTID '0-1-18446744073709551616': its sequence 18446744073709551616 "
                + "is larger than 18446744073709551615"
        ),
        ("0-1-1,1-1-1", "invalid GTID '0-1-1,1-1-1': it has 5 parts separated by '-' instead of 3"),
        ("0-1-\n1", "invalid GTID '0-1-\\n1': its sequence '\\n1' is not a decimal number"),
    ])
    func rejectsMalformedTextNamingIt(text: String, message: String) {
        #expect(throws: MMMError(.invalidGTID, "\(message); \(Self.shape)")) {
            try GTID(parsing: text)
        }
    }

    @Test func parseErrorHasInvalidGTIDCode() {
        do {
            _ = try GTID(parsing: "nope")
            Issue.record("parsed 'nope'")
        } catch {
            #expect(error.code == .invalidGTID)
            #expect(error.message.contains("'nope'"))
        }
    }

    @Test func parsesItsOwnDescription() async {
        await propertyCheck(count: 2_000, input: GTIDGen.wideGTID) { gtid in
            #expect(noThrow { try GTID(parsing: gtid.description) } == gtid)
        }
    }
}
