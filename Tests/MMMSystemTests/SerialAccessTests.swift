import MMMSystem
import Synchronization
import Testing

@Suite("SerialAccess")
struct SerialAccessTests {
    @Test("bodies run one at a time, in arrival order")
    func serializes() async throws {
        let access = SerialAccess()
        let log = LockedLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await access.run {
                        log.enter(index)
                        try await Task.sleep(for: .milliseconds(2))
                        log.leave(index)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(log.maximumConcurrent == 1)
        #expect(log.entered.count == 20)
    }
}

/// Records entries and exits of concurrent bodies.
final class LockedLog: Sendable {
    private let state = Mutex<(inside: Int, maximum: Int, entered: [Int])>((0, 0, []))

    func enter(_ index: Int) {
        self.state.withLock {
            $0.inside += 1
            $0.maximum = max($0.maximum, $0.inside)
            $0.entered.append(index)
        }
    }

    func leave(_ index: Int) {
        self.state.withLock { $0.inside -= 1 }
    }

    var maximumConcurrent: Int { self.state.withLock { $0.maximum } }
    var entered: [Int] { self.state.withLock { $0.entered } }
}
