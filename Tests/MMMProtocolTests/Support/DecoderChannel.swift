import NIOCore
import NIOEmbedded

@testable import MMMProtocol

/// Builds an `EmbeddedChannel` with the frame decoder installed.
enum DecoderChannel {
    static func make(codec: FrameCodec = ProtocolFixtures.codec) -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(ProtocolFrameDecoder(codec: codec)))
    }
}
