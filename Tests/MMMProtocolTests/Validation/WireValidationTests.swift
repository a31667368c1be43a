import Testing

@testable import MMMProtocol

@Suite struct WireValidationTests {
    @Test(arguments: ["db1", "DB_1.example-2", "a", String(repeating: "x", count: 64), "reader"])
    func validNames(name: String) {
        #expect(WireValidation.isValidName(name))
    }

    @Test(arguments: [
        "", "-db1", ".db1", "db 1", "db1;", "db1$(x)", "db1\n", "ü", String(repeating: "x", count: 65), "a/b", "a'b",
    ])
    func invalidNames(name: String) {
        #expect(!WireValidation.isValidName(name))
    }

    @Test(arguments: [
        "0.0.0.0", "192.168.0.50", "255.255.255.255", "::", "::1", "fe80::1", "FD00:0:0:0:0:0:0:51", "1:2:3:4:5:6:7::",
    ])
    func validAddresses(address: String) {
        #expect(WireValidation.isValidIPAddress(address))
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/32",
        "a.b.c.d", "1::2::3", "fe80::1%eth0", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8:9", "12345::", ":::", "1.2.3.4;id",
    ])
    func invalidAddresses(address: String) {
        #expect(!WireValidation.isValidIPAddress(address))
    }

    @Test func textRules() {
        #expect(WireValidation.isValidText("line one\n\tline two ✓", maximumBytes: 100))
        #expect(!WireValidation.isValidText("carriage\rreturn", maximumBytes: 100))
        #expect(!WireValidation.isValidText("delete\u{7F}", maximumBytes: 100))
        #expect(!WireValidation.isValidText("abcd", maximumBytes: 3))
    }

    @Test func verbRules() {
        #expect(WireValidation.isValidVerb("move_role"))
        #expect(WireValidation.isValidVerb("set-online2"))
        #expect(!WireValidation.isValidVerb("2show"))
        #expect(!WireValidation.isValidVerb("Show"))
        #expect(!WireValidation.isValidVerb("show all"))
    }

    @Test func gtidRules() {
        #expect(WireValidation.isValidGTIDList(""))
        #expect(WireValidation.isValidGTIDList("0-1-100,1-2-57"))
        #expect(!WireValidation.isValidGTIDList("0-1-100,0-2-3"))
        #expect(WireValidation.isValidGTIDState("0-1-100,0-2-3"))
        #expect(!WireValidation.isValidGTIDState("0-1-x"))
    }
}
