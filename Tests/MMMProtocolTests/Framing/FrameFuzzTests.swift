import Crypto
import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import MMMProtocol

/// Throws random and mutated input at the decoder. Seeds are fixed, so a failure reproduces.
///
/// `MMM_PROTOCOL_FUZZ_SCALE=N` multiplies the round counts (the default runs about 61 000 inputs; N=2 passes the
/// 100 000 of issue 4's security tests).
@Suite struct FrameFuzzTests {
    private static let scale = max(1, Int(ProcessInfo.processInfo.environment["MMM_PROTOCOL_FUZZ_SCALE"] ?? "") ?? 1)

    private static let validFrames: [[UInt8]] = ProtocolFixtures.allMessages.enumerated().map { index, message in
        // Fixtures are valid by construction; a failure here is a broken fixture, not a fuzz finding.
        Array(try! ProtocolFixtures.encoded(message, counter: UInt64(index + 1)).readableBytesView)
    }

    private enum Outcome: Equatable {
        case accepted(ProtocolFrame)
        case rejected(ProtocolRejection.Reason)
    }

    private static func decode(_ bytes: [UInt8]) -> Outcome {
        do {
            return .accepted(try ProtocolFixtures.codec.decodeFrame(from: ByteBuffer(bytes: bytes)))
        } catch {
            return .rejected(error.reason)
        }
    }

    @Test func randomByteStringsAreAllRejected() {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        let validPrefix: [UInt8] = Array("MMMP".utf8) + [1]
        var reasons: [ProtocolRejection.Reason: Int] = [:]
        for round in 0..<(21_000 * Self.scale) {
            let length = Int.random(in: 0...700, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Two in three start like a frame so the fuzzing reaches the length, MAC and body checks.
            switch round % 3 {
            case 1:
                bytes = validPrefix + bytes
            case 2:
                let type = MessageType.allCases.randomElement(using: &generator)!.rawValue  // allCases is not empty
                bytes = validPrefix + [type, 0, 0, 0, 0, 0, 0] + bytes
            default:
                break
            }
            let outcome = Self.decode(bytes)
            guard case .rejected(let reason) = outcome else {
                Issue.record("random input of \(bytes.count) bytes was accepted (round \(round))")
                return
            }
            reasons[reason, default: 0] += 1
        }
        #expect(reasons.values.reduce(0, +) == 21_000 * Self.scale)
        // The prefixed inputs must get past the magic check, or the fuzzing is shallow.
        #expect(reasons.keys.contains(.malformedHeader) || reasons.keys.contains(.oversized))
        #expect(reasons.keys.contains(.truncated))
    }

    @Test func mutatedFramesAreRejectedAndUntouchedOnesAccepted() {
        var generator = SeededGenerator(seed: 0x5EED_0002)
        var accepted = 0
        var rejected = 0
        for round in 0..<(20_000 * Self.scale) {
            let original = Self.validFrames.randomElement(using: &generator)!  // not empty
            var bytes = original
            switch round % 6 {
            case 0:
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let index = Int.random(in: 0..<bytes.count, using: &generator)
                    bytes[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
                }
            case 1:
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &generator))
            case 2:
                // Edit a length field: sender, recipient or body length.
                let field = [36, 37, 38, 39, 40, 41].randomElement(using: &generator)!  // not empty
                bytes[field] =
                    Bool.random(using: &generator)
                    ? UInt8.random(in: 0...255, using: &generator)
                    : bytes[field] &+ (Bool.random(using: &generator) ? 1 : 255)
            case 3:
                let index = Int.random(in: 0...bytes.count, using: &generator)
                bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
            case 4:
                bytes.remove(at: Int.random(in: 0..<bytes.count, using: &generator))
            default:
                // Untouched frames must decode.
                break
            }
            let outcome = Self.decode(bytes)
            if bytes == original {
                guard case .accepted = outcome else {
                    Issue.record("an untouched frame was rejected: \(outcome)")
                    return
                }
                accepted += 1
            } else {
                guard case .rejected = outcome else {
                    Issue.record("a mutated frame was accepted (round \(round))")
                    return
                }
                rejected += 1
            }
        }
        #expect(accepted + rejected == 20_000 * Self.scale)
        #expect(accepted >= 20_000 * Self.scale / 6)
    }

    /// Frames whose body is mutated and then correctly signed: the body parser itself is under test. Anything it
    /// accepts must be canonical, i.e. encode back to exactly the same bytes.
    @Test func authenticatedMutatedBodiesAreRejectedOrCanonical() throws {
        var generator = SeededGenerator(seed: 0x5EED_0003)
        var accepted = 0
        var reasons: Set<ProtocolRejection.Reason> = []
        for round in 0..<(20_000 * Self.scale) {
            let original = Self.validFrames.randomElement(using: &generator)!  // not empty
            let senderLength = Int(original[36])
            let recipientLength = Int(original[37])
            let bodyStart = FrameCodec.fixedHeaderSize + senderLength + recipientLength
            var header = Array(original[0..<bodyStart])
            var body = Array(original[bodyStart..<(original.count - FrameCodec.macSize)])
            switch round % 4 {
            case 0 where !body.isEmpty:
                body[Int.random(in: 0..<body.count, using: &generator)] ^=
                    UInt8(1) << UInt8.random(in: 0...7, using: &generator)
            case 1 where !body.isEmpty:
                body.removeLast(Int.random(in: 1...body.count, using: &generator))
            case 2:
                body.insert(
                    UInt8.random(in: 0...255, using: &generator),
                    at: Int.random(in: 0...body.count, using: &generator)
                )
            default:
                body = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                header[5] = MessageType.allCases.randomElement(using: &generator)!.rawValue  // not empty
            }
            let length = UInt32(body.count)
            header[38] = UInt8(length >> 24)
            header[39] = UInt8((length >> 16) & 0xFF)
            header[40] = UInt8((length >> 8) & 0xFF)
            header[41] = UInt8(length & 0xFF)
            let signed = header + body
            let mac = HMAC<SHA256>.authenticationCode(
                for: signed,
                using: SymmetricKey(data: ProtocolFixtures.key.keyBytes)
            )
            let bytes = signed + Array(mac)
            switch Self.decode(bytes) {
            case .accepted(let frame):
                accepted += 1
                let reencoded = Array(try ProtocolFixtures.codec.encode(frame).readableBytesView)
                #expect(reencoded == bytes, "an accepted frame does not re-encode to its bytes (round \(round))")
            case .rejected(let reason):
                reasons.insert(reason)
                #expect(
                    [.malformedBody, .invalidValue].contains(reason),
                    "an authenticated frame with a bad body was rejected as \(reason) (round \(round))"
                )
            }
        }
        #expect(accepted > 0)
        #expect(reasons == [.malformedBody, .invalidValue])
    }

    @Test func randomChunksOfRandomBytesNeverCrashTheChannelDecoder() throws {
        var generator = SeededGenerator(seed: 0x5EED_0004)
        for _ in 0..<(500 * Self.scale) {
            let channel = DecoderChannel.make()
            var bytes = Self.validFrames.randomElement(using: &generator)!  // not empty
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= 0x10
            var buffer = ByteBuffer(bytes: bytes)
            var failed = false
            while buffer.readableBytes > 0, !failed {
                let chunk = buffer.readSlice(
                    length: min(buffer.readableBytes, Int.random(in: 1...40, using: &generator))
                )!
                do {
                    try channel.writeInbound(chunk)
                } catch is ProtocolRejection {
                    failed = true
                }
            }
            #expect(try channel.readInbound(as: ProtocolFrame.self) == nil)
            if !failed {
                // A grown length field leaves the decoder waiting; the end of input must then reject.
                #expect(throws: ProtocolRejection.self) { try channel.finish() }
            } else {
                _ = try? channel.finish()
            }
        }
    }
}
