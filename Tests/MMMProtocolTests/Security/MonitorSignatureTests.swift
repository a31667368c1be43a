import Crypto
import Foundation
import MMMCore
import NIOCore
import Testing

@testable import MMMProtocol

/// Review item of issue 11: every database host holds `agent_secret`, so the MAC alone let any of them give orders
/// as the monitor. Frames from the monitor now carry an Ed25519 signature only the monitor's private key makes.
@Suite struct MonitorSignatureTests {
    static let signingKey = MonitorSigningKey()
    static let monitorCodec = FrameCodec(key: ProtocolFixtures.key, signingKey: signingKey)
    static let agentCodec = FrameCodec(key: ProtocolFixtures.key, monitorKey: signingKey.publicKey)

    @Test("a signed frame verifies with the monitor's public key, for every message")
    func signedFramesVerify() throws {
        for message in ProtocolFixtures.allMessages {
            let frame = ProtocolFixtures.frame(message)
            let bytes = try Self.monitorCodec.encode(frame)
            let decoded = try Self.agentCodec.decodeFrame(from: bytes)
            #expect(decoded.isSignedByMonitor)
            #expect(decoded.message == frame.message)
            #expect(decoded.header.flags == FrameCodec.monitorSignatureFlag)
            #expect(bytes.readableBytes == (try ProtocolFixtures.codec.encode(frame)).readableBytes + FrameCodec.signatureSize)
        }
    }

    @Test("an unsigned frame, or a receiver without the key, is not signed by the monitor")
    func unsignedFrames() throws {
        let frame = ProtocolFixtures.frame(.agentRequest(.ping))
        #expect(try Self.agentCodec.decodeFrame(from: ProtocolFixtures.codec.encode(frame)).isSignedByMonitor == false)
        // A receiver without monitor_public_key reads a signed frame but cannot vouch for it.
        #expect(try ProtocolFixtures.codec.decodeFrame(from: Self.monitorCodec.encode(frame)).isSignedByMonitor == false)
    }

    @Test("a holder of the shared secret cannot forge the signature: another key's, or altered bytes, are refused")
    func forgeriesAreRefused() throws {
        let frame = ProtocolFixtures.frame(.agentRequest(.ping))
        // Another host's key, with the right MAC (it holds agent_secret).
        let impostor = FrameCodec(key: ProtocolFixtures.key, signingKey: MonitorSigningKey())
        #expect(throws: ProtocolRejection.self) { try Self.agentCodec.decodeFrame(from: impostor.encode(frame)) }
        do {
            _ = try Self.agentCodec.decodeFrame(from: impostor.encode(frame))
        } catch {
            #expect(error.reason == .badSignature)
            #expect(error.isAuthenticationFailure)
        }
        // The monitor's signature on other bytes: change the counter, then recompute the MAC as the secret allows.
        var bytes = try Self.monitorCodec.encode(frame)
        bytes.setInteger(UInt64(99), at: 20)
        let macStart = bytes.readableBytes - FrameCodec.macSize
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(bytes.readableBytesView.prefix(macStart)), using: SymmetricKey(data: ProtocolFixtures.key.keyBytes)
        )
        bytes.setBytes(Array(mac), at: macStart)
        #expect(throws: ProtocolRejection.self) { try Self.agentCodec.decodeFrame(from: bytes) }
    }

    @Test("the flag is covered: stripping the signature and its flag leaves an unsigned frame, never a signed one")
    func strippedSignature() throws {
        let frame = ProtocolFixtures.frame(.agentRequest(.ping))
        let signed = try Self.monitorCodec.encode(frame)
        let macStart = signed.readableBytes - FrameCodec.macSize
        var stripped = ByteBuffer(bytes: Array(signed.readableBytesView.prefix(macStart - FrameCodec.signatureSize)))
        stripped.setInteger(UInt16(0), at: 6)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(stripped.readableBytesView), using: SymmetricKey(data: ProtocolFixtures.key.keyBytes)
        )
        stripped.writeBytes(Array(mac))
        #expect(try Self.agentCodec.decodeFrame(from: stripped).isSignedByMonitor == false)
    }

    @Test("keys read back from their text; a bad text names monitor_public_key and how to get a right one")
    func keyTexts() throws {
        let key = MonitorSigningKey()
        #expect(try MonitorSigningKey(fileText: key.fileText, path: "/k").publicKey == key.publicKey)
        #expect(try MonitorPublicKey(text: "\(key.publicKey)") == key.publicKey)
        #expect(!"\(key)".contains(key.fileText.trimmingCharacters(in: .newlines)))
        let error = #expect(throws: MMMError.self) { try MonitorPublicKey(text: "not-a-key") }
        #expect(error?.message.contains("monitor_public_key") == true)
        #expect(error?.message.contains("--generate-signing-key") == true)
        #expect(throws: MMMError.self) { try MonitorSigningKey(fileText: "abc", path: "/etc/mysql-mmm/monitor.key") }
    }
}
