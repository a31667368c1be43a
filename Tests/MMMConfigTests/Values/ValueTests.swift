import MMMConfig
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: ["0.0.0.0", "192.168.1.101", "255.255.255.255", "10.0.0.1"])
    func acceptsDottedQuads(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.isIPv4)
        #expect(address.description == text)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1..3.4", "a.b.c.d",
        "1.2.3.4/32", "１.2.3.4", "0x1.2.3.4", ":::", "1::2::3", "12345::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9",
        "::ffff:1.2.3.4",
    ])
    func rejectsAnythingElse(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func ipv6SpellingsOfOneAddressAreEqual() throws {
        let short = try #require(IPAddress("2001:db8::1"))
        let long = try #require(IPAddress("2001:0db8:0:0:0:0:0:0001"))
        #expect(short == long)
        #expect(!short.isIPv4)
        #expect(IPAddress("::") == .v6(Array(repeating: 0, count: 8)))
        #expect(IPAddress("::1") == .v6([0, 0, 0, 0, 0, 0, 0, 1]))
    }
}

@Suite struct NameRulesTests {
    @Test(arguments: ["db1", "db-2", "db_3", "db.example", "A1"])
    func validNames(name: String) {
        #expect(NameRules.isValidName(name))
    }

    @Test(arguments: ["", "-db", ".db", "db 1", "db;rm", "db$1", "d/b", String(repeating: "a", count: 65), "dé"])
    func invalidNames(name: String) {
        #expect(!NameRules.isValidName(name))
    }

    @Test func interfaceNames() {
        #expect(NameRules.isValidInterfaceName("eth0"))
        #expect(NameRules.isValidInterfaceName("eth0:1"))
        #expect(NameRules.isValidInterfaceName("enp0s31f6.100"))
        #expect(!NameRules.isValidInterfaceName("a-very-long-name"))
        #expect(!NameRules.isValidInterfaceName(".."))
        #expect(!NameRules.isValidInterfaceName("eth0;x"))
    }
}

@Suite struct SecretTests {
    @Test func everyTextFormIsRedacted() {
        let secret = Secret("hunter2-secret")
        var dumped = ""
        dump(secret, to: &dumped)
        for text in ["\(secret)", String(reflecting: secret), dumped, "\(Optional(secret) as Any)", "\([secret])"] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
        #expect(secret.revealed() == "hunter2-secret")
        #expect(!secret.isEmpty)
    }
}
