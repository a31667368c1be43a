#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MMMCore

/// The one clock the daemons read: monotonic instants for every deadline and lease, and a wall-clock time that a
/// clock step does not move.
///
/// The monitor and the agent never read `ContinuousClock`, `Date()` or `CLOCK_REALTIME` themselves; they are handed an
/// `MMMClock` (``system`` in the executables, one built on closures in tests, which can step or stall it).
///
/// **Wall time without steps.** ``wallMilliseconds`` is the real time read once, when the clock is made, plus the
/// monotonic time since. NTP's slewing moves the monotonic clock too, so it stays right; a *step* (an operator's
/// `date -s`, a hypervisor resync, `chronyd` making a step) does not move it. Protocol frames are stamped and checked
/// with this time, so a step on one host no longer makes every frame look stale or from the future to its agent,
/// which would fence a healthy writer with no failover following. The cost: a host whose clock was wrong when the
/// daemon started stays that wrong until the daemon restarts (the frames' window check says so in the log).
public struct MMMClock: Sendable {
    private let monotonic: @Sendable () -> Duration
    private let origin: Duration
    private let wallOrigin: Int64

    /// A clock on two sources.
    ///
    /// - Parameters:
    ///   - monotonic: time since any fixed point that never steps back (the system clock uses `CLOCK_BOOTTIME`,
    ///     which also counts a suspended machine's sleep).
    ///   - realtime: milliseconds since 1970, read once here.
    public init(monotonic: @escaping @Sendable () -> Duration, realtime: @Sendable () -> Int64) {
        self.monotonic = monotonic
        self.origin = monotonic()
        self.wallOrigin = realtime()
    }

    /// The operating system's clocks, anchored when first used.
    public static let system = MMMClock(
        monotonic: { ContinuousClock.now - MMMClock.processAnchor },
        realtime: MMMClock.realtimeMilliseconds
    )

    private static let processAnchor = ContinuousClock.now

    /// `CLOCK_REALTIME` in milliseconds since 1970: only ever read to anchor a clock.
    @Sendable
    public static func realtimeMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// Now, as time since this clock was made.
    public var now: MonitorInstant { MonitorInstant(sinceOrigin: self.monotonic() - self.origin) }

    /// Milliseconds since 1970 now, moved only by the monotonic clock since the anchor (see the type's notes).
    public var wallMilliseconds: Int64 { self.wallMilliseconds(at: self.now) }

    /// The wall-clock milliseconds of `instant`.
    public func wallMilliseconds(at instant: MonitorInstant) -> Int64 {
        let (seconds, attoseconds) = instant.sinceOrigin.components
        return self.wallOrigin + seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    /// The wall-clock date of `instant` (for reports and `checks`).
    public func date(_ instant: MonitorInstant) -> Date {
        Date(timeIntervalSince1970: Double(self.wallMilliseconds(at: instant)) / 1_000)
    }

    /// Sleeps until `instant` on this clock (at once if it has passed).
    public func sleep(until instant: MonitorInstant) async throws {
        let left = self.now.duration(to: instant)
        if left > .zero { try await Task.sleep(for: left) }
    }
}
