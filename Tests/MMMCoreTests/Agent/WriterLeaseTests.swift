import MMMCore
import Testing

@Suite struct WriterLeaseTests {
    let configuration = WriterLease.Configuration()

    func holding(renewedAt sentAt: MonitorInstant = .zero) -> WriterLease {
        var lease = WriterLease(configuration: self.configuration)
        lease.monitorMessageReceived(sentAt: sentAt, holdsWriter: true, at: sentAt)
        return lease
    }

    @Test func aRenewedWriterWritesUntilItsLeaseRunsOut() {
        var lease = self.holding()
        #expect(lease.mayWrite)
        #expect(lease.tick(at: .zero + .milliseconds(2900)) == .none)
        #expect(lease.tick(at: .seconds(3)) == .askPeers(deadline: .seconds(3) + .milliseconds(300)))
        #expect(lease.mayWrite, "asking peers takes at most the peer-check deadline")
    }

    @Test func aPeerThatHearsTheMonitorMeansThisWriterIsIsolated() {
        var lease = self.holding()
        _ = lease.tick(at: .seconds(3))
        #expect(lease.peersAnswered([.lostMonitor, .hearsMonitor], at: .seconds(3)) == .fence(.peerHearsMonitor))
        #expect(!lease.mayWrite)
        #expect(lease.state == .fenced)
    }

    @Test func aSilentPeerMeansFenceBecauseItMayBeOnTheMonitorsSide() {
        var lease = self.holding()
        _ = lease.tick(at: .seconds(3))
        #expect(lease.peersAnswered([.lostMonitor, .noAnswer], at: .seconds(3)) == .fence(.peersSilent))
        var alone = self.holding()
        _ = alone.tick(at: .seconds(3))
        #expect(alone.peersAnswered([], at: .seconds(3)) == .fence(.peersSilent), "no peers: nobody vouches")
    }

    @Test func noAnswerByTheDeadlineFences() {
        var lease = self.holding()
        _ = lease.tick(at: .seconds(3))
        #expect(lease.tick(at: .seconds(3) + .milliseconds(300)) == .fence(.peerCheckTimedOut))
        var late = self.holding()
        _ = late.tick(at: .seconds(3))
        #expect(late.peersAnswered([.lostMonitor], at: .seconds(4)) == .fence(.peerCheckTimedOut))
    }

    @Test func whenEveryPeerLostTheMonitorTooTheWriterKeepsWritingAndAsksAgain() {
        var lease = self.holding()
        _ = lease.tick(at: .seconds(3))
        #expect(lease.peersAnswered([.lostMonitor, .lostMonitor], at: .seconds(3)) == .keepWriting)
        #expect(lease.mayWrite)
        #expect(lease.tick(at: .seconds(3) + .milliseconds(900)) == .none)
        #expect(lease.tick(at: .seconds(4)) == .askPeers(deadline: .seconds(4) + .milliseconds(300)))
        #expect(lease.peersAnswered([.hearsMonitor, .lostMonitor], at: .seconds(4)) == .fence(.peerHearsMonitor))
    }

    @Test func aStaleMessageRenewsNothingButAFreshOneDoes() {
        var lease = self.holding()
        _ = lease.tick(at: .seconds(3))
        _ = lease.peersAnswered([.hearsMonitor], at: .seconds(3))
        // Sent at t=0 but delivered at t=5: its lease ended at t=3.
        lease.monitorMessageReceived(sentAt: .zero, holdsWriter: true, at: .seconds(5))
        #expect(lease.state == .fenced)
        lease.monitorMessageReceived(sentAt: .seconds(5), holdsWriter: true, at: .seconds(5))
        #expect(lease.state == .holding(validUntil: .seconds(8)))
        lease.monitorMessageReceived(sentAt: .seconds(6), holdsWriter: false, at: .seconds(6))
        #expect(lease.state == .notWriter && !lease.mayWrite)
        #expect(lease.tick(at: .seconds(100)) == .none)
    }

    @Test func answersToPeers() {
        #expect(WriterLease.answer(lastHeard: .seconds(1), timeout: .seconds(3), at: .seconds(3)) == .hearsMonitor)
        #expect(WriterLease.answer(lastHeard: .seconds(1), timeout: .seconds(3), at: .seconds(4)) == .lostMonitor)
        #expect(WriterLease.answer(lastHeard: nil, timeout: .seconds(3), at: .seconds(4)) == .lostMonitor)
    }

    @Test func theMonitorWaitsForTheLeaseAndTheFencingToEnd() {
        let promotion = self.configuration.earliestPromotion(
            lastSentToOldWriter: .seconds(10), candidateAcknowledgedAt: .seconds(11)
        )
        // 10 + 3 (timeout) + 1.5 (frame age and skew) + 0.1 (tick) + 1 (recheck) + 0.3 (peer check) + 1.5 (fence)
        #expect(promotion == .seconds(10) + .milliseconds(7400))
        let lateCandidate = self.configuration.earliestPromotion(
            lastSentToOldWriter: .seconds(10), candidateAcknowledgedAt: .seconds(20)
        )
        #expect(lateCandidate == .seconds(20) + .milliseconds(2900))
    }

    /// Invariant 1 under a partition: whatever the delays, losses, clock skew and peer answers, when the monitor's
    /// rule allows promoting the candidate, the old writer has already fenced itself (real time).
    @Test func theOldWriterIsFencedBeforeTheMonitorMayPromote() {
        var random = SplitMix64(seed: 0x5EED_1EA5E)
        let tick = self.configuration.tickInterval
        var fencedRuns = 0
        for run in 0..<10_000 {
            let seed = random.state
            // Real time in ms. The monitor renews every 200–1000 ms until the partition.
            let partition = Int64(random.next(in: 2_000...20_000))
            var sends: [Int64] = []
            var time: Int64 = 0
            while time < partition {
                sends.append(time)
                time += Int64(random.next(in: 200...1_000))
            }
            let skew = Int64(random.next(in: 0...3000)) - 1500  // agent clock = real + skew
            let candidateHearsFrom = partition + Int64(random.next(in: 0...8_000))  // monitor reaches the candidate
            let candidateAck = candidateHearsFrom + Int64(random.next(in: 0...50))
            let otherPeerAnswers = random.next(in: 0...2)  // 0: lost, 1: silent, 2: lost until candidate hears
            // The partition may also cut the old writer off from the candidate, which then never answers.
            let candidateReachable = random.next(in: 0...3) > 0
            var deliveries: [(at: Int64, sentAt: Int64)] = []
            for sent in sends where random.next(in: 0...9) > 0 {  // 10 % lost
                // The agent renews from the moment of receipt; its replay window refuses frames older than 1 s, and
                // clocks differ by up to 0.5 s: a renewal arrives at most 1.5 s (maximumClockSkew) after sending.
                deliveries.append((at: sent + Int64(random.next(in: 0...1_500)), sentAt: sent))
            }
            deliveries.sort { $0.at < $1.at }
            let lastSent = sends.last!
            let promotion = self.configuration.earliestPromotion(
                lastSentToOldWriter: MonitorInstant(sinceOrigin: .milliseconds(lastSent)),
                candidateAcknowledgedAt: MonitorInstant(sinceOrigin: .milliseconds(candidateAck))
            )
            let promotionAt = promotion.sinceOrigin.milliseconds

            var lease = WriterLease(configuration: self.configuration)
            lease.monitorMessageReceived(sentAt: .zero, holdsWriter: true, at: .zero)
            func agentClock(_ real: Int64) -> MonitorInstant {
                MonitorInstant(sinceOrigin: .milliseconds(real + skew))
            }
            var nextDelivery = 0
            var pendingAnswersAt: Int64?
            var fencedAt: Int64?
            var now: Int64 = 0
            let tickMS = tick.milliseconds
            while now <= promotionAt + 1_000, fencedAt == nil {
                while nextDelivery < deliveries.count, deliveries[nextDelivery].at <= now {
                    let delivery = deliveries[nextDelivery]
                    _ = delivery.sentAt
                    lease.monitorMessageReceived(sentAt: agentClock(now), holdsWriter: true, at: agentClock(now))
                    nextDelivery += 1
                }
                if let answerAt = pendingAnswersAt, now >= answerAt {
                    pendingAnswersAt = nil
                    let candidate: WriterLease.PeerAnswer =
                        !candidateReachable ? .noAnswer : (now >= candidateHearsFrom ? .hearsMonitor : .lostMonitor)
                    let other: WriterLease.PeerAnswer =
                        otherPeerAnswers == 1 ? .noAnswer : (otherPeerAnswers == 2 && now >= candidateHearsFrom ? .hearsMonitor : .lostMonitor)
                    if case .fence = lease.peersAnswered([candidate, other], at: agentClock(now)) { fencedAt = now }
                }
                switch lease.tick(at: agentClock(now)) {
                case .askPeers:
                    pendingAnswersAt = now + Int64(random.next(in: 0...350))  // sometimes past the deadline
                case .fence:
                    fencedAt = now
                case .none:
                    break
                }
                now += tickMS
            }
            guard let fencedAt else {
                Issue.record("run \(run) (seed \(seed)): never fenced; promotion at \(promotionAt) ms")
                return
            }
            // Fencing itself takes up to fenceDeadline after the decision.
            let fencedBy = fencedAt + self.configuration.fenceDeadline.milliseconds
            if fencedBy > promotionAt {
                Issue.record("run \(run) (seed \(seed)): fenced by \(fencedBy) ms but promotion allowed at \(promotionAt) ms")
                return
            }
            fencedRuns += 1
        }
        #expect(fencedRuns == 10_000)
    }
}

extension SplitMix64 {
    /// A uniform integer in `range`.
    mutating func next(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}

extension Duration {
    /// Whole milliseconds (the property test's time unit).
    var milliseconds: Int64 { self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000 }
}
