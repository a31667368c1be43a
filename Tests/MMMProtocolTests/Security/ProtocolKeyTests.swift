import Crypto
import Testing

@testable import MMMProtocol

@Suite struct ProtocolKeyTests {
    /// RFC 5869 computed by hand from HMAC, independently of Crypto's HKDF: PRK = HMAC(salt, IKM); OKM = T(1) =
    /// HMAC(PRK, info ‖ 0x01), which is exactly 32 bytes.
    private static func referenceKey(secret: [UInt8]) -> [UInt8] {
        let prk = HMAC<SHA256>.authenticationCode(for: secret, using: SymmetricKey(data: Array(ProtocolKey.salt.utf8)))
        let okm = HMAC<SHA256>.authenticationCode(
            for: Array(ProtocolKey.info.utf8) + [1],
            using: SymmetricKey(data: Array(prk))
        )
        return Array(okm)
    }

    @Test(arguments: ["correct horse battery staple", "s", "pässwörd ✓"])
    func derivationFollowsRFC5869WithTheDocumentedSaltAndInfo(secret: String) {
        let key = ProtocolKey(secret: secret)
        #expect(key.keyBytes.count == 32)
        #expect(key.keyBytes == Self.referenceKey(secret: Array(secret.utf8)))
        #expect(ProtocolKey(secretBytes: Array(secret.utf8)).keyBytes == key.keyBytes)
    }

    @Test func documentedConstantsAreStable() {
        #expect(ProtocolKey.salt == "swift-mmm protocol salt v1")
        #expect(ProtocolKey.info == "swift-mmm monitor-agent frame HMAC-SHA256 v1")
    }

    @Test func sameSecretGivesSameKeyAndFingerprint() {
        #expect(ProtocolKey(secret: "abc").keyBytes == ProtocolKey(secret: "abc").keyBytes)
        #expect(ProtocolKey(secret: "abc").fingerprint == ProtocolKey(secret: "abc").fingerprint)
        #expect(ProtocolKey(secret: "abc").keyBytes != ProtocolKey(secret: "abd").keyBytes)
        #expect(ProtocolKey(secret: "abc").fingerprint != ProtocolKey(secret: "abd").fingerprint)
        #expect(ProtocolKey(secret: "abc").fingerprint.count == 8)
    }

    @Test func descriptionNeverShowsTheKey() {
        let key = ProtocolKey(secret: "hunter2")
        let hex = key.keyBytes.map { String($0, radix: 16) }.joined()
        for text in [key.description, String(reflecting: key), "\(key)"] {
            #expect(!text.contains("hunter2"))
            #expect(!text.contains(hex))
            #expect(text.contains(key.fingerprint))
        }
    }
}
