import Foundation
import MMMCore
import MMMMonitor
import Testing

@Suite struct StatusStoreTests {
    /// A fresh directory under the temporary directory, removed after `body`.
    static func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let directory = NSTemporaryDirectory() + "mmm-status-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory)
    }

    static let status = MonitorStatus(
        cluster: ClusterSnapshot(
            mode: .active,
            hosts: [
                "db1": HostSnapshot(state: .online),
                "db2": HostSnapshot(state: .replicationFail, flapping: true, errantTransactions: ["2-2-7"]),
            ],
            roles: RoleAssignment(holders: [RoleIP(role: "writer", ip: "198.18.0.200"): "db1"]),
            lastWriter: "db1"
        ),
        failoverInProgress: Data("{\"step\":\"draining\"}".utf8)
    )

    @Test func missingFileLoadsAsNil() throws {
        try Self.withDirectory { (directory: String) throws in
            let store = StatusStore<MonitorStatus>(path: directory + "/mmm_mond.status")
            #expect(try store.load() == nil)
        }
    }

    @Test func roundTripWithMode0600AndNoTemporaryLeft() throws {
        try Self.withDirectory { (directory: String) throws in
            let path = directory + "/mmm_mond.status"
            let store = StatusStore<MonitorStatus>(path: path)
            let oldMask = umask(0o022)
            defer { umask(oldMask) }
            try store.save(Self.status)
            #expect(try store.load() == Self.status)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))

            var changed = Self.status
            changed.cluster.lastWriter = "db2"
            changed.failoverInProgress = nil
            try store.save(changed)
            #expect(try store.load() == changed)
        }
    }

    @Test func aCrashBeforeTheRenameLeavesTheOldFileIntact() throws {
        try Self.withDirectory { (directory: String) throws in
            let path = directory + "/mmm_mond.status"
            let store = StatusStore<MonitorStatus>(path: path)
            try store.save(Self.status)
            // What a crash between write and rename leaves: a half-written temporary file next to the old status.
            try Data("{\"schemaVersion\":1,\"clus".utf8).write(to: URL(fileURLWithPath: store.temporaryPath))
            #expect(try store.load() == Self.status)
            // The next save replaces the stray temporary file and succeeds.
            var changed = Self.status
            changed.cluster.mode = .manual
            try store.save(changed)
            #expect(try store.load() == changed)
            #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))
        }
    }

    @Test func aCorruptFileIsMovedAsideAndReportedByName() throws {
        try Self.withDirectory { (directory: String) throws in
            let path = directory + "/mmm_mond.status"
            let store = StatusStore<MonitorStatus>(path: path)
            let garbage = Data("db1|ONLINE|writer(198.18.0.200)\n".utf8)
            try garbage.write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: MMMError.self) { try store.load() }
            #expect(error?.code == .unexpectedResult)
            #expect(error?.message.contains(path) == true)
            #expect(!FileManager.default.fileExists(atPath: path))
            let aside = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                $0.hasPrefix("mmm_mond.status.corrupt-")
            }
            #expect(aside.count == 1)
            if let name = aside.first {
                #expect(error?.message.contains(name) == true)
                #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)) == garbage, "kept, not deleted")
            }
            // After that the monitor starts as on a first start.
            #expect(try store.load() == nil)

            // A second corrupt file in the same second does not overwrite the first one kept aside.
            try garbage.write(to: URL(fileURLWithPath: path))
            _ = try? store.load()
            let kept = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".corrupt-") }
            #expect(kept.count == 2)
        }
    }

    @Test func aNewerSchemaIsRefusedAndLeftInPlace() throws {
        try Self.withDirectory { (directory: String) throws in
            let path = directory + "/mmm_mond.status"
            let store = StatusStore<MonitorStatus>(path: path)
            var future = Self.status
            future.schemaVersion = MonitorStatus.currentSchemaVersion + 1
            try store.save(future)
            let error = #expect(throws: MMMError.self) { try store.load() }
            #expect(error?.message.contains("schema version 2") == true)
            #expect(FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func saveIntoAMissingDirectoryFailsClearly() {
        let store = StatusStore<MonitorStatus>(path: "/nonexistent-mmm-dir/mmm_mond.status")
        let error = #expect(throws: MMMError.self) { try store.save(Self.status) }
        #expect(error?.code == .commandFailed)
        #expect(error?.message.contains("/nonexistent-mmm-dir/mmm_mond.status.tmp") == true)
    }
}
