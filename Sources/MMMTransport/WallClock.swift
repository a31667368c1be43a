import MMMProtocol
import MMMSystem

/// The wall clock that stamps and checks protocol frames.
///
/// `MMMProtocol` never reads a clock; servers and clients read this one, and tests inject their own
/// `@Sendable () -> ProtocolTimestamp` instead.
public enum WallClock {
    /// The current time in milliseconds since 1970, as ``MMMSystem/MMMClock/system`` tells it: the real time when the
    /// process first read it plus the monotonic time since, so a step of this host's clock (an operator's `date -s`,
    /// a hypervisor's resync) neither makes every frame from the monitor look stale to an agent, which would fence a
    /// healthy writer, nor lets old frames look fresh.
    @Sendable
    public static func now() -> ProtocolTimestamp {
        ProtocolTimestamp(millisecondsSince1970: MMMClock.system.wallMilliseconds)
    }
}
