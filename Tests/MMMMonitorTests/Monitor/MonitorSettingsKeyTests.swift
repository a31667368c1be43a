import MMMCore
import MMMProtocol
import MMMTestSupport
import Testing

@testable import MMMMonitor

/// `monitor_public_key` and `monitor_signing_key` must come together and match, or mmm_mond refuses to start: a
/// monitor that signs nothing while the agents demand signatures would leave the cluster without orders.
@Suite struct MonitorSettingsKeyTests {
    static let key = MonitorSigningKey()

    @Test("the key file is read and checked against monitor_public_key")
    func matchingKeys() async throws {
        let settings = try await DecisionLoopTests.settings(
            commonExtra: "monitor_public_key \(Self.key.publicKey)",
            monitorExtra: "monitor_signing_key DIR/monitor.key",
            files: ["monitor.key": Self.key.fileText]
        )
        #expect(settings.monitorPublicKey == Self.key.publicKey)
        // loadSigningKey reads the file; the temporary directory is gone here, so check through a fresh one below.
        #expect(settings.signingKeyPath?.hasSuffix("/monitor.key") == true)
    }

    @Test("a public key without the signing key, or the reverse, is refused naming both directives")
    func halfConfigured() async throws {
        let missing = await #expect(throws: MMMError.self) {
            try await DecisionLoopTests.settings(commonExtra: "monitor_public_key \(Self.key.publicKey)")
        }
        #expect(missing?.message.contains("monitor_signing_key") == true)
        let orphan = await #expect(throws: MMMError.self) {
            try await DecisionLoopTests.settings(monitorExtra: "monitor_signing_key DIR/monitor.key")
        }
        #expect(orphan?.message.contains("monitor_public_key") == true)
    }

    @Test("a signing key that is not monitor_public_key's private half is refused, naming both keys")
    func mismatchedKeys() async throws {
        let other = MonitorSigningKey()
        try await withTemporaryDirectory(prefix: "mmm-key") { directory in
            let path = "\(directory)/monitor.key"
            _ = try SigningKeyFile.create(at: path)
            #expect(throws: MMMError.self) { try SigningKeyFile.create(at: path) }  // never overwritten
            var settings = try await DecisionLoopTests.settings()
            settings.signingKeyPath = path
            settings.monitorPublicKey = other.publicKey
            let error = #expect(throws: MMMError.self) { try settings.loadSigningKey() }
            #expect(error?.message.contains("\(other.publicKey)") == true)
            settings.monitorPublicKey = try SigningKeyFile.read(at: path).publicKey
            #expect(try settings.loadSigningKey()?.publicKey == settings.monitorPublicKey)
        }
    }
}
