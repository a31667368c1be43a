import MMMCore
import MMMTestSupport
import MMMSystem
import Testing

@testable import MMMAgent

/// The VIP provider with the real `ip` and `arping`, in an isolated network of `mmmv-*` namespaces (``TestNetwork``)
/// that each test builds and always removes.
@Suite(
    "VIP endpoint provider in network namespaces",
    .serialized,
    .enabled(if: namespaceTestsEnabled, "needs root and MMM_TEST_MARIADB=1")
)
struct VIPEndpointNamespaceTests {
    let vip = TestNetwork.vip

    func provider(
        on namespace: String,
        _ runner: CommandRunner,
        announcements: VIPEndpointConfiguration.Announcements = .init()
    ) throws -> VIPEndpointProvider {
        try VIPEndpointProvider(
            configuration: VIPEndpointConfiguration(
                interface: TestNetwork.interface,
                networkNamespace: namespace,
                announcements: announcements
            ),
            runner: runner,
            logger: quietLogger
        )
    }

    @Test("acquire adds the VIP as a /32, is idempotent, and release removes it (also idempotent)")
    func acquireAndRelease() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { network in
                let h1 = try self.provider(on: TestNetwork.h1, runner)
                try await withRunning([h1]) {
                    #expect(try await h1.holds(role: "writer", ip: self.vip, deadline: .seconds(5)) == false)
                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.addresses(in: TestNetwork.h1) == ["198.18.0.10/24", "198.18.0.100/32"])
                    #expect(try await h1.holds(role: "writer", ip: self.vip, deadline: .seconds(5)))
                    #expect(try await h1.heldAddresses(deadline: .seconds(5)) == ["198.18.0.10", "198.18.0.100"])

                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.addresses(in: TestNetwork.h1) == ["198.18.0.10/24", "198.18.0.100/32"])

                    // The client reaches the VIP on h1.
                    #expect(try await network.clientPings(self.vip))

                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.addresses(in: TestNetwork.h1) == ["198.18.0.10/24"])
                    #expect(try await h1.holds(role: "writer", ip: self.vip, deadline: .seconds(5)) == false)
                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.addresses(in: TestNetwork.h1) == ["198.18.0.10/24"])
                }
            }
        }
    }

    @Test("after a move h1 -> h2 the client's neighbour table has h2's MAC, from the gratuitous ARP alone")
    func moveAnnounced() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { network in
                let h1 = try self.provider(on: TestNetwork.h1, runner)
                let h2 = try self.provider(on: TestNetwork.h2, runner)
                let mac1 = try await network.mac(of: TestNetwork.h1)
                let mac2 = try await network.mac(of: TestNetwork.h2)
                try await withRunning([h1, h2]) {
                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.clientPings(self.vip))
                    #expect(try await network.clientNeighbourMAC(for: self.vip) == mac1)

                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                    let started = ContinuousClock.now
                    try await h2.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    let acquired = ContinuousClock.now - started
                    // No traffic from the client in between: only h2's announcement can change its entry.
                    let updated = try await eventually(timeout: .seconds(2)) {
                        try await network.clientNeighbourMAC(for: self.vip) == mac2
                    }
                    let seen = ContinuousClock.now - started
                    #expect(updated)
                    #expect(try await network.clientPings(self.vip))
                    print(
                        "vip move h1 -> h2: acquire returned after \(milliseconds(acquired)) ms; client had h2's MAC after \(milliseconds(seen)) ms"
                    )
                }
            }
        }
    }

    @Test("control: without announcements the client keeps h1's MAC after the move")
    func moveUnannounced() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { network in
                let h1 = try self.provider(on: TestNetwork.h1, runner)
                let h2 = try self.provider(on: TestNetwork.h2, runner, announcements: .init(count: 0))
                let mac1 = try await network.mac(of: TestNetwork.h1)
                try await withRunning([h1, h2]) {
                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.clientPings(self.vip))
                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                    try await h2.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    try await Task.sleep(for: .seconds(1))
                    #expect(try await network.clientNeighbourMAC(for: self.vip) == mac1)
                }
            }
        }
    }

    @Test("acquire on h2 is refused while h1 holds the VIP, naming the VIP, the interface and h1's MAC")
    func duplicateRefused() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { network in
                let h1 = try self.provider(on: TestNetwork.h1, runner)
                let h2 = try self.provider(on: TestNetwork.h2, runner)
                let mac1 = try await network.mac(of: TestNetwork.h1)
                try await withRunning([h1, h2]) {
                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    let error = await #expect(throws: MMMError.self) {
                        try await h2.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    }
                    #expect(error?.code == .commandFailed)
                    #expect(
                        error?.message
                            == "refusing to take \(self.vip) on eth0: another host answers for it from MAC \(mac1); release it there first"
                    )
                    #expect(try await network.addresses(in: TestNetwork.h2) == ["198.18.0.11/24"])

                    // Once h1 lets go, h2 may take it: the refusal was about h1.
                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                    try await h2.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.addresses(in: TestNetwork.h2) == ["198.18.0.11/24", "198.18.0.100/32"])
                }
            }
        }
    }

    @Test("release stops h1's pending announcements, so they cannot pull the client back after a move")
    func releaseStopsAnnouncements() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { network in
                // h1 would announce for 1.2 s; the move happens right after its first announcement.
                let h1 = try self.provider(on: TestNetwork.h1, runner, announcements: .init(count: 7, interval: .milliseconds(200)))
                let h2 = try self.provider(on: TestNetwork.h2, runner, announcements: .init(count: 1))
                let mac2 = try await network.mac(of: TestNetwork.h2)
                try await withRunning([h1, h2]) {
                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                    try await h2.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    #expect(try await network.clientPings(self.vip))
                    let moved = try await eventually(timeout: .seconds(2)) {
                        try await network.clientNeighbourMAC(for: self.vip) == mac2
                    }
                    #expect(moved)
                    // Longer than h1's whole announcement schedule.
                    try await Task.sleep(for: .milliseconds(1500))
                    #expect(try await network.clientNeighbourMAC(for: self.vip) == mac2)
                }
            }
        }
    }

    @Test("a missing interface is a commandFailed error naming it")
    func missingInterface() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { _ in
                let provider = try VIPEndpointProvider(
                    configuration: VIPEndpointConfiguration(interface: "mmmv-none", networkNamespace: TestNetwork.h1),
                    runner: runner,
                    logger: quietLogger
                )
                let error = await #expect(throws: MMMError.self) {
                    try await provider.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                }
                #expect(error?.code == .commandFailed)
                #expect(error?.message.contains("mmmv-none") == true)
            }
        }
    }

    @Test("measure: acquire with announcements in the background versus inline (printed, not asserted)")
    func measureAcquire() async throws {
        try await withRunner { runner in
            try await TestNetwork.with(runner: runner) { network in
                let h1 = try self.provider(on: TestNetwork.h1, runner)
                var background: [Double] = []
                var releases: [Double] = []
                try await withRunning([h1]) {
                    for _ in 0..<5 {
                        let started = ContinuousClock.now
                        try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                        background.append(milliseconds(ContinuousClock.now - started))
                        let releaseStarted = ContinuousClock.now
                        try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                        releases.append(milliseconds(ContinuousClock.now - releaseStarted))
                    }
                }
                // run() has ended: the announcements are now sent inline, as before the fix.
                var inline: [Double] = []
                for _ in 0..<3 {
                    let started = ContinuousClock.now
                    try await h1.acquire(role: "writer", ip: self.vip, deadline: .seconds(5))
                    inline.append(milliseconds(ContinuousClock.now - started))
                    try await h1.release(role: "writer", ip: self.vip, deadline: .seconds(5))
                }
                #expect(background.count == 5 && inline.count == 3)
                #expect(try await network.addresses(in: TestNetwork.h1) == ["198.18.0.10/24"])
                func summary(_ values: [Double]) -> String {
                    let sorted = values.sorted()
                    return "min \(Int(sorted.first!)) ms, median \(Int(sorted[sorted.count / 2])) ms, max \(Int(sorted.last!)) ms"
                }
                print("vip acquire, announcements in background (namespace, includes 300 ms duplicate check): \(summary(background))")
                print("vip acquire, 3 announcements inline 100 ms apart: \(summary(inline))")
                print("vip release: \(summary(releases))")
            }
        }
    }
}
