import MMMConfig
import MMMControl
import MMMCore
import MMMProtocol
import MMMTransport
import Testing

@Suite struct ControlSettingsTests {
    static func configuration(secret: String? = "s3cret for the control tests", port: Int = 9988) -> MMMConfiguration {
        var configuration = MMMConfiguration()
        // The literal address is valid; a failure here is a broken fixture.
        var monitor = MonitorConfiguration(ip: IPAddress("127.0.0.1")!)
        monitor.port = port
        configuration.monitor = monitor
        configuration.agentSecret = secret.map(Secret.init)
        return configuration
    }

    @Test func theMonitorsAddressAndTheKeyOfAgentSecret() throws {
        let settings = try ControlSettings(configuration: Self.configuration(port: 9911))
        #expect(settings.monitor == ProtocolPeer(name: "monitor", host: "127.0.0.1", port: 9911))
        #expect(settings.monitor.name == ControlClient.monitorName)
        #expect(settings.key.fingerprint == ProtocolKey(secret: "s3cret for the control tests").fingerprint)
        #expect(settings.tls == nil)
        #expect(!"\(settings)".contains("s3cret"))
    }

    @Test func withoutAgentSecretItSaysThatMMMControlNeedsIt() {
        var configuration = Self.configuration(secret: nil)
        // The literal address is valid.
        configuration.hosts = [HostConfiguration(name: "db1", ip: IPAddress("192.168.1.101")!, mode: .master)]
        let error = #expect(throws: MMMError.self) { try ControlSettings(configuration: configuration) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("mmm_control needs agent_secret in mmm_common.conf") == true)
    }

    @Test func withoutAMonitorSectionItSaysWhereTheAddressComesFrom() {
        var configuration = Self.configuration()
        configuration.monitor = nil
        let error = #expect(throws: MMMError.self) { try ControlSettings(configuration: configuration) }
        #expect(error?.message.contains("<monitor>") == true)
    }

    @Test func sslNeedsAllThreeFiles() throws {
        var configuration = Self.configuration()
        configuration.socket.type = .ssl
        configuration.socket.certFile = "/etc/mysql-mmm/control.pem"
        configuration.socket.keyFile = "/etc/mysql-mmm/control.key"
        let error = #expect(throws: MMMError.self) { try ControlSettings(configuration: configuration) }
        #expect(error?.message.hasSuffix("missing: ca_file") == true)
        configuration.socket.caFile = "/etc/mysql-mmm/ca.pem"
        let settings = try ControlSettings(configuration: configuration)
        #expect(
            settings.tls
                == ProtocolTLSFiles(
                    certificateFile: "/etc/mysql-mmm/control.pem",
                    privateKeyFile: "/etc/mysql-mmm/control.key",
                    caFile: "/etc/mysql-mmm/ca.pem"
                )
        )
    }

    @Test func theMonitorListensWhereTheClientConnects() throws {
        let settings = try ControlSettings(configuration: Self.configuration(port: 9912))
        let server = ProtocolServerConfiguration.control(settings, tls: nil)
        #expect(server.name == ControlClient.monitorName)
        #expect(server.host == "127.0.0.1" && server.port == 9912)
        #expect(server.key.fingerprint == settings.key.fingerprint)
        #expect(server.requestDeadline == .seconds(8))
        #expect(server.requestDeadline < ControlInvocation.defaultTimeout)
        #expect(server.tls == nil)
    }
}
