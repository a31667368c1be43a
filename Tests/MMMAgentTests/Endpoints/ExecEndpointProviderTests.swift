import Foundation
import MMMCore
import MMMTestSupport
import MMMSystem
import Testing

@testable import MMMAgent

/// The `exec` provider against a real script: it records its argv one element per line, in brackets, and its exit
/// status follows the `MODE` environment variable.
@Suite("Exec endpoint provider")
struct ExecEndpointProviderTests {
    /// The fixture program. `${0%/*}` avoids `dirname`; `exec sleep` makes the kill hit the sleeping process itself.
    static let script = """
        #!/bin/sh
        log="${0%/*}/argv.log"
        for argument in "$@"; do printf '[%s]\\n' "$argument" >> "$log"; done
        printf -- '--\\n' >> "$log"
        case "$MODE" in
            fail) printf '  cloud API said no: quota exceeded  \\n\\n'; exit 3 ;;
            notheld) exit 1 ;;
            broken) echo 'cannot reach the API' >&2; exit 2 ;;
            hang) exec sleep 30 ;;
        esac
        exit 0
        """

    /// A directory whose name has spaces and a `;`, holding the script; the argv log lands beside it.
    struct Fixture {
        let base: String
        let directory: String
        var program: String { self.directory + "/move vip.sh" }
        var log: String { self.directory + "/argv.log" }

        func recordedArguments() throws -> [String] {
            guard FileManager.default.fileExists(atPath: self.log) else { return [] }
            return try String(contentsOfFile: self.log, encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }

    func withFixture(
        mode: String = "ok",
        arguments: [String] = [],
        _ body: (ExecEndpointProvider, Fixture) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { base in
            let directory = base + "/endpoint programs; with spaces"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let fixture = Fixture(base: base, directory: directory)
            try writeScript(fixture.program, Self.script)
            try await withRunner { runner in
                let provider = try ExecEndpointProvider(
                    configuration: ExecEndpointConfiguration(
                        program: fixture.program,
                        arguments: arguments,
                        environment: ["MODE": mode, "PATH": "/usr/bin:/bin"]
                    ),
                    runner: runner,
                    logger: quietLogger
                )
                try await body(provider, fixture)
            }
        }
    }

    @Test("acquire, release and check pass verb, role and IP as separate arguments")
    func verbs() async throws {
        try await self.withFixture { provider, fixture in
            try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            try await provider.release(role: "reader", ip: "198.18.0.101", deadline: .seconds(5))
            #expect(try await provider.holds(role: "writer", ip: "198.18.0.100", deadline: .seconds(5)))
            #expect(
                try fixture.recordedArguments() == [
                    "[acquire]", "[writer]", "[198.18.0.100]", "--",
                    "[release]", "[reader]", "[198.18.0.101]", "--",
                    "[check]", "[writer]", "[198.18.0.100]", "--",
                ]
            )
        }
    }

    @Test("fixed arguments with spaces, ; and $( ) reach the program verbatim: no shell is involved")
    func noShell() async throws {
        try await withTemporaryDirectory { outside in
            let injected = outside + "/INJECTED"
            let arguments = ["--zone", "eu west; touch \(injected)", "$(touch \(injected))", "`touch \(injected)`", "a\"b'c"]
            try await self.withFixture(arguments: arguments) { provider, fixture in
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
                #expect(try fixture.recordedArguments() == arguments.map { "[\($0)]" } + ["[acquire]", "[writer]", "[198.18.0.100]", "--"])
                #expect(!FileManager.default.fileExists(atPath: injected))
            }
        }
    }

    @Test("a non-zero exit throws commandFailed with the program's trimmed output and status")
    func failure() async throws {
        try await self.withFixture(mode: "fail") { provider, fixture in
            let error = await #expect(throws: MMMError.self) {
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
            #expect(error?.message.hasSuffix("failed with exit status 3: cloud API said no: quota exceeded") == true)
            #expect(error?.message.contains("acquire writer 198.18.0.100") == true)
            let releaseError = await #expect(throws: MMMError.self) {
                try await provider.release(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(releaseError?.code == .commandFailed)
        }
    }

    @Test("check: exit 1 is not held, another status is an error carrying the output")
    func check() async throws {
        try await self.withFixture(mode: "notheld") { provider, _ in
            let held = try await provider.holds(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            #expect(held == false)
        }
        try await self.withFixture(mode: "broken") { provider, _ in
            let error = await #expect(throws: MMMError.self) {
                try await provider.holds(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
            #expect(error?.message.contains("exit status 2: cannot reach the API") == true, "\(String(describing: error))")
        }
    }

    @Test("a hanging program is killed at the deadline")
    func timeout() async throws {
        try await self.withFixture(mode: "hang") { provider, fixture in
            let started = ContinuousClock.now
            let error = await #expect(throws: MMMError.self) {
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .milliseconds(300))
            }
            let elapsed = ContinuousClock.now - started
            #expect(error?.code == .timedOut)
            #expect(elapsed < .seconds(5))
            // The script ran (its argv was logged) before it hung.
            let recorded = try fixture.recordedArguments()
            #expect(recorded.first == "[acquire]")
            print("exec provider: hanging program killed after \(milliseconds(elapsed)) ms (deadline 300 ms)")
        }
    }

    @Test("a bad role or IP is refused before the program runs", arguments: [
        ("writer", "198.18.0.100; reboot"), ("writer", "$(reboot)"), ("writer", "1.2.3"), ("writer", "-h"),
        ("writer;reboot", "198.18.0.100"), ("-x", "198.18.0.100"), ("", "198.18.0.100"),
    ])
    func refusesBeforeRunning(_ role: String, _ ip: String) async throws {
        try await self.withFixture { provider, fixture in
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
            let recorded = try fixture.recordedArguments()
            #expect(recorded == [])
        }
    }

    @Test("a relative program path or a NUL byte in an argument is refused at creation")
    func refusesConfiguration() async throws {
        try await withRunner { runner in
            for configuration in [
                ExecEndpointConfiguration(program: "move-vip"),
                ExecEndpointConfiguration(program: "/usr/local/bin/move-vip", arguments: ["a\0b"]),
                ExecEndpointConfiguration(program: "/usr/local/bin/move-vip", environment: ["A=B": "c"]),
            ] {
                let error = #expect(throws: MMMError.self) {
                    try ExecEndpointProvider(configuration: configuration, runner: runner, logger: quietLogger)
                }
                #expect(error?.code == .invalidArgument)
            }
        }
    }

    @Test("a program that does not exist fails with commandFailed")
    func missingProgram() async throws {
        try await withRunner { runner in
            let provider = try ExecEndpointProvider(
                configuration: ExecEndpointConfiguration(program: "/nonexistent/mmmv-move-vip"),
                runner: runner,
                logger: quietLogger
            )
            let error = await #expect(throws: MMMError.self) {
                try await provider.acquire(role: "writer", ip: "198.18.0.100", deadline: .seconds(5))
            }
            #expect(error?.code == .commandFailed)
        }
    }
}
