import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import MMMProtocol

@Suite struct FrameDecoderTests {
    private static func frames() -> [ProtocolFrame] {
        ProtocolFixtures.allMessages.enumerated().map { index, message in
            ProtocolFixtures.frame(message, counter: UInt64(index + 1))
        }
    }

    @Test func verifierAcceptsEveryFrameInAnySplit() throws {
        let pairs = try Self.frames().map { frame in (try ProtocolFixtures.codec.encode(frame), [frame]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            ProtocolFrameDecoder(codec: ProtocolFixtures.codec)
        }
    }

    @Test func framesFedByteByByteComeOutWhole() throws {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(ProtocolFrameDecoder(codec: ProtocolFixtures.codec))
        )
        var all = ByteBuffer()
        for frame in Self.frames() {
            try ProtocolFixtures.codec.encode(frame, into: &all)
        }
        while let byte = all.readSlice(length: 1) {
            try channel.writeInbound(byte)
        }
        var received: [ProtocolFrame] = []
        while let frame = try channel.readInbound(as: ProtocolFrame.self) {
            received.append(frame)
        }
        #expect(received == Self.frames())
        #expect(try channel.finish().isClean)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func framesFedInRandomChunksComeOutWhole(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(ProtocolFrameDecoder(codec: ProtocolFixtures.codec))
        )
        var all = ByteBuffer()
        for frame in Self.frames() {
            try ProtocolFixtures.codec.encode(frame, into: &all)
        }
        while all.readableBytes > 0 {
            let length = min(all.readableBytes, Int.random(in: 1...300, using: &generator))
            try channel.writeInbound(all.readSlice(length: length)!)
        }
        var received: [ProtocolFrame] = []
        while let frame = try channel.readInbound(as: ProtocolFrame.self) {
            received.append(frame)
        }
        #expect(received == Self.frames())
        #expect(try channel.finish().isClean)
    }

    @Test func garbageFailsTheChannelWithARejection() throws {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(ProtocolFrameDecoder(codec: ProtocolFixtures.codec))
        )
        do {
            try channel.writeInbound(ByteBuffer(string: "PING|1|db1\n"))
            Issue.record("garbage was accepted")
        } catch let rejection as ProtocolRejection {
            #expect(rejection.reason == .badMagic)
        }
        _ = try? channel.finish()
    }

    @Test func badMACFailsTheChannelAfterTheWholeFrameArrived() throws {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(ProtocolFrameDecoder(codec: ProtocolFixtures.codec))
        )
        let forged = try FrameCodec(key: ProtocolKey(secret: "guess")).encode(
            ProtocolFixtures.frame(.agentRequest(.ping))
        )
        try channel.writeInbound(forged.getSlice(at: 0, length: forged.readableBytes - 1)!)
        #expect(try channel.readInbound(as: ProtocolFrame.self) == nil)
        do {
            try channel.writeInbound(forged.getSlice(at: forged.readableBytes - 1, length: 1)!)
            Issue.record("forged frame was accepted")
        } catch let rejection as ProtocolRejection {
            #expect(rejection.reason == .badMAC)
        }
        _ = try? channel.finish()
    }

    @Test func connectionClosedInsideAFrameIsATruncation() throws {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(ProtocolFrameDecoder(codec: ProtocolFixtures.codec))
        )
        let bytes = try ProtocolFixtures.encoded(.agentRequest(.ping))
        try channel.writeInbound(bytes.getSlice(at: 0, length: 20)!)
        do {
            _ = try channel.finish()
            Issue.record("a partial frame at EOF was accepted")
        } catch let rejection as ProtocolRejection {
            #expect(rejection.reason == .truncated)
        }
    }

    @Test func encoderWritesWhatTheCodecWrites() throws {
        let channel = EmbeddedChannel(
            handler: MessageToByteHandler(ProtocolFrameEncoder(codec: ProtocolFixtures.codec))
        )
        let frame = ProtocolFixtures.frame(.agentRequest(.getSystemInfo))
        try channel.writeOutbound(frame)
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(written == (try ProtocolFixtures.codec.encode(frame)))
        #expect(try channel.finish().isClean)
    }

    @Test func encoderFailsTheWriteOfAnInvalidFrame() throws {
        let channel = EmbeddedChannel(
            handler: MessageToByteHandler(ProtocolFrameEncoder(codec: ProtocolFixtures.codec))
        )
        var frame = ProtocolFixtures.frame(.agentRequest(.canReach(ReachQuery(host: "db1`id`", service: .mysql))))
        frame.header.stamp = ProtocolFixtures.stamp(2)
        #expect(throws: ProtocolRejection.self) { try channel.writeOutbound(frame) }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }

    @Test func encoderAndDecoderTalkThroughAPipeline() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(ProtocolFrameDecoder(codec: ProtocolFixtures.codec))
        )
        try channel.pipeline.syncOperations.addHandler(
            MessageToByteHandler(ProtocolFrameEncoder(codec: ProtocolFixtures.codec))
        )
        for frame in Self.frames() {
            try channel.writeOutbound(frame)
            let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
            try channel.writeInbound(bytes)
            #expect(try channel.readInbound(as: ProtocolFrame.self) == frame)
        }
        #expect(try channel.finish().isClean)
    }
}
