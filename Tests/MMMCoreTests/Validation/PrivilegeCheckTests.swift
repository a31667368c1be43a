import MMMCore
import Testing

@Suite struct PrivilegeCheckTests {
    /// The seed's agent grants plus MariaDB's split privileges (bench finding 3), as 10.11 prints them.
    static let mmmAgentGrants = [
        "GRANT SUPER, PROCESS, BINLOG MONITOR, CONNECTION ADMIN, READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR ON *.* TO `mmm_agent`@`%` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'"
    ]

    @Test func readsTheGlobalPrivilegesOnly() {
        let privileges = PrivilegeCheck.globalPrivileges(showGrants: [
            "GRANT PROCESS, REPLICATION SLAVE ON *.* TO `repl`@`198.18.0.%`",
            "GRANT SELECT, INSERT ON `app`.* TO `repl`@`198.18.0.%`",
            "GRANT `some_role` TO `repl`@`198.18.0.%`",
        ])
        #expect(privileges == ["PROCESS", "REPLICATION SLAVE"])
    }

    @Test func mmmsAgentGrantsWithTheSplitPrivilegesAreEnough() {
        #expect(PrivilegeCheck.missing(for: .agent(zeroLoss: false), showGrants: Self.mmmAgentGrants, serverVersion: 1011).isEmpty)
        // Under zero loss, SUPER still covers REPLICATION MASTER ADMIN on 10.11 ...
        #expect(PrivilegeCheck.missing(for: .agent(zeroLoss: true), showGrants: Self.mmmAgentGrants, serverVersion: 1011).isEmpty)
        // ... but not on 11.0.
        let on11 = PrivilegeCheck.missing(for: .agent(zeroLoss: true), showGrants: Self.mmmAgentGrants, serverVersion: 1100)
        #expect(on11.map(\.privilege) == ["REPLICATION MASTER ADMIN"])
    }

    /// The seed's grants alone (SUPER, REPLICATION CLIENT, PROCESS) on 10.11: SUPER no longer sets read_only (R6).
    @Test func theSeedsGrantsLackReadOnlyAdminOn1011() {
        let seed = ["GRANT SUPER, PROCESS, BINLOG MONITOR ON *.* TO `mmm_agent`@`%`"]
        let missing = PrivilegeCheck.missing(for: .agent(zeroLoss: false), showGrants: seed, serverVersion: 1011)
        #expect(missing.map(\.privilege) == ["READ_ONLY ADMIN"])
        #expect(PrivilegeCheck.missing(for: .agent(zeroLoss: false), showGrants: seed, serverVersion: 1006).isEmpty)
        #expect(
            PrivilegeCheck.grantStatement(missing, user: "mmm_agent", host: "%")
                == "GRANT READ_ONLY ADMIN ON *.* TO 'mmm_agent'@'%';"
        )
    }

    @Test func allPrivilegesCoverEverything() {
        let all = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]
        #expect(PrivilegeCheck.missing(for: .agent(zeroLoss: true), showGrants: all, serverVersion: 1100).isEmpty)
        #expect(PrivilegeCheck.missing(for: .replication, showGrants: all, serverVersion: 1100).isEmpty)
    }

    @Test func anEmptyAccountLacksEverythingAndTheGrantNamesEachOnce() {
        let none = ["GRANT USAGE ON *.* TO `nobody`@`%`"]
        let missing = PrivilegeCheck.missing(for: .agent(zeroLoss: true), showGrants: none, serverVersion: 1011)
        #expect(missing.count == 6)
        #expect(
            PrivilegeCheck.grantStatement(missing, user: "nobody", host: "%")
                == "GRANT READ_ONLY ADMIN, CONNECTION ADMIN, PROCESS, REPLICATION SLAVE ADMIN, SLAVE MONITOR, REPLICATION MASTER ADMIN ON *.* TO 'nobody'@'%';"
        )
        #expect(PrivilegeCheck.missing(for: .replication, showGrants: none, serverVersion: 1011).map(\.privilege) == ["REPLICATION SLAVE"])
        #expect(PrivilegeCheck.missing(for: .monitor, showGrants: none, serverVersion: 1011).map(\.privilege) == ["SLAVE MONITOR"])
    }

    @Test func versionsAndAccounts() {
        #expect(PrivilegeCheck.versionNumber("10.11.6-MariaDB-0+deb12u1") == 1011)
        #expect(PrivilegeCheck.versionNumber("11.4.2-MariaDB") == 1104)
        #expect(PrivilegeCheck.versionNumber("garbage") == nil)
        #expect(PrivilegeCheck.splitAccount("mmm_agent@198.18.0.%") == ("mmm_agent", "198.18.0.%"))
        #expect(PrivilegeCheck.splitAccount("odd@name@%") == ("odd@name", "%"))
    }
}
