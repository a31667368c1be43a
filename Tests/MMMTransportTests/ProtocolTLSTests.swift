import Foundation
import Logging
import MMMTransport
import MMMCore
import MMMTestSupport
import MMMProtocol
import MMMSystem
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// A throwaway certificate authority and certificates made with the `openssl` CLI, as docs/protocol.md describes.
///
/// `agent` and `monitor` are signed by the CA (with both serverAuth and clientAuth usages, as one `cert_file` serves
/// both directions); `server-only` is signed by the CA for serverAuth only; `stranger` is self-signed with both
/// usages, so it is valid but not from the CA.
private struct TestPKI {
    let directory: String

    var caFile: String { "\(self.directory)/ca.pem" }

    /// The files of the certificate called `name`, trusting the test CA.
    func files(_ name: String) -> ProtocolTLSFiles {
        ProtocolTLSFiles(
            certificateFile: "\(self.directory)/\(name).pem",
            privateKeyFile: "\(self.directory)/\(name).key",
            caFile: self.caFile
        )
    }

    /// Loads the certificate called `name`.
    func tls(_ name: String) throws -> ProtocolTLS {
        try ProtocolTLS(files: self.files(name))
    }

    /// Makes the CA and the `agent`, `monitor` and `stranger` certificates in `directory`.
    static func make(in directory: String, runner: CommandRunner) async throws -> TestPKI {
        let pki = TestPKI(directory: directory)
        let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
        let leaf = [
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=critical,digitalSignature",
            "-addext", "extendedKeyUsage=serverAuth,clientAuth",
        ]
        try await pki.openssl(
            ["req", "-x509"] + newKey + [
                "-keyout", "\(directory)/ca.key", "-out", pki.caFile, "-subj", "/CN=mmm-test-ca",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
            runner: runner
        )
        for name in ["agent", "monitor"] {
            try await pki.openssl(
                ["req", "-x509"] + newKey + [
                    "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-subj", "/CN=\(name)",
                    "-CA", pki.caFile, "-CAkey", "\(directory)/ca.key",
                ] + leaf,
                runner: runner
            )
        }
        // Signed by the CA, but for servers only: refused as a client certificate.
        try await pki.openssl(
            ["req", "-x509"] + newKey + [
                "-keyout", "\(directory)/server-only.key", "-out", "\(directory)/server-only.pem",
                "-subj", "/CN=server-only", "-CA", pki.caFile, "-CAkey", "\(directory)/ca.key",
                "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "keyUsage=critical,digitalSignature",
                "-addext", "extendedKeyUsage=serverAuth",
            ],
            runner: runner
        )
        try await pki.openssl(
            ["req", "-x509"] + newKey + [
                "-keyout", "\(directory)/stranger.key", "-out", "\(directory)/stranger.pem", "-subj", "/CN=stranger",
            ] + leaf,
            runner: runner
        )
        return pki
    }

    private func openssl(_ arguments: [String], runner: CommandRunner) async throws {
        let result = try await runner.run("/usr/bin/openssl", arguments, deadline: .seconds(30))
        guard result.status == 0 else {
            throw MMMError(.commandFailed, "openssl \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
    }
}

/// Runs `body` with a fresh test PKI in a temporary directory.
private func withTestPKI<T: Sendable>(_ body: (TestPKI) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let pki = try await withRunner { runner in try await TestPKI.make(in: directory, runner: runner) }
        return try await body(pki)
    }
}

/// An agent client named `monitor` with the test key and `tls`.
private func makeClient(tls: ProtocolTLS?, logger: Logger) -> AgentClient {
    AgentClient(
        client: ProtocolClient(
            configuration: ProtocolClientConfiguration(
                name: "monitor", key: serverTestKey, replyTimeout: .seconds(5), tls: tls
            ),
            logger: logger
        )
    )
}

/// An agent server (`db1` on 127.0.0.1, a free port) with `tls`, answering pings.
private func makeServer(tls: ProtocolTLS?, logger: Logger) -> AgentServer<ClosureAgentHandler> {
    var configuration = makeServerConfiguration()
    configuration.tls = tls
    return AgentServer(configuration: configuration, handler: ClosureAgentHandler.pinging, logger: logger)
}

/// Connects to `port` with a bare NIO TLS client (`configuration`), sends a valid ping frame, and returns the frames
/// received before the connection ended; a TLS error ends it like a close.
private func bareTLSExchange(port: Int, configuration: TLSConfiguration) async throws -> [ProtocolFrame] {
    let context = try NIOSSLContext(configuration: configuration)
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    try NIOSSLClientHandler(context: context, serverHostname: nil)
                )
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    var received = ByteBuffer()
    let ping = try encodedPing()
    try await channel.executeThenClose { inbound, outbound in
        do {
            try await outbound.write(ByteBuffer(bytes: ping))
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
            }
        } catch {
            // The refusal: a TLS alert or a reset.
        }
    }
    let codec = FrameCodec(key: serverTestKey)
    var frames: [ProtocolFrame] = []
    while let frame = try codec.decode(&received) {
        frames.append(frame)
    }
    return frames
}

/// Whether `error` is one of the connection errors a refused TLS peer produces.
private func isConnectionError(_ error: MMMError?) -> Bool {
    error?.code == .connectionFailed || error?.code == .connectionLost
}

@Suite("ProtocolTLS")
struct ProtocolTLSTests {
    @Test("a TLS client with a CA-signed certificate completes a ping", .timeLimit(.minutes(1)))
    func signedClientPings() async throws {
        try await withTestPKI { pki in
            let logs = LogCapture()
            let server = makeServer(tls: try pki.tls("agent"), logger: logs.makeLogger())
            let client = makeClient(tls: try pki.tls("monitor"), logger: logs.makeLogger())
            try await withRunningServer(server) { agent in
                let answer = try await client.send(.ping, to: agent)
                #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
                // A second exchange: a new connection and handshake each time.
                let second = try await client.send(.ping, to: agent)
                #expect(second == .pong(AgentPong(uptimeMilliseconds: 42)))
            }
            #expect(logs.entries.contains { $0.metadata["mmm.tls"] == "mutual" })
            #expect(!logs.contains("TLS failed"))
            #expect(logs.rejectionReasons.isEmpty)
        }
    }

    @Test(
        "a client without a certificate is refused, and the server keeps serving others",
        .timeLimit(.minutes(1))
    )
    func clientWithoutCertificateIsRefused() async throws {
        try await withTestPKI { pki in
            let logs = LogCapture()
            let server = makeServer(tls: try pki.tls("agent"), logger: logs.makeLogger())
            let good = makeClient(tls: try pki.tls("monitor"), logger: logs.makeLogger())
            var anonymous = TLSConfiguration.makeClientConfiguration()
            anonymous.trustRoots = .file(pki.caFile)
            anonymous.certificateVerification = .noHostnameVerification
            try await withRunningServer(server) { agent in
                let frames = try await bareTLSExchange(port: agent.port, configuration: anonymous)
                #expect(frames.isEmpty)
                let answer = try await good.send(.ping, to: agent)
                #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
            }
            #expect(logs.contains("TLS failed"))
        }
    }

    @Test(
        "a client with a self-signed certificate not from the CA is refused, and the server keeps serving others",
        .timeLimit(.minutes(1))
    )
    func strangerClientIsRefused() async throws {
        try await withTestPKI { pki in
            let logs = LogCapture()
            let server = makeServer(tls: try pki.tls("agent"), logger: logs.makeLogger())
            let stranger = makeClient(tls: try pki.tls("stranger"), logger: logs.makeLogger())
            let good = makeClient(tls: try pki.tls("monitor"), logger: logs.makeLogger())
            try await withRunningServer(server) { agent in
                let error = await #expect(throws: MMMError.self) { try await stranger.send(.ping, to: agent) }
                #expect(isConnectionError(error), "\(String(describing: error))")
                let answer = try await good.send(.ping, to: agent)
                #expect(answer == .pong(AgentPong(uptimeMilliseconds: 42)))
            }
            #expect(logs.contains("TLS failed"))
        }
    }

    @Test("a CA-signed certificate without the clientAuth usage is refused as a client", .timeLimit(.minutes(1)))
    func serverOnlyCertificateIsRefusedAsClient() async throws {
        try await withTestPKI { pki in
            let logs = LogCapture()
            let server = makeServer(tls: try pki.tls("agent"), logger: logs.makeLogger())
            let serverOnly = makeClient(tls: try pki.tls("server-only"), logger: logs.makeLogger())
            try await withRunningServer(server) { agent in
                let error = await #expect(throws: MMMError.self) { try await serverOnly.send(.ping, to: agent) }
                #expect(isConnectionError(error), "\(String(describing: error))")
            }
            #expect(logs.contains("TLS failed"))
        }
    }

    @Test("a TLS client refuses a server whose certificate is not from the CA", .timeLimit(.minutes(1)))
    func strangerServerIsRefused() async throws {
        try await withTestPKI { pki in
            let logs = LogCapture()
            // The stranger's key and certificate, trusting the test CA: it can verify others, but not be verified.
            let server = makeServer(tls: try pki.tls("stranger"), logger: logs.makeLogger())
            let client = makeClient(tls: try pki.tls("monitor"), logger: logs.makeLogger())
            try await withRunningServer(server) { agent in
                let error = await #expect(throws: MMMError.self) { try await client.send(.ping, to: agent) }
                #expect(error?.code == .connectionFailed, "\(String(describing: error))")
                #expect(error?.message.contains("TLS") == true)
            }
        }
    }

    @Test("a plain client against a TLS server fails, and a TLS client against a plain server", .timeLimit(.minutes(1)))
    func modesMustMatch() async throws {
        try await withTestPKI { pki in
            let logs = LogCapture()
            let tlsServer = makeServer(tls: try pki.tls("agent"), logger: logs.makeLogger())
            let plainClient = makeClient(tls: nil, logger: logs.makeLogger())
            try await withRunningServer(tlsServer) { agent in
                let error = await #expect(throws: MMMError.self) { try await plainClient.send(.ping, to: agent) }
                #expect(isConnectionError(error), "\(String(describing: error))")
            }
            #expect(logs.contains("TLS failed"))

            let plainLogs = LogCapture()
            let plainServer = makeServer(tls: nil, logger: plainLogs.makeLogger())
            let tlsClient = makeClient(tls: try pki.tls("monitor"), logger: plainLogs.makeLogger())
            try await withRunningServer(plainServer) { agent in
                let error = await #expect(throws: MMMError.self) { try await tlsClient.send(.ping, to: agent) }
                #expect(isConnectionError(error), "\(String(describing: error))")
            }
            // The plain server saw a TLS ClientHello where a frame should be.
            #expect(plainLogs.rejectionReasons == ["badMagic"])
        }
    }

    @Test("a missing or unusable file is an invalidConfiguration error naming it", .timeLimit(.minutes(1)))
    func missingFilesAreNamed() async throws {
        try await withTestPKI { pki in
            let good = pki.files("agent")
            var missingCertificate = good
            missingCertificate.certificateFile = "\(pki.directory)/nowhere.pem"
            var missingKey = good
            missingKey.privateKeyFile = "\(pki.directory)/nowhere.key"
            var missingCA = good
            missingCA.caFile = "\(pki.directory)/no-ca.pem"
            var keyAsCA = good
            keyAsCA.caFile = good.privateKeyFile
            for (files, named) in [
                (missingCertificate, "cert_file \(missingCertificate.certificateFile)"),
                (missingKey, "key_file \(missingKey.privateKeyFile)"),
                (missingCA, "ca_file \(missingCA.caFile)"),
                (keyAsCA, "ca_file \(good.privateKeyFile)"),
            ] {
                let error = #expect(throws: MMMError.self) { try ProtocolTLS(files: files) }
                #expect(error?.code == .invalidConfiguration)
                #expect(error?.message.contains(named) == true, "\(String(describing: error?.message))")
            }
            let missing = #expect(throws: MMMError.self) { try ProtocolTLS(files: missingCertificate) }
            #expect(missing?.message.contains("No such file or directory") == true)
            let loaded = try ProtocolTLS(files: good)
            #expect(loaded.files == good)
        }
    }

    @Test("a key that does not belong to the certificate is refused at load", .timeLimit(.minutes(1)))
    func mismatchedKeyIsRefused() async throws {
        try await withTestPKI { pki in
            var files = pki.files("agent")
            files.privateKeyFile = pki.files("stranger").privateKeyFile
            let error = #expect(throws: MMMError.self) { try ProtocolTLS(files: files) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains(files.privateKeyFile) == true)
        }
    }
}
