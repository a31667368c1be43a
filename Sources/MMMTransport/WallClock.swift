#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMMProtocol

/// The wall clock that stamps and checks protocol frames.
///
/// `MMMProtocol` never reads a clock; servers and clients read this one, and tests inject their own
/// `@Sendable () -> ProtocolTimestamp` instead.
public enum WallClock {
    /// The current time from `CLOCK_REALTIME`, in milliseconds since 1970.
    @Sendable
    public static func now() -> ProtocolTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return ProtocolTimestamp(millisecondsSince1970: Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000)
    }
}
