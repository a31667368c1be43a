import MMMCore
import NIOCore
import Testing

@testable import MMMProtocol

@Suite struct RoundTripTests {
    @Test(arguments: ProtocolFixtures.allMessages)
    func everyMessageSurvivesEncodeAndDecode(message: ProtocolMessage) throws {
        let frame = ProtocolFixtures.frame(message, counter: 42)
        let bytes = try ProtocolFixtures.codec.encode(frame)
        let decoded = try ProtocolFixtures.codec.decodeFrame(from: bytes)
        #expect(decoded == frame)
        #expect(decoded.message.messageType == message.messageType)
    }

    @Test func everyMessageTypeIsCoveredByTheFixtures() {
        let covered = Set(ProtocolFixtures.allMessages.map(\.messageType))
        #expect(covered == Set(MessageType.allCases))
    }

    @Test func headerFieldsRoundTrip() throws {
        let header = FrameHeader(
            sender: "db2",
            recipient: "monitor.cluster-1",
            stamp: FrameStamp(timestamp: ProtocolTimestamp(millisecondsSince1970: -5), counter: .max),
            inReplyTo: 99
        )
        let frame = ProtocolFrame(header: header, message: .agentResponse(.pong(AgentPong(uptimeMilliseconds: 1))))
        let decoded = try ProtocolFixtures.codec.decodeFrame(from: try ProtocolFixtures.codec.encode(frame))
        #expect(decoded.header == header)
    }

    @Test func frameLayoutMatchesTheDocumentedOffsets() throws {
        let bytes = try ProtocolFixtures.encoded(.agentRequest(.ping), counter: 0x0102)
        #expect(bytes.getBytes(at: 0, length: 4) == Array("MMMP".utf8))
        #expect(bytes.getInteger(at: 4, as: UInt8.self) == 1)
        #expect(bytes.getInteger(at: 5, as: UInt8.self) == MessageType.ping.rawValue)
        #expect(bytes.getInteger(at: 6, as: UInt16.self) == 0)
        #expect(bytes.getInteger(at: 8, as: UInt32.self) == 0)
        #expect(bytes.getInteger(at: 12, as: Int64.self) == ProtocolFixtures.now.millisecondsSince1970)
        #expect(bytes.getInteger(at: 20, as: UInt64.self) == 0x0102)
        #expect(bytes.getInteger(at: 28, as: UInt64.self) == 0)
        #expect(bytes.getInteger(at: 36, as: UInt8.self) == 7)
        #expect(bytes.getInteger(at: 37, as: UInt8.self) == 3)
        #expect(bytes.getInteger(at: 38, as: UInt32.self) == 0)
        #expect(bytes.getString(at: 42, length: 10) == "monitordb1")
        #expect(bytes.readableBytes == 42 + 10 + 0 + 32)
    }

    @Test func replyAnswersItsRequest() throws {
        let request = ProtocolFrame.request(.ping, from: "monitor", to: "db1", stamp: ProtocolFixtures.stamp(5))
        let reply = request.reply(
            with: .agentResponse(.pong(AgentPong(uptimeMilliseconds: 1))),
            stamp: ProtocolFixtures.stamp(1)
        )
        #expect(reply.header.sender == "db1")
        #expect(reply.header.recipient == "monitor")
        #expect(reply.header.inReplyTo == 5)
        #expect(reply.isReply(to: request))
        let other = ProtocolFrame.request(.ping, from: "monitor", to: "db1", stamp: ProtocolFixtures.stamp(6))
        #expect(!reply.isReply(to: other))
        #expect(!request.isReply(to: request))
    }

    @Test func controlFrameRoundTrips() throws {
        let frame = ProtocolFrame.control(
            ControlRequest(verb: "set_online", arguments: ["db1"]),
            from: "control-admin1-4242",
            to: "monitor",
            stamp: ProtocolFixtures.stamp(1)
        )
        #expect(try ProtocolFixtures.codec.decodeFrame(from: try ProtocolFixtures.codec.encode(frame)) == frame)
    }

    @Test func largestAllowedFrameIsAcceptedAndOneByteMoreIsRefused() throws {
        // Header 42 + "monitor" 7 + "db1" 3 + MAC 32 + body (1 flag byte + 2 length bytes + text).
        let overhead = 42 + 7 + 3 + 32 + 1 + 2
        let codec = FrameCodec(key: ProtocolFixtures.key, maximumFrameSize: 4_096)
        let fits = ProtocolFrame(
            header: FrameHeader(sender: "monitor", recipient: "db1", stamp: ProtocolFixtures.stamp(1)),
            message: .controlResponse(
                ControlResponse(isError: false, text: String(repeating: "x", count: 4_096 - overhead))
            )
        )
        let bytes = try codec.encode(fits)
        #expect(bytes.readableBytes == 4_096)
        #expect(try codec.decodeFrame(from: bytes) == fits)

        var tooBig = fits
        tooBig.message = .controlResponse(
            ControlResponse(isError: false, text: String(repeating: "x", count: 4_097 - overhead))
        )
        #expect(throws: ProtocolRejection.self) { try codec.encode(tooBig) }
        #expect(throws: ProtocolRejection.self) {
            try codec.decodeFrame(from: try FrameCodec(key: ProtocolFixtures.key).encode(tooBig))
        }
    }

    @Test func severalFramesInOneBufferDecodeInOrder() throws {
        var buffer = ByteBuffer()
        for (index, message) in ProtocolFixtures.allMessages.enumerated() {
            try ProtocolFixtures.codec.encode(
                ProtocolFixtures.frame(message, counter: UInt64(index + 1)),
                into: &buffer
            )
        }
        var decoded: [ProtocolMessage] = []
        while let frame = try ProtocolFixtures.codec.decode(&buffer) {
            decoded.append(frame.message)
        }
        #expect(decoded == ProtocolFixtures.allMessages)
        #expect(buffer.readableBytes == 0)
    }

    @Test func eachRequestHasExactlyOneSuccessAnswerTypeAndFailureAnswersAll() {
        let failure = AgentResponse.failed(AgentFailure(code: "timedOut", message: "x"))
        for request in ProtocolFixtures.requests {
            let successTypes = Set(
                ProtocolFixtures.responses.filter { $0.isAnswer(to: request) && $0 != failure }
                    .filter { if case .failed = $0 { return false } else { return true } }
                    .map { ProtocolMessage.agentResponse($0).messageType }
            )
            #expect(successTypes.count == 1, "\(request) has answer types \(successTypes)")
            #expect(failure.isAnswer(to: request))
            let requestType = ProtocolMessage.agentRequest(request).messageType.rawValue
            #expect(successTypes.first?.rawValue == requestType | 0x80)
        }
    }
}
