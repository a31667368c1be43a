import MMMConfig
import MMMCore
import MMMProtocol
import MMMTransport

/// What `mmm_control` needs from `mmm_mon[_CLUSTER].conf` to reach the monitor, and the monitor to listen for it,
/// checked once at start.
public struct ControlSettings: Sendable {
    /// The monitor's control server: the `<monitor>` section's `ip` and `port`, under
    /// ``MMMTransport/ControlClient/monitorName``.
    public var monitor: ProtocolPeer
    /// The key of `agent_secret`.
    public var key: ProtocolKey
    /// The `<socket> type ssl` files, or `nil` for `type plain`.
    public var tls: ProtocolTLSFiles?

    /// Resolves the settings from a configuration loaded with `ConfigDirectory.loadControl(cluster:)`.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidConfiguration` when there is no `<monitor>` section, no
    ///   `agent_secret`, or `<socket> type ssl` without its three files; each message says what to write.
    public init(configuration: MMMConfiguration) throws(MMMError) {
        guard let monitor = configuration.monitor else {
            throw MMMError(
                .invalidConfiguration,
                "no <monitor> section; mmm_control reads the monitor's ip and port from <monitor> in mmm_mon.conf"
            )
        }
        guard let secret = configuration.agentSecret, !secret.isEmpty else {
            // Agents may fall back on a key derived from their agent_password; the control connection has no host
            // whose password it could use, so it needs the shared secret.
            throw MMMError(
                .invalidConfiguration,
                "no agent_secret: mmm_control needs agent_secret in mmm_common.conf (the same one mmm_mond uses) to "
                    + "authenticate to the monitor; add a line `agent_secret <long random string>` to mmm_common.conf "
                    + "on the monitor and here"
            )
        }
        self.monitor = ControlClient.monitor(host: "\(monitor.ip)", port: monitor.port)
        self.key = ProtocolKey(secret: secret.revealed())
        self.tls = try ProtocolTLSFiles(socket: configuration.socket)
    }
}

extension ProtocolServerConfiguration {
    /// How long the monitor may take to answer a control request before the server answers `ERROR: …` for it:
    /// below `mmm_control`'s default reply deadline (``ControlInvocation/defaultTimeout``), so that the client
    /// receives that answer rather than giving up first.
    public static let controlRequestDeadline: Duration = .seconds(8)

    /// The monitor's control server configuration for `settings` (the same values `mmm_control` connects with):
    /// the `<monitor>` `ip` and `port`, the name ``MMMTransport/ControlClient/monitorName`` and the key of
    /// `agent_secret`.
    ///
    /// - Parameters:
    ///   - settings: resolved from `mmm_mon.conf` with ``ControlSettings/init(configuration:)``.
    ///   - tls: `ProtocolTLS(files:)` of ``ControlSettings/tls``, loaded by the caller at start (it reads files).
    ///   - requestDeadline: the per-request deadline, ``controlRequestDeadline`` by default.
    public static func control(
        _ settings: ControlSettings,
        tls: ProtocolTLS?,
        requestDeadline: Duration = Self.controlRequestDeadline
    ) -> Self {
        ProtocolServerConfiguration(
            name: settings.monitor.name,
            host: settings.monitor.host,
            port: settings.monitor.port,
            key: settings.key,
            requestDeadline: requestDeadline,
            tls: tls
        )
    }
}

extension ControlSettings: CustomStringConvertible {
    /// The monitor's address, the key's fingerprint and the TLS files (never the secret).
    public var description: String {
        "ControlSettings(monitor: \(self.monitor), key: \(self.key.fingerprint), "
            + "tls: \(self.tls.map { "cert \($0.certificateFile), ca \($0.caFile)" } ?? "off"))"
    }
}
