import MMMAgent
import MMMTransport
import MMMConfig
import MMMCore
import Testing

/// A minimal valid agent configuration for `db1` (peer `db2`), with the socket section `socket`.
private func agentConfiguration(socket: SocketConfiguration) throws -> MMMConfiguration {
    var configuration = MMMConfiguration()
    configuration.this = "db1"
    configuration.activeMasterRole = "writer"
    configuration.agentSecret = Secret("correct horse battery staple for the settings tests")
    for (name, ip) in [("db1", "192.0.2.11"), ("db2", "192.0.2.12")] {
        var host = HostConfiguration(name: name, ip: try #require(IPAddress(ip)), mode: .master)
        host.agentUser = "mmm_agent"
        host.agentPassword = Secret("agent password")
        configuration.hosts.append(host)
    }
    configuration.socket = socket
    return configuration
}

// These check the wiring of `<socket>` into AgentSettings (Agent/AgentSettings.swift); they live next to the TLS
// tests because they are about the same feature.
@Suite("AgentSettings TLS")
struct AgentSettingsTLSTests {
    @Test("type plain gives no TLS files", .timeLimit(.minutes(1)))
    func plainHasNoTLS() throws {
        let settings = try AgentSettings(configuration: try agentConfiguration(socket: SocketConfiguration()))
        #expect(settings.tls == nil)
        #expect(settings.description.contains("tls: off"))
    }

    @Test("type ssl passes the three files through", .timeLimit(.minutes(1)))
    func sslPassesTheFiles() throws {
        var socket = SocketConfiguration()
        socket.type = .ssl
        socket.certFile = "/etc/mmm/db1.pem"
        socket.keyFile = "/etc/mmm/db1.key"
        socket.caFile = "/etc/mmm/ca.pem"
        let settings = try AgentSettings(configuration: try agentConfiguration(socket: socket))
        #expect(
            settings.tls
                == ProtocolTLSFiles(
                    certificateFile: "/etc/mmm/db1.pem", privateKeyFile: "/etc/mmm/db1.key", caFile: "/etc/mmm/ca.pem"
                )
        )
    }

    @Test("type ssl without ca_file or key_file is an error naming them", .timeLimit(.minutes(1)))
    func sslNeedsAllFiles() throws {
        var socket = SocketConfiguration()
        socket.type = .ssl
        socket.certFile = "/etc/mmm/db1.pem"
        let error = #expect(throws: MMMError.self) {
            try AgentSettings(configuration: try agentConfiguration(socket: socket))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("missing: key_file, ca_file") == true, "\(String(describing: error?.message))")
    }
}
