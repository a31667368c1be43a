import MMMCore
import Testing

@Suite struct FenceLadderTests {
    static let lease = WriterLease.Configuration()
    static let configuration = FenceLadder.Configuration(lease: lease, retryInterval: .milliseconds(250), giveUpAfter: .seconds(60))

    func ladder(candidateCannotReach: Bool = false, canKill: Bool = false) -> FenceLadder {
        FenceLadder(configuration: Self.configuration, candidateCannotReach: candidateCannotReach, canKill: canKill, at: .seconds(10))
    }

    @Test func anAgentThatFencesEndsTheLadder() {
        var ladder = self.ladder()
        #expect(ladder.step == .orderAgent)
        #expect(ladder.agentAnswered(.fenced(readOnly: true), at: .seconds(10)) == .done(.agent(readOnly: true)))
        var down = self.ladder()
        #expect(down.agentAnswered(.fenced(readOnly: false), at: .seconds(10)) == .done(.agent(readOnly: false)))
    }

    @Test func aSilentAgentIsFencedOverSQLThenKilledThenWaitedOut() {
        var ladder = self.ladder(canKill: true)
        #expect(ladder.agentAnswered(.silent, at: .seconds(10)) == .fenceThroughCandidate)
        #expect(ladder.sqlFenceAnswered(false, at: .seconds(11)) == .killHost)
        #expect(ladder.killAnswered(false, at: .seconds(12)) == .wait(until: .seconds(12) + .milliseconds(250)))
        // The lease was last renewed at 9 s: it certainly ran out by 9 + 7.4 s (see WriterLeaseTests).
        let end = ladder.leaseEnd(lastRenewal: .seconds(9))
        #expect(end == .seconds(9) + .milliseconds(7400))
        #expect(ladder.resume(at: .seconds(13), lastRenewal: .seconds(9)) == .orderAgent)
        #expect(ladder.agentAnswered(.silent, at: .seconds(14)) == .fenceThroughCandidate)
        #expect(ladder.sqlFenceAnswered(false, at: .seconds(15)) == .wait(until: .seconds(15) + .milliseconds(250)), "the kill is tried once")
        #expect(ladder.resume(at: end, lastRenewal: .seconds(9)) == .done(.leaseRanOut))
    }

    /// Issue 17: a frozen host accepts the connection and never answers; once it has been silent, no rung waits past
    /// the instant its lease has certainly run out, so a silent host never holds the promotion longer than its lease.
    @Test func aSilentHostsRungsAreBoundedByItsLease() {
        var ladder = self.ladder()
        #expect(ladder.ioBudget(at: .seconds(10), lastRenewal: .seconds(9)) == nil, "not silent yet: the rung takes its own time")
        _ = ladder.agentAnswered(.silent, at: .seconds(13))
        let end = ladder.leaseEnd(lastRenewal: .seconds(9))
        #expect(ladder.ioBudget(at: .seconds(13), lastRenewal: .seconds(9)) == MonitorInstant.seconds(13).duration(to: end))
        #expect(ladder.ioBudget(at: end, lastRenewal: .seconds(9)) == .milliseconds(100), "past the lease's end: a short last try")
        var refusing = self.ladder()
        _ = refusing.agentAnswered(.refused, at: .seconds(13))
        #expect(refusing.ioBudget(at: .seconds(13), lastRenewal: .seconds(9)) == nil, "a refused agent is never waited out")
    }

    @Test func theSQLFenceThroughTheCandidateCounts() {
        var ladder = self.ladder()
        _ = ladder.agentAnswered(.silent, at: .seconds(10))
        #expect(ladder.sqlFenceAnswered(true, at: .seconds(10)) == .done(.sqlThroughCandidate))
    }

    @Test func aCandidateThatCannotReachTheServerSkipsTheSQLFenceOnTheFirstPassOnly() {
        var ladder = self.ladder(candidateCannotReach: true, canKill: true)
        #expect(ladder.agentAnswered(.silent, at: .seconds(10)) == .killHost)
        _ = ladder.killAnswered(false, at: .seconds(10))
        _ = ladder.resume(at: .seconds(11), lastRenewal: .seconds(10))
        #expect(ladder.agentAnswered(.silent, at: .seconds(11)) == .fenceThroughCandidate)
    }

    /// Bench finding 4 and review item "a refused agent is not a fenced host": an agent that refuses connections is
    /// not running, so no lease fences its host; waiting however long never counts as a fence.
    @Test func aRefusingAgentIsNeverWaitedOut() {
        var ladder = self.ladder()
        var now = MonitorInstant.seconds(10)
        var step = ladder.agentAnswered(.refused, at: now)
        var rounds = 0
        while rounds < 10_000 {
            rounds += 1
            switch step {
            case .fenceThroughCandidate:
                step = ladder.sqlFenceAnswered(false, at: now)
            case .wait(let until):
                now = until
                step = ladder.resume(at: now, lastRenewal: .zero)
            case .orderAgent:
                step = ladder.agentAnswered(.refused, at: now)
            case .killHost:
                Issue.record("no kill_host_bin is configured")
                return
            case .done(let how):
                Issue.record("a refusing agent was taken for fenced: \(how)")
                return
            case .stuck(let reason):
                #expect(reason.contains("refuses connections"), "\(reason)")
                #expect(now >= .seconds(70), "it tried for giveUpAfter")
                return
            }
        }
        Issue.record("the ladder never ended")
    }

    /// Review item: an agent that keeps answering "failed" (it hears the monitor, so its lease is no way out) leads to
    /// `kill_host_bin`, and the ladder ends instead of looping forever.
    @Test func anAgentThatKeepsFailingLeadsToTheKillAndToAnEnd() {
        var ladder = self.ladder(canKill: true)
        #expect(ladder.agentAnswered(.failed, at: .seconds(10)) == .killHost)
        #expect(ladder.killAnswered(true, at: .seconds(11)) == .done(.killed))
        var noKill = self.ladder()
        var now = MonitorInstant.seconds(10)
        var step = noKill.agentAnswered(.failed, at: now)
        for _ in 0..<1_000 {
            guard case .wait(let until) = step else { break }
            now = until
            #expect(noKill.resume(at: now, lastRenewal: now) == .orderAgent, "an answering agent renews its lease: never waited out")
            step = noKill.agentAnswered(.failed, at: now)
        }
        guard case .stuck(let reason) = step else {
            Issue.record("expected the ladder to give up, got \(step)")
            return
        }
        #expect(reason.contains("cannot fence"))
    }

    /// Random answers from the agent, the candidate and the kill: the ladder ends as fenced only with a positive
    /// fence or, for an agent whose last answer was silence, after its lease has certainly run out.
    @Test func onlyAPositiveFenceOrARunOutLeaseEndsIt() {
        var random = SplitMix64(seed: 0xF3_4CE)
        for run in 0..<20_000 {
            let canKill = random.next(in: 0...1) == 1
            var ladder = FenceLadder(
                configuration: Self.configuration, candidateCannotReach: random.next(in: 0...1) == 1, canKill: canKill, at: .seconds(10)
            )
            let lastRenewal = MonitorInstant(sinceOrigin: .seconds(random.next(in: 0...12)))
            var now = MonitorInstant.seconds(10)
            var step = FenceLadder.Step.orderAgent
            var lastAgent: FenceLadder.AgentAnswer?
            var positive = false
            for _ in 0..<2_000 {
                switch step {
                case .orderAgent:
                    let answers: [FenceLadder.AgentAnswer] = [.fenced(readOnly: true), .fenced(readOnly: false), .failed, .refused, .silent]
                    // Positive answers are rare, so most runs walk the ladder for a while.
                    let answer = random.next(in: 0...19) == 0 ? answers[random.next(in: 0...1)] : answers[random.next(in: 2...4)]
                    lastAgent = answer
                    if case .fenced = answer { positive = true }
                    step = ladder.agentAnswered(answer, at: now)
                case .fenceThroughCandidate:
                    let succeeded = random.next(in: 0...9) == 0
                    positive = succeeded
                    step = ladder.sqlFenceAnswered(succeeded, at: now)
                case .killHost:
                    #expect(canKill)
                    let succeeded = random.next(in: 0...3) == 0
                    positive = succeeded
                    step = ladder.killAnswered(succeeded, at: now)
                case .wait(let until):
                    #expect(until > now)
                    now = until + .milliseconds(Int64(random.next(in: 0...3_000)))
                    step = ladder.resume(at: now, lastRenewal: lastRenewal)
                case .done(let how):
                    if how == .leaseRanOut {
                        if lastAgent != .silent || now < ladder.leaseEnd(lastRenewal: lastRenewal) {
                            Issue.record("run \(run): waited out a lease that was not certainly over (last answer \(String(describing: lastAgent)))")
                            return
                        }
                    } else if !positive {
                        Issue.record("run \(run): ended as \(how) without a positive fence")
                        return
                    }
                    step = .stuck("ended")
                case .stuck:
                    break
                }
                if case .stuck = step { break }
            }
        }
    }
}
