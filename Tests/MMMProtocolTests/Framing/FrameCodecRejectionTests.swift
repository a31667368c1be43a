import MMMCore
import NIOCore
import Testing

@testable import MMMProtocol

@Suite struct FrameCodecRejectionTests {
    private let codec = ProtocolFixtures.codec

    private func reject(_ bytes: ByteBuffer, codec: FrameCodec = ProtocolFixtures.codec) -> ProtocolRejection? {
        do {
            _ = try codec.decodeFrame(from: bytes)
            return nil
        } catch {
            return error
        }
    }

    private func pingBytes() throws -> ByteBuffer {
        try ProtocolFixtures.encoded(.agentRequest(.ping))
    }

    @Test func wrongMagicIsRejectedAtTheFirstByte() throws {
        var first = ByteBuffer(bytes: [UInt8(ascii: "G")])
        #expect(throws: ProtocolRejection(.badMagic, "the frame does not start with MMMP (byte 0 is wrong)")) {
            try codec.decode(&first)
        }
        let http = ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")
        #expect(reject(http)?.reason == .badMagic)
        var bytes = try pingBytes()
        bytes.setInteger(UInt8(ascii: "X"), at: 3)
        #expect(reject(bytes)?.reason == .badMagic)
    }

    @Test func unknownVersionIsRejectedBeforeTheRestArrives() throws {
        var prefix = ByteBuffer(bytes: Array("MMMP".utf8) + [2])
        #expect(throws: ProtocolRejection.self) { try codec.decode(&prefix) }
        let signed = ProtocolFixtures.rawFrame(version: 2, type: MessageType.ping.rawValue, body: [])
        let rejection = try #require(reject(signed))
        #expect(rejection.reason == .unsupportedVersion)
        #expect(rejection.message.contains("version 2"))
        #expect(self.reject(ProtocolFixtures.rawFrame(version: 0, type: 1, body: []))?.reason == .unsupportedVersion)
    }

    @Test(arguments: [UInt8(0x00), 0x0A, 0x3F, 0x41, 0x80, 0x8A, 0xBE, 0xC1, 0xFF])
    func unknownMessageTypeIsRejected(type: UInt8) {
        #expect(reject(ProtocolFixtures.rawFrame(type: type, body: []))?.reason == .unknownMessageType)
    }

    @Test(arguments: [UInt16(2), 0x8000, 0xFFFF])
    func unknownFlagsAreRejected(flags: UInt16) {
        #expect(reject(ProtocolFixtures.rawFrame(type: 1, flags: flags, body: []))?.reason == .unknownFlags)
    }

    @Test func oversizedFrameIsRejectedFromItsHeaderAlone() throws {
        var header = try pingBytes().getSlice(at: 0, length: FrameCodec.fixedHeaderSize)!
        header.setInteger(UInt32(70_000), at: 38)
        // Only the 42 header bytes are present: the decoder must not wait for 70 000 more.
        let rejection = try #require(reject(header))
        #expect(rejection.reason == .oversized)
        header.setInteger(UInt32.max, at: 38)
        #expect(self.reject(header)?.reason == .oversized)
        let small = FrameCodec(key: ProtocolFixtures.key, maximumFrameSize: 100)
        let fence = try ProtocolFixtures.encoded(
            .agentRequest(.fence(FenceOrder(target: "db1", epoch: 1, reason: String(repeating: "r", count: 40))))
        )
        #expect(self.reject(fence, codec: small)?.reason == .oversized)
    }

    @Test(arguments: [(0, 3), (65, 3), (7, 0), (7, 65)])
    func nameLengthsOutsideTheLimitAreMalformedHeaders(sender: Int, recipient: Int) {
        let bytes = ProtocolFixtures.rawFrame(
            type: 1,
            sender: Array(repeating: UInt8(ascii: "a"), count: sender),
            recipient: Array(repeating: UInt8(ascii: "b"), count: recipient),
            body: []
        )
        #expect(reject(bytes)?.reason == .malformedHeader)
    }

    @Test(arguments: ["db1;reboot", "-db1", "db 1", "db1\n", "ü"])
    func invalidSenderNameIsAMalformedHeaderEvenWithAValidMAC(sender: String) {
        let bytes = ProtocolFixtures.rawFrame(type: 1, sender: Array(sender.utf8), body: [])
        #expect(reject(bytes)?.reason == .malformedHeader)
        let recipient = ProtocolFixtures.rawFrame(type: 1, recipient: Array(sender.utf8), body: [])
        #expect(reject(recipient)?.reason == .malformedHeader)
    }

    @Test func nonzeroReservedFieldIsAMalformedHeader() {
        #expect(reject(ProtocolFixtures.rawFrame(type: 1, reserved: 1, body: []))?.reason == .malformedHeader)
    }

    @Test func inputEndingInsideAFrameIsTruncated() throws {
        let bytes = try pingBytes()
        for length in [1, 4, 8, 41, 42, 50, bytes.readableBytes - 1] {
            #expect(reject(bytes.getSlice(at: 0, length: length)!)?.reason == .truncated)
        }
        #expect(reject(ByteBuffer())?.reason == .truncated)
    }

    @Test func frameSignedWithAnotherSecretIsRejectedWithoutRevealingEitherSecret() throws {
        let other = ProtocolKey(secret: "another secret entirely")
        let bytes = try FrameCodec(key: other).encode(ProtocolFixtures.frame(.agentRequest(.ping)))
        let rejection = try #require(reject(bytes))
        #expect(rejection.reason == .badMAC)
        #expect(rejection.isAuthenticationFailure)
        #expect(rejection.error.code == .accessDenied)
        for text in [rejection.description, rejection.error.description, String(reflecting: rejection)] {
            #expect(!text.contains(ProtocolFixtures.secret))
            #expect(!text.contains("another secret"))
            #expect(!text.contains(ProtocolFixtures.key.keyBytes.map { String($0, radix: 16) }.joined()))
        }
    }

    @Test func everyAlteredByteOfAFrameIsCaught() throws {
        let bytes = try ProtocolFixtures.encoded(
            .agentRequest(
                .setStatus(SetStatus(state: .online, roles: ProtocolFixtures.roles, activeMaster: "db1", epoch: 1))
            )
        )
        for offset in 0..<bytes.readableBytes {
            var altered = bytes
            altered.setInteger(bytes.getInteger(at: offset, as: UInt8.self)! ^ 0x01, at: offset)
            #expect(reject(altered) != nil, "flipping bit 0 of byte \(offset) went unnoticed")
        }
    }

    @Test func aHandedOverRoleIPThatIsNotToBeHeldIsMalformed() throws {
        let status = SetStatus(
            state: .online, roles: [ProtocolFixtures.roles[0]], activeMaster: "db1", epoch: 1,
            handedOver: [RoleIP(role: "writer", ip: "198.18.0.250")]
        )
        let bytes = try ProtocolFixtures.encoded(.agentRequest(.setStatus(status)))
        #expect(reject(bytes)?.reason == .malformedBody)
    }

    @Test func trailingBytesAfterTheBodyAreMalformed() {
        let bytes = ProtocolFixtures.rawFrame(type: MessageType.ping.rawValue, body: [0])
        #expect(reject(bytes)?.reason == .malformedBody)
    }

    @Test func bodyEndingEarlyIsMalformed() {
        let bytes = ProtocolFixtures.rawFrame(type: MessageType.getDrainStatus.rawValue, body: [0, 0])
        #expect(reject(bytes)?.reason == .malformedBody)
        let string = ProtocolFixtures.rawFrame(type: MessageType.canReach.rawValue, body: [0, 9, UInt8(ascii: "d")])
        #expect(reject(string)?.reason == .malformedBody)
    }

    @Test func booleanOtherThanZeroOrOneIsMalformed() {
        let bytes = ProtocolFixtures.rawFrame(
            type: MessageType.controlResponse.rawValue,
            body: [2] + ProtocolFixtures.wireString("x")
        )
        #expect(reject(bytes)?.reason == .malformedBody)
    }

    @Test func unknownStateAndServiceCodesAreMalformed() {
        let state = ProtocolFixtures.rawFrame(
            type: MessageType.setStatus.rawValue,
            body: [9, 0, 0, 0] + ProtocolFixtures.wireUInt64(1)
        )
        #expect(reject(state)?.reason == .malformedBody)
        let service = ProtocolFixtures.rawFrame(
            type: MessageType.canReach.rawValue,
            body: ProtocolFixtures.wireString("db1") + [7]
        )
        #expect(reject(service)?.reason == .malformedBody)
    }

    @Test(arguments: [
        ("db1;rm -rf /", "192.168.0.50"),
        ("writer", "192.168.0.50; reboot"),
        ("writer", "192.168.0.256"),
        ("writer", "192.168.010.5"),
        ("writer", "$(reboot)"),
        ("writer", "fe80::1%eth0"),
        ("writer", "1::2::3"),
        ("", "192.168.0.50"),
        ("writer'--", "10.0.0.1"),
    ])
    func roleWithMetacharactersIsRejectedAtTheProtocolEdge(role: String, ip: String) throws {
        let body =
            [UInt8(1), 0, 1] + ProtocolFixtures.wireString(role) + ProtocolFixtures.wireString(ip) + [0]
            + ProtocolFixtures.wireUInt64(1)
        let rejection = try #require(
            reject(ProtocolFixtures.rawFrame(type: MessageType.setStatus.rawValue, body: body))
        )
        #expect(rejection.reason == .invalidValue)
        #expect(rejection.error.code == .invalidArgument)

        let status = SetStatus(state: .online, roles: [RoleIP(role: role, ip: ip)], activeMaster: nil, epoch: 1)
        #expect(throws: ProtocolRejection.self) {
            try ProtocolFixtures.encoded(.agentRequest(.setStatus(status)))
        }
    }

    @Test(arguments: ["line\rforged", "esc\u{1B}[2J", "nul\u{0}", "c1\u{85}"])
    func textWithControlCharactersIsRejected(text: String) {
        let bytes = ProtocolFixtures.rawFrame(
            type: MessageType.controlResponse.rawValue,
            body: [0] + ProtocolFixtures.wireString(text)
        )
        #expect(reject(bytes)?.reason == .invalidValue)
        #expect(throws: ProtocolRejection.self) {
            try ProtocolFixtures.encoded(.controlResponse(ControlResponse(isError: false, text: text)))
        }
    }

    @Test func invalidUTF8IsRejected() {
        let body: [UInt8] = [0, 0, 2, 0xC3, 0x28]
        #expect(
            reject(ProtocolFixtures.rawFrame(type: MessageType.controlResponse.rawValue, body: body))?.reason
                == .invalidValue
        )
    }

    @Test(arguments: ["0-1", "0-1-2,,0-1-3", "a-b-c", "0-1-2,0-2-3", "0-1-2; DROP TABLE t"])
    func malformedGTIDTextIsRejected(gtid: String) {
        let positions = GTIDPositions(
            binlogPosition: gtid,
            binlogState: "",
            currentPosition: "",
            slavePosition: "",
            receivedPosition: ""
        )
        #expect(throws: ProtocolRejection.self) {
            try ProtocolFixtures.encoded(.agentResponse(.gtidPositions(positions)))
        }
        let body = ProtocolFixtures.wireString(gtid) + [0, 0, 0, 0, 0, 0, 0, 0]
        #expect(
            reject(ProtocolFixtures.rawFrame(type: MessageType.gtidPositions.rawValue, body: body))?.reason
                == .invalidValue
        )
    }

    @Test(arguments: [
        ControlRequest(verb: "Show"),
        ControlRequest(verb: "show;ls"),
        ControlRequest(verb: ""),
        ControlRequest(verb: "show", arguments: Array(repeating: "x", count: 33)),
        ControlRequest(verb: "show", arguments: [String(repeating: "x", count: 1_025)]),
    ])
    func invalidControlRequestIsRefusedByTheEncoder(request: ControlRequest) {
        #expect(throws: ProtocolRejection.self) { try ProtocolFixtures.encoded(.controlRequest(request)) }
    }

    @Test func invalidControlVerbIsRejectedByTheDecoder() {
        let body = ProtocolFixtures.wireString("rm -rf") + [0]
        #expect(
            reject(ProtocolFixtures.rawFrame(type: MessageType.controlRequest.rawValue, body: body))?.reason
                == .invalidValue
        )
    }

    @Test func invalidSenderIsRefusedByTheEncoder() {
        var frame = ProtocolFixtures.frame(.agentRequest(.ping))
        frame.header.sender = "monitor host"
        #expect(throws: ProtocolRejection.self) { try ProtocolFixtures.codec.encode(frame) }
        frame.header.sender = "monitor"
        frame.header.recipient = String(repeating: "d", count: 65)
        #expect(throws: ProtocolRejection.self) { try ProtocolFixtures.codec.encode(frame) }
    }

    @Test func wrongRecipientIsRejected() throws {
        let frame = try ProtocolFixtures.codec.decodeFrame(from: try pingBytes())
        try frame.requireRecipient("db1")
        #expect(throws: ProtocolRejection.self) { try frame.requireRecipient("db2") }
        do {
            try frame.requireRecipient("db2")
        } catch {
            #expect(error.reason == .wrongRecipient)
            #expect(error.error.code == .accessDenied)
        }
    }

    @Test func bytesAfterAWholeFrameAreRejectedByDecodeFrame() throws {
        var bytes = try pingBytes()
        bytes.writeInteger(UInt8(0))
        #expect(reject(bytes)?.reason == .malformedBody)
    }

    @Test func everyReasonHasAnErrorCode() {
        for reason in ProtocolRejection.Reason.allCases {
            let rejection = ProtocolRejection(reason, "x")
            #expect(rejection.description == "protocol frame rejected (\(reason.rawValue)): x")
            #expect([MMMError.Code.accessDenied, .invalidArgument].contains(rejection.error.code))
        }
    }
}
