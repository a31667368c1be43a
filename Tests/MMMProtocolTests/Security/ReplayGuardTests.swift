import Testing

@testable import MMMProtocol

@Suite struct ReplayGuardTests {
    private let now = ProtocolFixtures.now

    private func at(_ offset: Int64) -> ProtocolTimestamp {
        ProtocolTimestamp(millisecondsSince1970: self.now.millisecondsSince1970 + offset)
    }

    private func reason(_ body: () throws(ProtocolRejection) -> Void) -> ProtocolRejection.Reason? {
        do {
            try body()
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func sameFrameTwiceIsAReplay() throws {
        var guardian = ReplayGuard()
        let frame = try ProtocolFixtures.codec.decodeFrame(from: try ProtocolFixtures.encoded(.agentRequest(.ping)))
        try guardian.admit(frame.header, now: self.now)
        #expect(reason { () throws(ProtocolRejection) in try guardian.admit(frame.header, now: self.now) } == .replayed)
        #expect(
            reason { () throws(ProtocolRejection) in try guardian.admit(frame.header, now: self.at(5_000)) }
                == .replayed
        )
    }

    @Test func olderCounterWithTheSameTimestampIsAReplay() throws {
        var guardian = ReplayGuard()
        try guardian.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(10), now: self.now)
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(9), now: self.now)
            } == .replayed
        )
        try guardian.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(11), now: self.now)
    }

    @Test func olderTimestampIsAReplayEvenWithAHigherCounter() throws {
        var guardian = ReplayGuard()
        try guardian.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(10, atOffset: 100), now: self.now)
        let older = ProtocolFixtures.stamp(500, atOffset: 99)
        #expect(
            reason { () throws(ProtocolRejection) in try guardian.admit(sender: "monitor", stamp: older, now: self.now)
            } == .replayed
        )
    }

    @Test(arguments: [Int64(-30_001), -86_400_000, Int64.min / 2])
    func farPastTimestampIsStale(offset: Int64) {
        var guardian = ReplayGuard()
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(1, atOffset: offset), now: self.now)
            } == .stale
        )
        #expect(guardian.lastAccepted.isEmpty)
    }

    @Test(arguments: [Int64(30_001), 86_400_000, Int64.max / 2])
    func farFutureTimestampIsRejected(offset: Int64) {
        var guardian = ReplayGuard()
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(1, atOffset: offset), now: self.now)
            } == .fromTheFuture
        )
        #expect(guardian.lastAccepted.isEmpty)
    }

    @Test func extremeTimestampsDoNotOverflow() {
        var guardian = ReplayGuard()
        let minStamp = FrameStamp(timestamp: ProtocolTimestamp(millisecondsSince1970: .min), counter: 1)
        let maxStamp = FrameStamp(timestamp: ProtocolTimestamp(millisecondsSince1970: .max), counter: 1)
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "a", stamp: minStamp, now: ProtocolTimestamp(millisecondsSince1970: .max))
            } == .stale
        )
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "a", stamp: maxStamp, now: ProtocolTimestamp(millisecondsSince1970: .min))
            } == .fromTheFuture
        )
    }

    @Test func timestampsAtTheEdgeOfTheWindowAreAccepted() throws {
        var guardian = ReplayGuard(window: .seconds(30))
        try guardian.admit(sender: "a", stamp: ProtocolFixtures.stamp(1, atOffset: -30_000), now: self.now)
        try guardian.admit(sender: "b", stamp: ProtocolFixtures.stamp(1, atOffset: 30_000), now: self.now)
    }

    @Test func restartedMonitorIsAcceptedBecauseItsTimestampIsLater() throws {
        var guardian = ReplayGuard()
        var monitor = FrameSequencer()
        for offset in stride(from: Int64(0), to: 3_000, by: 1_000) {
            try guardian.admit(sender: "monitor", stamp: monitor.next(now: self.at(offset)), now: self.at(offset))
        }
        #expect(guardian.lastAccepted["monitor"]?.counter == 3)

        // The monitor restarts: a fresh sequencer starts its counter at 1 again, 1.5 s later.
        var restarted = FrameSequencer()
        let first = restarted.next(now: self.at(3_500))
        #expect(first.counter == 1)
        try guardian.admit(sender: "monitor", stamp: first, now: self.at(3_500))
        try guardian.admit(sender: "monitor", stamp: restarted.next(now: self.at(3_500)), now: self.at(3_600))
        #expect(guardian.lastAccepted["monitor"] == FrameStamp(timestamp: self.at(3_500), counter: 2))
    }

    @Test func restartedMonitorWhoseClockSteppedBackIsRefusedUntilItCatchesUp() throws {
        var guardian = ReplayGuard()
        try guardian.admit(
            sender: "monitor",
            stamp: FrameStamp(timestamp: self.at(10_000), counter: 50),
            now: self.at(10_000)
        )
        var restarted = FrameSequencer()
        let early = restarted.next(now: self.at(8_000))
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "monitor", stamp: early, now: self.at(10_500))
            } == .replayed
        )
        try guardian.admit(sender: "monitor", stamp: restarted.next(now: self.at(10_001)), now: self.at(10_600))
    }

    @Test func capturedFrameCannotBeReplayedToARestartedReceiver() throws {
        let captured = ProtocolFixtures.stamp(7, atOffset: -1_000)
        var restartedAgent = ReplayGuard(notBefore: self.now)
        #expect(
            reason { () throws(ProtocolRejection) in
                try restartedAgent.admit(sender: "monitor", stamp: captured, now: self.now)
            } == .stale
        )
        try restartedAgent.admit(sender: "monitor", stamp: ProtocolFixtures.stamp(1, atOffset: 10), now: self.at(10))
    }

    @Test func sendersAreTrackedIndependently() throws {
        var guardian = ReplayGuard()
        try guardian.admit(sender: "db1", stamp: ProtocolFixtures.stamp(5), now: self.now)
        try guardian.admit(sender: "db2", stamp: ProtocolFixtures.stamp(1), now: self.now)
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "db2", stamp: ProtocolFixtures.stamp(1), now: self.now)
            } == .replayed
        )
    }

    @Test func rejectedFramesAreNotRecorded() throws {
        var guardian = ReplayGuard()
        _ = reason { () throws(ProtocolRejection) in
            try guardian.admit(sender: "db1", stamp: ProtocolFixtures.stamp(100, atOffset: 60_000), now: self.now)
        }
        try guardian.admit(sender: "db1", stamp: ProtocolFixtures.stamp(1), now: self.now)
    }

    @Test func inactiveSendersAreForgottenOnlyWhenReplaysOfThemAreStale() throws {
        var guardian = ReplayGuard(window: .seconds(30), maximumSenders: 2)
        try guardian.admit(sender: "old", stamp: ProtocolFixtures.stamp(1), now: self.now)
        try guardian.admit(sender: "recent", stamp: ProtocolFixtures.stamp(1, atOffset: 20_000), now: self.at(20_000))
        // A third sender while both are within the window: refused rather than forgetting a live record.
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(
                    sender: "new",
                    stamp: ProtocolFixtures.stamp(1, atOffset: 25_000),
                    now: self.at(25_000)
                )
            } == .replayed
        )
        // 31 s on, "old" has aged out of the window and makes room; replaying it is stale anyway.
        try guardian.admit(sender: "new", stamp: ProtocolFixtures.stamp(1, atOffset: 31_000), now: self.at(31_000))
        #expect(guardian.lastAccepted["old"] == nil)
        #expect(
            reason { () throws(ProtocolRejection) in
                try guardian.admit(sender: "old", stamp: ProtocolFixtures.stamp(1), now: self.at(31_000))
            } == .stale
        )
    }

    @Test func sequencerNeverGoesBackwardsWhenTheClockDoes() {
        var sequencer = FrameSequencer()
        let first = sequencer.next(now: self.at(1_000))
        let second = sequencer.next(now: self.at(500))
        let third = sequencer.next(now: self.at(2_000))
        #expect(first < second)
        #expect(second < third)
        #expect(second.timestamp == self.at(1_000))
        #expect([first.counter, second.counter, third.counter] == [1, 2, 3])
    }

    @Test func sequencedFramesFromOneSenderAreAllAccepted() throws {
        var guardian = ReplayGuard()
        var sequencer = FrameSequencer()
        for step in 0..<1_000 {
            let clock = self.at(Int64(step % 7) * 3)
            try guardian.admit(sender: "monitor", stamp: sequencer.next(now: clock), now: clock)
        }
    }
}
