/// Where a value was written: a file and, when known, a 1-based line.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file's path as the loader opened it.
    public var file: String
    /// The 1-based line, or `nil` when the problem concerns the whole file (a missing directive).
    public var line: Int?

    /// Creates a location.
    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    /// `file:line`, or `file` when there is no line.
    public var description: String {
        if let line = self.line { return "\(self.file):\(line)" }
        return self.file
    }

    /// Orders by file, then line (whole-file locations first).
    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.file != rhs.file { return lhs.file < rhs.file }
        return (lhs.line ?? 0) < (rhs.line ?? 0)
    }
}
