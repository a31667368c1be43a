import MMMCore
import Testing

@testable import MariaDBClient

@Suite struct MariaDBErrorMappingTests {
    @Test(arguments: [
        (UInt32(1045), MMMError.Code.accessDenied),
        (1044, .accessDenied),
        (1227, .accessDenied),
        (1040, .tooManyConnections),
        (2002, .connectionFailed),
        (2003, .connectionFailed),
        (2005, .connectionFailed),
        (2006, .connectionLost),
        (2013, .connectionLost),
        (1317, .interrupted),
        (1205, .timedOut),
        (1969, .timedOut),
        (1062, .queryFailed),
        (1236, .queryFailed),
        (1064, .queryFailed),
    ])
    func mapsNumbersToCodes(_ number: UInt32, _ code: MMMError.Code) {
        let error = MMMError.mariaDB(
            MariaDBServerError(number: number, sqlState: "HY000", text: "server text"),
            endpoint: "db1 (198.18.0.101:3306)", user: "mmm_monitor", during: "connect"
        )
        #expect(error.code == code)
        #expect(error.mariaDBErrorNumber == number, "the number survives as the cause")
        #expect(error.message.hasPrefix("connect on db1 (198.18.0.101:3306) as 'mmm_monitor' failed with error \(number): server text; "))
    }

    @Test func accessDeniedSaysWhatToCheck() {
        let error = MMMError.mariaDB(
            MariaDBServerError(number: 1045, sqlState: "28000", text: "Access denied for user 'mmm_monitor'@'198.18.0.1'"),
            endpoint: "db2 (198.18.0.102:3306)", user: "mmm_monitor", during: "connect"
        )
        #expect(error.message.contains("check the user and password for 'mmm_monitor'"))
        #expect(error.description.hasPrefix("accessDenied: "))
    }

    @Test func errorsWithoutAServerNumberHaveNone() {
        #expect(MMMError(.timedOut, "x").mariaDBErrorNumber == nil)
    }

    @Test func configurationDescriptionNeverShowsThePassword() {
        let configuration = MariaDBConfiguration(name: "db1", host: "198.18.0.101", user: "u", password: "s3cret-pw")
        #expect(!configuration.description.contains("s3cret-pw"))
        #expect(!"\(configuration)".contains("s3cret-pw"))
        #expect(configuration.endpointDescription == "db1 (198.18.0.101:3306)")
    }

    @Test func configurationValidationRefusesNamesAndBadValues() {
        let name = #expect(throws: MMMError.self) {
            try MariaDBConfiguration(host: "db1.example.com", user: "u", password: "p").validate()
        }
        #expect(name?.message.contains("is not an IP address") == true)
        #expect(throws: MMMError.self) {
            try MariaDBConfiguration(host: "198.18.0.1", port: 70000, user: "u", password: "p").validate()
        }
        #expect(throws: MMMError.self) {
            try MariaDBConfiguration(host: "198.18.0.1", user: "u", password: "p", connectTimeout: .zero).validate()
        }
        #expect(throws: Never.self) {
            try MariaDBConfiguration(host: "198.18.0.1", unixSocket: "/run/mysqld/mysqld.sock", user: "u", password: "p")
                .validate()
        }
    }

    @Test(arguments: [
        (Duration.milliseconds(1), UInt32(1)), (.milliseconds(999), 1), (.seconds(1), 1), (.milliseconds(1001), 2),
        (.seconds(5), 5), (.zero, 1),
    ])
    func socketTimeoutsRoundUpToWholeSeconds(_ duration: Duration, _ seconds: UInt32) {
        #expect(duration.wholeSecondsRoundedUp == seconds)
    }
}
