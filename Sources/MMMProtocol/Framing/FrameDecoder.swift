import NIOCore

/// A NIO decoder that turns inbound bytes into authenticated ``ProtocolFrame``s.
///
/// Use it as `ByteToMessageHandler(ProtocolFrameDecoder(codec: codec))`. It decodes with ``FrameCodec/decode(_:)``,
/// so frames may arrive in any chunks. On the first bad byte it throws the ``ProtocolRejection``, which NIO passes to
/// `errorCaught`: log ``ProtocolRejection/description`` there and close the channel. Freshness and recipient are
/// checked after this, by the server, with ``ReplayGuard`` and ``ProtocolFrame/requireRecipient(_:)``.
public struct ProtocolFrameDecoder: ByteToMessageDecoder {
    /// Decoded frames.
    public typealias InboundOut = ProtocolFrame

    /// The codec holding the key and the size limit.
    public let codec: FrameCodec

    /// Creates a decoder.
    public init(codec: FrameCodec) {
        self.codec = codec
    }

    /// Emits every complete frame in `buffer`.
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.codec.decode(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    /// Emits the remaining complete frames at end of input; bytes of an unfinished frame are a
    /// ``ProtocolRejection/Reason/truncated`` rejection.
    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        if try self.decode(context: context, buffer: &buffer) == .continue {
            return .continue
        }
        guard buffer.readableBytes == 0 else {
            let leftover = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: leftover)
            throw ProtocolRejection(.truncated, "the connection ended \(leftover) bytes into a frame")
        }
        return .needMoreData
    }
}

/// A NIO encoder that signs and writes outbound ``ProtocolFrame``s.
///
/// Use it as `MessageToByteHandler(ProtocolFrameEncoder(codec: codec))`. A frame that breaks a rule fails its write
/// promise with the ``ProtocolRejection``; nothing is sent.
public struct ProtocolFrameEncoder: MessageToByteEncoder {
    /// Frames to send.
    public typealias OutboundIn = ProtocolFrame

    /// The codec holding the key and the size limit.
    public let codec: FrameCodec

    /// Creates an encoder.
    public init(codec: FrameCodec) {
        self.codec = codec
    }

    /// Writes `data`, signed, to `out`.
    public func encode(data: ProtocolFrame, out: inout ByteBuffer) throws {
        try self.codec.encode(data, into: &out)
    }
}
