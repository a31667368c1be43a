import Foundation
import MMMCore

/// Runs `body` with a fresh private directory (mode 700) under the system's temporary folder, and removes it with
/// everything `body` left in it afterwards, also when `body` throws. The shared helper of every test target.
public func withTemporaryDirectory<T>(
    prefix: String = "mmm-test",
    _ body: (String) async throws -> T
) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    do {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700]
        )
    } catch {
        throw MMMError(.commandFailed, "could not create the temporary directory \(path): \(error)")
    }
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
