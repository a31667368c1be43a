import FoundationEssentials
import MMMCore
import MMMSystem
import Synchronization
import Testing

/// A host's two clocks, moved by hand: the monotonic one only forward, the real-time one also stepped.
final class HandClocks: Sendable {
    private let state = Mutex((monotonic: Duration.seconds(100), realtime: Int64(1_800_000_000_000)))

    /// The monotonic source.
    var monotonic: @Sendable () -> Duration { { self.state.withLock { $0.monotonic } } }
    /// The real-time source, in milliseconds since 1970.
    var realtime: @Sendable () -> Int64 { { self.state.withLock { $0.realtime } } }

    /// Time passes: both clocks move on.
    func pass(_ duration: Duration) {
        self.state.withLock {
            $0.monotonic += duration
            $0.realtime += Int64(duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
    }

    /// The real-time clock is stepped (an operator's `date -s`, a hypervisor resync).
    func step(milliseconds: Int64) {
        self.state.withLock { $0.realtime += milliseconds }
    }
}

@Suite struct MMMClockTests {
    @Test("instants count from the clock's creation; the wall time follows the monotonic clock")
    func instantsAndWallTime() {
        let hand = HandClocks()
        let clock = MMMClock(monotonic: hand.monotonic, realtime: hand.realtime)
        #expect(clock.now == .zero)
        #expect(clock.wallMilliseconds == 1_800_000_000_000)
        hand.pass(.milliseconds(2_500))
        #expect(clock.now == MonitorInstant(sinceOrigin: .milliseconds(2_500)))
        #expect(clock.wallMilliseconds == 1_800_000_002_500)
        #expect(clock.date(clock.now).timeIntervalSince1970 == 1_800_000_002.5)
    }

    @Test("a step of the host's real-time clock, either way, moves neither the instants nor the wall time", arguments: [
        Int64(10_000), -10_000, 3_600_000, -86_400_000,
    ])
    func stepsAreIgnored(step: Int64) {
        let hand = HandClocks()
        let clock = MMMClock(monotonic: hand.monotonic, realtime: hand.realtime)
        hand.pass(.seconds(1))
        hand.step(milliseconds: step)
        hand.pass(.seconds(1))
        #expect(clock.now == .seconds(2))
        #expect(clock.wallMilliseconds == 1_800_000_002_000)
        // A clock made after the step (a restarted daemon) takes the stepped time.
        let restarted = MMMClock(monotonic: hand.monotonic, realtime: hand.realtime)
        #expect(restarted.wallMilliseconds == 1_800_000_002_000 + step)
    }

    @Test("the system clock's wall time is the real time within a second, and never goes back", .timeLimit(.minutes(1)))
    func systemClock() async throws {
        let first = MMMClock.system.wallMilliseconds
        #expect(abs(first - MMMClock.realtimeMilliseconds()) < 1_000)
        let before = MMMClock.system.now
        try await MMMClock.system.sleep(until: before + .milliseconds(20))
        #expect(MMMClock.system.now - before >= .milliseconds(20))
        #expect(MMMClock.system.wallMilliseconds >= first + 20)
    }
}
