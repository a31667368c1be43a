import MMMCore
import Testing

@Suite struct CheckDebouncerTests {
    private static let ok = CheckOutcome.ok(message: "OK")
    private static let fail = CheckOutcome.failed(message: "ERROR: Connect error")
    private static let unknown = CheckOutcome.unknown(message: "UNKNOWN: Too many connections")

    /// Runs probes at the given seconds; returns the reported statuses with their times.
    private func run(_ policy: CheckPolicy, _ probes: [(Int, CheckOutcome)]) -> [(Int, Bool)] {
        var debouncer = CheckDebouncer(policy: policy)
        var reports: [(Int, Bool)] = []
        for (t, outcome) in probes {
            if let report = debouncer.probeCompleted(outcome, at: .seconds(t)) {
                reports.append((t, report.isOK))
            }
        }
        return reports
    }

    @Test func firstResultIsReportedAtOnce() {
        #expect(self.run(CheckPolicy(), [(0, Self.ok)]).map(\.1) == [true])
        #expect(self.run(CheckPolicy(), [(0, Self.fail)]).map(\.1) == [false])
        // MMM's startup pass counts UNKNOWN as failed.
        #expect(self.run(CheckPolicy(), [(0, Self.unknown)]).map(\.1) == [false])
    }

    @Test func failureIsReportedOnlyAfterTrapPeriod() {
        let reports = self.run(
            CheckPolicy(trapPeriod: .seconds(10)),
            [(0, Self.ok), (5, Self.fail), (10, Self.fail), (14, Self.fail), (15, Self.fail), (20, Self.fail)]
        )
        #expect(reports.map(\.0) == [0, 15])
        #expect(reports.map(\.1) == [true, false])
    }

    @Test(arguments: [1, 5, 10, 30])
    func failureShorterThanTrapPeriodIsNeverReported(trap: Int) {
        var probes: [(Int, CheckOutcome)] = [(0, Self.ok)]
        probes += (1..<trap).map { (1000 + $0 - 1, Self.fail) }
        probes.append((1000 + trap, Self.ok))
        let reports = self.run(CheckPolicy(trapPeriod: .seconds(trap)), probes)
        #expect(reports.map(\.1) == [true])
    }

    @Test func okInTheMiddleRestartsTheTrap() {
        let reports = self.run(
            CheckPolicy(trapPeriod: .seconds(10)),
            [(0, Self.ok), (1, Self.fail), (9, Self.ok), (10, Self.fail), (19, Self.fail), (20, Self.fail)]
        )
        #expect(reports.map(\.0) == [0, 20])
    }

    @Test func unknownRestartsTheTrapAndIsNotReported() {
        let reports = self.run(
            CheckPolicy(trapPeriod: .seconds(10)),
            [(0, Self.ok), (1, Self.fail), (9, Self.unknown), (10, Self.fail), (19, Self.fail), (20, Self.fail)]
        )
        #expect(reports.map(\.0) == [0, 20])
        #expect(reports.map(\.1) == [true, false])
    }

    @Test func recoveryIsImmediateWithMMMDefaults() {
        let reports = self.run(CheckPolicy(), [(0, Self.fail), (1, Self.ok), (2, Self.fail), (20, Self.fail), (21, Self.ok)])
        #expect(reports.map(\.0) == [0, 1, 20, 21])
    }

    @Test func recoveryIsDebouncedWhenConfigured() {
        let policy = CheckPolicy(trapPeriod: .seconds(10), recoveryPeriod: .seconds(15))
        let reports = self.run(
            policy,
            [(0, Self.fail), (5, Self.ok), (10, Self.ok), (19, Self.ok), (20, Self.ok), (25, Self.ok)]
        )
        #expect(reports.map(\.0) == [0, 20])
        #expect(reports.map(\.1) == [false, true])
    }

    @Test func aFailureDuringRecoveryRestartsIt() {
        let policy = CheckPolicy(trapPeriod: .seconds(10), recoveryPeriod: .seconds(15))
        let reports = self.run(
            policy,
            [(0, Self.fail), (5, Self.ok), (15, Self.fail), (16, Self.ok), (30, Self.ok), (31, Self.ok)]
        )
        // The failure at 15 is not reported again (still failed); recovery counts from 16.
        #expect(reports.map(\.0) == [0, 31])
    }

    @Test func flappingProbeDoesNotFlapTheReportWithRecoveryDebounce() {
        // A check alternating every 5 s: MMM (no recovery debounce) reports every OK; with 15 s it stays failed.
        var probes: [(Int, CheckOutcome)] = [(0, Self.ok)]
        for i in 0..<20 {
            let base = 10 + i * 20
            probes += [(base, Self.fail), (base + 5, Self.fail), (base + 10, Self.fail), (base + 15, Self.ok)]
        }
        let mmm = self.run(CheckPolicy(trapPeriod: .seconds(10)), probes)
        let debounced = self.run(CheckPolicy(trapPeriod: .seconds(10), recoveryPeriod: .seconds(15)), probes)
        #expect(mmm.count == 41)
        #expect(debounced.map(\.1) == [true, false])
    }

    @Test func repBacklogClassification() {
        #expect(CheckOutcome.repBacklog(secondsBehindMaster: nil, maxBacklog: 60) == .ok(message: "OK: Backlog is null"))
        #expect(CheckOutcome.repBacklog(secondsBehindMaster: 60, maxBacklog: 60) == .ok(message: "OK"))
        #expect(CheckOutcome.repBacklog(secondsBehindMaster: 61, maxBacklog: 60) == .failed(message: "ERROR: Backlog is too big"))
        #expect(CheckPolicy(maxBacklog: 5).repBacklogOutcome(secondsBehindMaster: 6) == .failed(message: "ERROR: Backlog is too big"))
        #expect(CheckPolicy().repBacklogOutcome(secondsBehindMaster: 0) == .ok(message: "OK: Backlog is null"))
    }

    @Test func hostDebouncersKeepChecksApart() {
        var host = HostCheckDebouncers(policies: [.ping: CheckPolicy(trapPeriod: .seconds(2))])
        var status = HostCheckStatus()
        for check in CheckKind.allCases {
            if let report = host.probeCompleted(check, Self.ok, at: .zero) { status.record(report, for: check) }
        }
        #expect(status == {
            var expected = HostCheckStatus.allOK
            for check in CheckKind.allCases {
                expected.messages[check] = "OK"
                expected.lastChanges[check] = .zero
            }
            return expected
        }())
        #expect(host.probeCompleted(.ping, Self.fail, at: .seconds(1)) == nil)
        #expect(host.probeCompleted(.mysql, Self.fail, at: .seconds(1)) == nil)
        #expect(host.probeCompleted(.ping, Self.fail, at: .seconds(3))?.isOK == false)  // 2 s trap
        #expect(host.probeCompleted(.mysql, Self.fail, at: .seconds(3)) == nil)  // default 10 s trap
    }
}
