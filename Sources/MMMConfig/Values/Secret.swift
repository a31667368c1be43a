/// A password or key read from a configuration file.
///
/// Its `description`, `debugDescription` and mirror are redacted, so interpolating a `Secret` into a
/// log message, an error or `dump()` never shows it. Call ``revealed()`` only where the bytes are
/// really needed (a MariaDB login, a key derivation).
public struct Secret: Sendable, Hashable {
    private let value: String

    /// Wraps a secret value.
    public init(_ value: String) {
        self.value = value
    }

    /// The secret itself. Never log or print the result.
    public func revealed() -> String {
        self.value
    }

    /// Whether the secret is the empty string.
    public var isEmpty: Bool { self.value.isEmpty }
}

extension Secret: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `Secret(<redacted>)`.
    public var debugDescription: String { "Secret(<redacted>)" }
    /// An empty mirror, so `dump()` and `String(reflecting:)` of containing values do not leak it.
    public var customMirror: Mirror { Mirror(self, children: []) }
}
