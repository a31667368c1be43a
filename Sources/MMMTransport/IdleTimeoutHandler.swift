import Logging
import MMMDaemon
import MMMProtocol
import NIOCore

/// Closes a protocol connection that has been idle for too long.
///
/// It sits after the frame decoder, so only whole frames count as activity: a peer that trickles the bytes of a
/// frame (or sends nothing) is closed when the timeout passes. The timer stops while a request is being answered
/// (from reading a frame until its reply is written), so a slow handler, which has its own deadline, is never cut
/// off by it.
final class IdleTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ProtocolFrame
    typealias InboundOut = ProtocolFrame
    typealias OutboundIn = ProtocolFrame
    typealias OutboundOut = ProtocolFrame

    private let timeout: TimeAmount
    private let logger: Logger
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.arm(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.arm(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.disarm()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.arm(context: context)
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext) {
        self.disarm()
        let logger = self.logger
        let timeout = self.timeout
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            logger.debug(
                "Closing idle connection",
                metadata: [
                    LogKey.peer: "\(context.channel.remoteAddress?.description ?? "unknown")",
                    LogKey.duration: "\(timeout)",
                ]
            )
            context.close(promise: nil)
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
    }
}
