#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMMCore
import NIOCore
import NIOSSL

/// The three PEM files of `<socket> type ssl` (`cert_file`, `key_file`, `ca_file`), by path.
public struct ProtocolTLSFiles: Sendable, Hashable {
    /// This side's certificate, optionally followed by intermediate certificates (`cert_file`).
    public var certificateFile: String
    /// The private key of that certificate, unencrypted (`key_file`).
    public var privateKeyFile: String
    /// The certificate authority (or authorities) the other side's certificate must chain to (`ca_file`).
    public var caFile: String

    /// Creates the set of files.
    public init(certificateFile: String, privateKeyFile: String, caFile: String) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.caFile = caFile
    }
}

/// Mutual TLS for protocol connections, loaded and ready: `<socket> type ssl`.
///
/// Both sides present a certificate and both verify the other's against the CA file: a server refuses a client
/// without a certificate or with one not issued by the CA, and a client refuses such a server. Host names and IPs
/// are **not** checked against the certificate (agents are reached by IP and clients connect from anywhere), so
/// authentication rests on holding a certificate signed by the CA, plus the HMAC secret every frame still carries.
/// TLS 1.2 is the minimum; TLS 1.3 is negotiated whenever both sides offer it.
///
/// Creating one reads and parses the files and builds both TLS contexts, so every file or key mismatch is reported
/// here, at start, not on the first connection.
public struct ProtocolTLS: Sendable {
    /// The files this was loaded from.
    public let files: ProtocolTLSFiles
    /// The context for accepted connections (``ProtocolServer``): presents the certificate, requires a client one.
    let serverContext: NIOSSLContext
    /// The context for outgoing connections (``ProtocolClient``): presents the certificate, verifies the server's.
    let clientContext: NIOSSLContext

    /// Loads the certificate chain, private key and CA certificates from `files` (PEM) and builds the contexts.
    ///
    /// Reads files; call it at start, off the event loops.
    ///
    /// - Throws: ``MMMCore/MMMError`` `invalidConfiguration` naming the file that is missing, unreadable, not PEM or
    ///   empty, or saying that the key does not belong to the certificate.
    public init(files: ProtocolTLSFiles) throws {
        let chain = try Self.certificates(in: files.certificateFile, role: "cert_file")
        let key = try Self.privateKey(in: files.privateKeyFile)
        let authorities = try Self.certificates(in: files.caFile, role: "ca_file")

        var server = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key),
            trustRoots: .certificates(authorities)
        )
        // Clients connect from any address, so there is no name to check; the CA signature is the check.
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv12

        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(authorities)
        // Agents are addressed by IP, and MMM's certificates carry no IP; the CA signature is the check.
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv12

        // A peer that never answers our close_notify must not hold a closing connection for long.
        server.shutdownTimeout = .seconds(2)
        client.shutdownTimeout = .seconds(2)

        do {
            self.serverContext = try NIOSSLContext(configuration: server)
            self.clientContext = try NIOSSLContext(configuration: client)
        } catch {
            throw MMMError(
                .invalidConfiguration,
                "cannot use key_file \(files.privateKeyFile) with cert_file \(files.certificateFile) (does the key "
                    + "belong to the certificate?): \(error)",
                cause: error
            )
        }
        self.files = files
    }

    /// The handler that runs the server side of the handshake; first in an accepted connection's pipeline.
    func makeServerHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: self.serverContext)
    }

    /// The handler that runs the client side of the handshake; first in an outgoing connection's pipeline.
    func makeClientHandler() throws -> NIOSSLClientHandler {
        // No server name: it would only be used for SNI and host name checks, and both are off.
        try NIOSSLClientHandler(context: self.clientContext, serverHostname: nil)
    }

    private static func certificates(in path: String, role: String) throws -> [NIOSSLCertificate] {
        let bytes = try Self.contents(of: path, role: role)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw MMMError(
                .invalidConfiguration,
                "\(role) \(path) holds no valid PEM certificate: \(error)",
                cause: error
            )
        }
        guard !certificates.isEmpty else {
            throw MMMError(.invalidConfiguration, "\(role) \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    private static func privateKey(in path: String) throws -> NIOSSLPrivateKey {
        let bytes = try Self.contents(of: path, role: "key_file")
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            throw MMMError(
                .invalidConfiguration,
                "key_file \(path) holds no valid unencrypted PEM private key: \(error)",
                cause: error
            )
        }
    }

    /// The bytes of `path`; POSIX calls so that the error says why (missing, permission denied).
    private static func contents(of path: String, role: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw MMMError(.invalidConfiguration, "cannot open \(role) \(path): \(Self.describeErrno())")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw MMMError(.invalidConfiguration, "cannot read \(role) \(path): \(Self.describeErrno())")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            // PEM files are a few kilobytes; a huge one is a wrong path, not a certificate.
            guard bytes.count <= 1 << 20 else {
                throw MMMError(.invalidConfiguration, "\(role) \(path) is larger than 1 MiB; it is not a PEM file")
            }
        }
        return bytes
    }

    private static func describeErrno() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}

extension ProtocolTLS: CustomStringConvertible {
    /// The file paths (never the key's contents).
    public var description: String {
        "ProtocolTLS(cert_file: \(self.files.certificateFile), key_file: \(self.files.privateKeyFile), "
            + "ca_file: \(self.files.caFile))"
    }
}

/// Whether `error` comes from TLS (a failed handshake, a refused certificate, a bad record).
func isTLSError(_ error: any Error) -> Bool {
    error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
}
