import MMMConfig
import MMMCore

extension ProtocolTLSFiles {
    /// The TLS files of a `<socket>` section: `nil` for `type plain`; for `type ssl`, all three of `cert_file`,
    /// `key_file` and `ca_file`.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidConfiguration` naming the missing directives.
    public init?(socket: SocketConfiguration) throws(MMMError) {
        guard socket.type == .ssl else { return nil }
        let missing = [("cert_file", socket.certFile), ("key_file", socket.keyFile), ("ca_file", socket.caFile)]
            .filter { $0.1?.isEmpty ?? true }
            .map(\.0)
        guard missing.isEmpty, let cert = socket.certFile, let key = socket.keyFile, let ca = socket.caFile else {
            throw MMMError(
                .invalidConfiguration,
                "<socket> type ssl needs cert_file, key_file and ca_file; missing: \(missing.joined(separator: ", "))"
            )
        }
        self.init(certificateFile: cert, privateKeyFile: key, caFile: ca)
    }
}
