import Logging
import MMMCore
import MMMDaemon
import MMMProtocol
import NIOCore

/// Closes a protocol connection that has been idle for too long, or that has not sent its first frame in time.
///
/// It sits after the frame decoder, so only whole frames that passed the MAC check count as activity: a peer that
/// trickles the bytes of a frame (or sends nothing) is closed when the timeout passes. Until the first frame the
/// timeout is the shorter first-frame one, which starts when the connection becomes active (before a TLS
/// handshake), so a peer that connects and stays silent holds its connection slot only briefly. The timer stops
/// while a request is being answered (from reading a frame until its reply is written), so a slow handler, which
/// has its own deadline, is never cut off by it.
final class IdleTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ProtocolFrame
    typealias InboundOut = ProtocolFrame
    typealias OutboundIn = ProtocolFrame
    typealias OutboundOut = ProtocolFrame

    private let timeout: TimeAmount
    private let firstFrameTimeout: TimeAmount
    private let logger: Logger
    private var timer: Scheduled<Void>?
    private var receivedFrame = false

    /// - Parameters:
    ///   - timeout: the idle timeout, from the first frame on.
    ///   - firstFrameTimeout: the time allowed for the first frame; `timeout` when that is shorter.
    ///   - logger: where closings are logged, at `debug`.
    init(timeout: TimeAmount, firstFrameTimeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.firstFrameTimeout = min(firstFrameTimeout, timeout)
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
        self.receivedFrame = true
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
        let timeout = self.receivedFrame ? self.timeout : self.firstFrameTimeout
        let message: Logger.Message =
            self.receivedFrame ? "Closing idle connection" : "Closing connection that sent no frame in time"
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            logger.debug(
                message,
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
