/// The character rules for names that reach shell commands, SQL or `ip`.
///
/// Everything a config file names is checked here before any other module sees it (DESIGN.md §3,
/// invariant 8).
public enum NameRules {
    /// Whether `name` is a valid host, role, check or cluster name: 1–64 characters of
    /// `A–Z a–z 0–9 _ . -`, not starting with `-` or `.`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.count), let first = name.first, first != "-", first != "." else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }

    /// Whether `name` is a valid Linux network interface name: 1–15 characters (IFNAMSIZ − 1) of
    /// `A–Z a–z 0–9 _ . - :` (the colon allows `eth0:1` aliases), not `.` or `..`, not starting with `-`.
    public static func isValidInterfaceName(_ name: String) -> Bool {
        guard (1...15).contains(name.count), name != ".", name != "..", name.first != "-" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-:".contains($0)) }
    }

    /// Whether `path` is an absolute file system path without NUL bytes or newlines.
    public static func isAbsolutePath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.contains("\0") && !path.contains("\n")
    }
}
