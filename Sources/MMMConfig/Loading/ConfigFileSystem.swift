import Foundation

/// Where ``ConfigDirectory`` reads files from: the real file system, or memory in tests.
public protocol ConfigFileSystem: Sendable {
    /// The text and permission bits of the file at `path`.
    func contents(ofFile path: String) -> ConfigFileContents
    /// The names of the entries of the directory at `path`, or `nil` if it cannot be listed.
    func fileNames(inDirectory path: String) -> [String]?
}

/// The real file system, through Foundation.
public struct LocalConfigFileSystem: ConfigFileSystem {
    /// Creates the accessor.
    public init() {}

    /// Reads the file with `FileManager`; the mode comes from its POSIX permissions.
    public func contents(ofFile path: String) -> ConfigFileContents {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { return .missing }
        if isDirectory.boolValue { return .unreadable("it is a directory") }
        guard let data = manager.contents(atPath: path) else { return .unreadable("permission denied or I/O error") }
        guard let text = String(data: data, encoding: .utf8) else { return .unreadable("it is not UTF-8 text") }
        let permissions = (try? manager.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.uint16Value
        return .text(text, mode: permissions ?? 0o600)
    }

    /// Lists the directory with `FileManager`.
    public func fileNames(inDirectory path: String) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: path)
    }
}

/// Files held in memory, keyed by full path; for tests of this and other modules.
public struct InMemoryConfigFileSystem: ConfigFileSystem {
    /// The files: path → (text, permission bits).
    public var files: [String: (text: String, mode: UInt16)]

    /// Creates a file system with `files`.
    public init(files: [String: (text: String, mode: UInt16)] = [:]) {
        self.files = files
    }

    /// The stored file, or `.missing`.
    public func contents(ofFile path: String) -> ConfigFileContents {
        guard let file = self.files[path] else { return .missing }
        return .text(file.text, mode: file.mode)
    }

    /// The names of the stored files directly inside `path`.
    public func fileNames(inDirectory path: String) -> [String]? {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return self.files.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            .filter { !$0.contains("/") }
    }
}
