import MMMCore
import Testing

@testable import MMMMonitor

@Suite struct AgentBackoffTests {
    @Test func theWaitDoublesFromTheBaseUpToTheMaximumAndASuccessStartsOver() {
        let start = MonitorInstant.zero
        var backoff = AgentBackoff(base: .milliseconds(500))
        #expect(backoff.mayTry(at: start) && backoff.wait == .zero)

        var waits: [Duration] = []
        var now = start
        for _ in 0..<7 {
            backoff.failed(at: now)
            waits.append(backoff.wait)
            #expect(!backoff.mayTry(at: now + backoff.wait - .milliseconds(1)))
            now += backoff.wait
            #expect(backoff.mayTry(at: now))
        }
        #expect(waits == [0.5, 1, 2, 2, 2, 2, 2].map { Duration.milliseconds(Int($0 * 1000)) })

        backoff.succeeded()
        #expect(backoff.mayTry(at: now) && backoff.wait == .zero)
        backoff.failed(at: now)
        #expect(backoff.wait == .milliseconds(500))
    }
}
