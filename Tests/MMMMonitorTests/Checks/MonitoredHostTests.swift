import MMMConfig
import MMMCore
import MMMMonitor
import Testing

@Suite struct MonitoredHostTests {
    @Test func takesAddressPortAndMonitorAccountFromTheHostSection() {
        var section = HostConfiguration(name: "db2", ip: .v4(198, 18, 0, 102), mode: .master, peer: "db1")
        section.mysqlPort = 3307
        section.monitorUser = "mmm_monitor"
        section.monitorPassword = Secret("s3cret")
        let host = MonitoredHost(section)
        #expect(host.name == "db2")
        #expect(host.ip == "198.18.0.102")
        #expect(host.mysqlPort == 3307)
        #expect(host.monitorUser == "mmm_monitor")
        #expect(host.monitorPassword.revealed() == "s3cret")
        #expect(!"\(host)".contains("s3cret"), "printing the host never shows the password")
    }

    @Test func aSectionWithoutMonitorAccountGetsAnEmptyOne() {
        let host = MonitoredHost(HostConfiguration(name: "db1", ip: .v4(10, 0, 0, 1), mode: .master))
        #expect(host.monitorUser.isEmpty)
        #expect(host.monitorPassword.isEmpty)
        #expect(host.mysqlPort == 3306)
    }
}
