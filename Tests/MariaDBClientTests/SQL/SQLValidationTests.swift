import MMMCore
import Testing

@testable import MariaDBClient

@Suite struct SQLValidationTests {
    @Test(arguments: ["198.18.0.101", "0.0.0.0", "255.255.255.255", "127.0.0.1"])
    func acceptsIPv4(_ text: String) {
        #expect(SQLValidation.isIPv4(text))
        #expect(SQLValidation.isIPAddress(text))
    }

    @Test(arguments: ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "", "a.b.c.d", "1.2.3.4 ", "1..2.3"])
    func rejectsMalformedIPv4(_ text: String) {
        #expect(!SQLValidation.isIPv4(text))
    }

    @Test(arguments: ["::1", "fd00::2", "fe80::fc:ff:fe00:1", "2001:db8:0:0:0:0:0:1", "::", "FD00::2"])
    func acceptsIPv6(_ text: String) {
        #expect(SQLValidation.isIPv6(text))
    }

    @Test(arguments: [":::1", "1:2:3:4:5:6:7:8:9", "fd00::2::1", "gggg::1", "12345::1", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7", "::ffff:198.18.0.1", "fe80::1%eth0"])
    func rejectsMalformedIPv6(_ text: String) {
        #expect(!SQLValidation.isIPv6(text))
    }

    @Test func hostNamesAllowOnlyPlainCharacters() {
        #expect(SQLValidation.isHostName("db1.example.com"))
        #expect(SQLValidation.isHostName("db_1"))
        for bad in ["db1'; DROP TABLE x; --", "db 1", "-db1", "", "db1\n", "ä.example", String(repeating: "a", count: 254)] {
            #expect(!SQLValidation.isHostName(bad), "\(bad) must be refused")
        }
    }

    @Test func userAndConnectionNames() {
        #expect(SQLValidation.isUserName("repl_user"))
        #expect(!SQLValidation.isUserName("repl'@'%"))
        #expect(!SQLValidation.isUserName(""))
        #expect(SQLValidation.isConnectionName(""))
        #expect(SQLValidation.isConnectionName("db2_link"))
        #expect(!SQLValidation.isConnectionName("a-b"))
        #expect(!SQLValidation.isConnectionName("x' TO MASTER_HOST='evil"))
    }

    @Test(arguments: [
        ("plain", "'plain'"),
        ("it's", "'it''s'"),
        ("back\\slash", "'back\\\\slash'"),
        ("nul\0byte", "'nul\\0byte'"),
        ("new\nline\r", "'new\\nline\\r'"),
        ("ctrl\u{1A}z", "'ctrl\\Zz'"),
        ("ab#12", "'ab#12'"),
        ("", "''"),
    ])
    func quoting(_ input: String, _ expected: String) {
        #expect(SQLValidation.quote(input) == expected)
    }

    @Test func quotedTextNeverEndsTheLiteralEarly() {
        // Every quote inside is doubled, so the literal has an even number of quotes between its delimiters.
        for input in ["'", "''", "\\'", "a' OR '1'='1", "\\", "'\\''"] {
            let quoted = SQLValidation.quote(input)
            let inner = quoted.dropFirst().dropLast()
            var index = inner.startIndex
            while index < inner.endIndex {
                if inner[index] == "\\" {
                    index = inner.index(index, offsetBy: 2, limitedBy: inner.endIndex) ?? inner.endIndex
                    continue
                }
                if inner[index] == "'" {
                    let next = inner.index(after: index)
                    #expect(next < inner.endIndex && inner[next] == "'", "unpaired quote in \(quoted)")
                    index = inner.index(after: next)
                    continue
                }
                index = inner.index(after: index)
            }
        }
    }

    @Test func requireFunctionsNameTheValueAndTheFix() {
        let host = #expect(throws: MMMError.self) { try SQLValidation.requireHost("evil host", "master host") }
        #expect(host?.code == .invalidArgument)
        #expect(host?.message.contains("'evil host'") == true)
        #expect(host?.message.contains("198.18.0.101") == true)
        let user = #expect(throws: MMMError.self) { try SQLValidation.requireUser("a'b", "replication user") }
        #expect(user?.message.contains("replication user 'a'b'") == true)
    }
}
