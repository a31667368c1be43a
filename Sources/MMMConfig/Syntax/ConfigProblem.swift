/// One thing wrong with a configuration, with where it is and how to fix it.
///
/// Rendered as `file:line: what is wrong; what to write instead`. Built only from names, numbers,
/// addresses and file paths: never from the value of a password or secret.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible {
    /// How bad a problem is.
    public enum Severity: String, Sendable, Hashable {
        /// The configuration cannot be used; programs refuse to start and `check-config` exits non-zero.
        case error
        /// The configuration works, but probably not as its author meant.
        case warning
    }

    /// Whether this problem prevents loading.
    public var severity: Severity
    /// Where the offending text is (or the file that lacks something).
    public var location: SourceLocation
    /// What is wrong, lowercase, naming the offending directive, section or value.
    public var message: String
    /// What to write instead.
    public var fix: String

    /// Creates a problem.
    public init(_ severity: Severity = .error, at location: SourceLocation, _ message: String, fix: String) {
        self.severity = severity
        self.location = location
        self.message = message
        self.fix = fix
    }

    /// `file:line: message; fix`, with `warning: ` after the location for warnings.
    public var description: String {
        let prefix = self.severity == .warning ? "warning: " : ""
        return "\(self.location): \(prefix)\(self.message); \(self.fix)"
    }
}
