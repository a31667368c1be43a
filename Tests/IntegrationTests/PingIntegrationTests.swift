import MMMCore
import MMMSystem
import MMMTestSupport
import NIOConcurrencyHelpers
import NIOPosix
import Testing

extension IntegrationTests {
    @Suite("ICMP ping check against bench hosts")
    struct PingIntegrationTests {
        @Test(
            "a live host answers; black-holed and absent addresses fail by the deadline without delaying it",
            .enabled(if: Bench.modeFromEnvironment == .netns, "needs the namespace hosts"),
            .timeLimit(.minutes(1)),
            arguments: ["thread pool", "multiplexer"]
        )
        func pingBenchHosts(backend: String) async throws {
            try await Bench.withBench(hosts: 1) { bench in
                let void = try #require(bench.blackHoleIP)
                let pool = NIOThreadPool(numberOfThreads: 40)
                pool.start()
                defer { pool.shutdownGracefully { _ in } }
                let pinger = backend == "multiplexer" ? ICMPPinger(multiplexer: ICMPEchoMultiplexer()) : ICMPPinger(pool: pool)
                let db1 = try bench.host("db1")
                #expect(try await pinger.ping(db1.ip, deadline: .seconds(1)) < .seconds(1))

                let started = ContinuousClock.now
                let error = await #expect(throws: MMMError.self) { _ = try await pinger.ping(void, deadline: .milliseconds(500)) }
                #expect(error?.code == .timedOut)
                #expect(error?.message.contains(void) == true)
                #expect(ContinuousClock.now - started < .seconds(2))

                // 32 pings that hang (black hole, and an address nobody has) next to one to a live host.
                let liveRTT = NIOLockedValueBox<Duration?>(nil)
                let failures = NIOLockedValueBox(0)
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<32 {
                        group.addTask {
                            let target = index % 2 == 0 ? void : "198.18.0.250"
                            if (try? await pinger.ping(target, deadline: .seconds(1))) == nil {
                                failures.withLockedValue { $0 += 1 }
                            }
                        }
                    }
                    group.addTask {
                        let rtt = try? await pinger.ping(db1.ip, deadline: .seconds(1))
                        liveRTT.withLockedValue { $0 = rtt }
                    }
                }
                #expect(failures.withLockedValue { $0 } == 32)
                let rtt = try #require(liveRTT.withLockedValue { $0 }, "the live host must answer while others hang")
                #expect(rtt < .milliseconds(500))
            }
        }
    }
}
