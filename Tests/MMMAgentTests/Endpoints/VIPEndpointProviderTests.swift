import Foundation
import MMMCore
import MMMTestSupport
import MMMSystem
import Testing

@testable import MMMAgent

/// The VIP provider's decisions against stand-in `ip` and `arping` scripts that log every call: no root needed.
///
/// The stand-ins answer from files in their directory: `held` (what `addr show` prints), `add.status` and
/// `del.status` (exit status of `addr add`/`addr del`), `arping.out` and `arping.status` (the duplicate check).
@Suite("VIP endpoint provider with stand-in tools")
struct VIPEndpointProviderTests {
    static let fakeIP = """
        #!/bin/sh
        d="${0%/*}"
        printf '%s\\n' "ip $*" >> "$d/commands.log"
        case "$*" in
            *"addr show"*) if [ -f "$d/held" ]; then cat "$d/held"; fi; exit 0 ;;
            *"addr add"*) if [ -f "$d/add.status" ]; then echo 'RTNETLINK answers: Operation not permitted'; exit "$(cat "$d/add.status")"; fi ;;
            *"addr del"*) if [ -f "$d/del.status" ]; then echo 'RTNETLINK answers: Cannot assign requested address'; exit "$(cat "$d/del.status")"; fi ;;
        esac
        exit 0
        """

    static let fakeArping = """
        #!/bin/sh
        d="${0%/*}"
        printf '%s\\n' "arping $*" >> "$d/commands.log"
        case "$*" in
            *-U*) exit 1 ;;
        esac
        if [ -f "$d/arping.out" ]; then cat "$d/arping.out"; fi
        if [ -f "$d/arping.status" ]; then exit "$(cat "$d/arping.status")"; fi
        exit 1
        """

    struct Tools {
        let directory: String

        func set(_ file: String, _ text: String) throws {
            try text.write(toFile: self.directory + "/" + file, atomically: true, encoding: .utf8)
        }

        func commands() throws -> [String] {
            let path = self.directory + "/commands.log"
            guard FileManager.default.fileExists(atPath: path) else { return [] }
            return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }

    func withProvider(_ body: (VIPEndpointProvider, Tools) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            try writeScript(directory + "/ip", Self.fakeIP)
            try writeScript(directory + "/arping", Self.fakeArping)
            try await withRunner { runner in
                let provider = try VIPEndpointProvider(
                    configuration: VIPEndpointConfiguration(
                        interface: "eth0",
                        ipPath: directory + "/ip",
                        arpingPath: directory + "/arping",
                        announcements: .init(count: 2, interval: .milliseconds(10))
                    ),
                    runner: runner,
                    logger: quietLogger
                )
                try await body(provider, Tools(directory: directory))
            }
        }
    }

    static let held = "2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever\n"

    @Test("a bad role or IP is refused before any command runs", arguments: [
        ("writer", "198.18.0.100/24"), ("writer", "198.18.0.100; ip link del eth0"), ("writer", "$(reboot)"),
        ("writer", "-h"), ("writer", "127.0.0.1"), ("writer", "198.018.0.1"), ("writer w", "198.18.0.100"),
        ("", "198.18.0.100"), ("writer`id`", "198.18.0.100"),
    ])
    func refusesBeforeRunning(_ role: String, _ ip: String) async throws {
        try await self.withProvider { provider, tools in
            for call in 0..<3 {
                let error = await #expect(throws: MMMError.self) {
                    switch call {
                    case 0: try await provider.acquire(role: role, ip: ip, deadline: .seconds(5))
                    case 1: try await provider.release(role: role, ip: ip, deadline: .seconds(5))
                    default: _ = try await provider.holds(role: role, ip: ip, deadline: .seconds(5))
                    }
                }
                #expect(error?.code == .invalidArgument)
            }
            if (try? EndpointArguments.validateIPv4(ip)) == nil {
                let error = await #expect(throws: MMMError.self) { try await provider.announce(ip: ip, deadline: .seconds(5)) }
                #expect(error?.code == .invalidArgument)
            }
            let before = try tools.commands()
            #expect(before == [])
            // Control: a valid call does reach the stand-in, so the empty log above means something.
            let held = try await provider.holds(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            #expect(held == false)
            let after = try tools.commands()
            #expect(after == ["ip -o -4 addr show dev eth0"])
        }
    }

    @Test("a bad interface is refused when the provider is created")
    func refusesInterface() async throws {
        try await withRunner { runner in
            let error = #expect(throws: MMMError.self) {
                try VIPEndpointProvider(
                    configuration: VIPEndpointConfiguration(interface: "eth0 up; reboot"),
                    runner: runner,
                    logger: quietLogger
                )
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("acquire of a free IP: read, duplicate check, add, then the announcements")
    func acquireSequence() async throws {
        try await self.withProvider { provider, tools in
            // run() is not running here, so the announcements are sent inline and are in the log on return.
            try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            #expect(
                try tools.commands() == [
                    "ip -o -4 addr show dev eth0",
                    "arping -0 -r -C 1 -c 2 -W 0.1 -w 0.3 -i eth0 198.18.0.100",
                    "ip addr add 198.18.0.100/32 dev eth0",
                    "arping -q -U -S 198.18.0.100 -c 1 -w 0 -i eth0 198.18.0.100",
                    "arping -q -U -S 198.18.0.100 -c 1 -w 0 -i eth0 198.18.0.100",
                ]
            )
        }
    }

    @Test("acquire of an IP the interface already has only reads the interface")
    func acquireHeld() async throws {
        try await self.withProvider { provider, tools in
            try tools.set("held", Self.held)
            try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            #expect(try tools.commands() == ["ip -o -4 addr show dev eth0"])
            #expect(try await provider.holds(role: "writer", ip: "198.18.0.100", deadline: .seconds(5)))
        }
    }

    @Test("which role IPs are held is read with one ip command, however many role IPs there are")
    func heldIPsInOneRead() async throws {
        try await self.withProvider { provider, tools in
            try tools.set("held", Self.held)
            let roleIPs = [
                RoleIP(role: "writer", ip: "198.18.0.100"), RoleIP(role: "reader", ip: "198.18.0.101"),
                RoleIP(role: "reader", ip: "198.18.0.102"),
            ]
            #expect(try await provider.heldIPs(among: roleIPs, deadline: .seconds(5)) == ["198.18.0.100"])
            #expect(try tools.commands() == ["ip -o -4 addr show dev eth0"])
            await #expect(throws: MMMError.self) {
                _ = try await provider.heldIPs(among: [RoleIP(role: "reader", ip: "1.2.3.4; reboot")], deadline: .seconds(5))
            }
            #expect(try tools.commands().count == 1, "a bad IP reaches no command")
        }
    }

    @Test("another host answering refuses the acquire, naming IP, interface and MAC, and adds nothing")
    func duplicateRefused() async throws {
        try await self.withProvider { provider, tools in
            try tools.set("arping.out", "6A:16:08:50:21:3A\n")
            try tools.set("arping.status", "0")
            let error = await #expect(throws: MMMError.self) {
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
            #expect(
                error?.message
                    == "refusing to take 198.18.0.100 on eth0: another host answers for it from MAC 6a:16:08:50:21:3a; release it there first"
            )
            #expect(try !tools.commands().contains { $0.contains("addr add") })
        }
    }

    @Test("a duplicate check that cannot run refuses the acquire (fails closed)")
    func duplicateCheckFails() async throws {
        try await self.withProvider { provider, tools in
            try tools.set("arping.out", "arping: libnet_init(LIBNET_LINK, eth0): no such device\n")
            try tools.set("arping.status", "1")
            let error = await #expect(throws: MMMError.self) {
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
            #expect(error?.message.contains("could not check whether another host answers for 198.18.0.100 on eth0") == true)
            #expect(error?.message.contains("no such device") == true)
            #expect(try !tools.commands().contains { $0.contains("addr add") })
        }
    }

    @Test("a failing ip addr add is reported with its output")
    func addFails() async throws {
        try await self.withProvider { provider, tools in
            try tools.set("add.status", "2")
            let error = await #expect(throws: MMMError.self) {
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
            #expect(error?.message == "could not add 198.18.0.100/32 to eth0 (ip exit status 2): RTNETLINK answers: Operation not permitted")
        }
    }

    @Test("release of an absent IP succeeds; a failed delete of a present IP throws")
    func releaseIdempotent() async throws {
        try await self.withProvider { provider, tools in
            try tools.set("del.status", "2")
            try await provider.release(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            #expect(try tools.commands() == ["ip addr del 198.18.0.100/32 dev eth0", "ip -o -4 addr show dev eth0"])
            try tools.set("held", Self.held)
            let error = await #expect(throws: MMMError.self) {
                try await provider.release(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
        }
    }

    @Test("without run(), inline announcements that would pass the deadline are dropped, not waited for")
    func inlineAnnouncementsBounded() async throws {
        try await withTemporaryDirectory { directory in
            try writeScript(directory + "/ip", Self.fakeIP)
            try writeScript(directory + "/arping", Self.fakeArping)
            try await withRunner { runner in
                let provider = try VIPEndpointProvider(
                    configuration: VIPEndpointConfiguration(
                        interface: "eth0",
                        ipPath: directory + "/ip",
                        arpingPath: directory + "/arping",
                        announcements: .init(count: 5, interval: .seconds(20))
                    ),
                    runner: runner,
                    logger: quietLogger
                )
                let started = ContinuousClock.now
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(10))
                let elapsed = ContinuousClock.now - started
                // The first goes out at once; the second would start after 20 s, past the 10 s deadline, so the
                // acquire returns instead of waiting for it (wide margins: a loaded CI machine runs scripts slowly).
                #expect(elapsed < .seconds(10))
                let announcements = try Tools(directory: directory).commands().filter { $0.contains("-U") }
                #expect(announcements.count == 1)
                #expect(try Tools(directory: directory).commands().contains("ip addr add 198.18.0.100/32 dev eth0"))
            }
        }
    }

    @Test("acquire with run() active returns before the announcements are sent")
    func announcementsInBackground() async throws {
        try await withTemporaryDirectory { directory in
            try writeScript(directory + "/ip", Self.fakeIP)
            try writeScript(directory + "/arping", Self.fakeArping)
            try await withRunner { runner in
                let provider = try VIPEndpointProvider(
                    configuration: VIPEndpointConfiguration(
                        interface: "eth0",
                        ipPath: directory + "/ip",
                        arpingPath: directory + "/arping",
                        announcements: .init(count: 3, interval: .milliseconds(300))
                    ),
                    runner: runner,
                    logger: quietLogger
                )
                let tools = Tools(directory: directory)
                try await withRunning([provider]) {
                    try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
                    // The second and third announcements are at least 300 and 600 ms away.
                    #expect(try tools.commands().filter { $0.contains("-U") }.count <= 1)
                    let allSent = try await eventually(timeout: .seconds(5)) {
                        try tools.commands().filter { $0.contains("-U") }.count == 3
                    }
                    #expect(allSent)
                }
            }
        }
    }
}

/// Runs `body` while the providers' `run()` is active (started and seen running), then cancels it.
func withRunning<T: Sendable>(_ providers: [VIPEndpointProvider], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for provider in providers {
            group.addTask { await provider.run() }
        }
        do {
            for provider in providers {
                let started = try await eventually(timeout: .seconds(5)) { provider.announcerIsRunning }
                guard started else { throw MMMError(.timedOut, "the provider's run() did not start") }
            }
            let value = try await body()
            group.cancelAll()
            return value
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
