import Foundation
import Logging
import MMMCore

import MMMSystem
import MMMTestSupport
import NIOPosix

/// Whether the tests that build network namespaces may run: they need root, and run with the bench suite
/// (`MMM_TEST_MARIADB=1`, which the README's test command and `.ci/run` set).
let namespaceTestsEnabled = ProcessInfo.processInfo.environment["MMM_TEST_MARIADB"] == "1" && geteuid() == 0

/// A logger that drops everything, for providers under test.
let quietLogger = Logger(label: "mmm.agent.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Writes an executable (mode 700) script at `path`.
///
/// The file is opened with `O_CLOEXEC`: tests run in parallel and spawn programs, and a child that inherited a
/// descriptor open for writing would make executing the script fail with ETXTBSY ("Text file busy").
func writeScript(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o700)
    guard fd >= 0 else { throw MMMError(.commandFailed, "could not create \(path): errno \(errno)") }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    guard written == bytes.count else { throw MMMError(.commandFailed, "could not write \(path): errno \(errno)") }
}

/// Polls `condition` every 20 ms until it is true or `timeout` passes; returns whether it became true.
func eventually(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Milliseconds in `duration`, for printed measurements.
func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}
