import MMMCore

/// The checks every value passes before it reaches `ip`, `arping` or an operator's program.
///
/// The config loader applies the same rules at load time; the providers check again because their arguments may
/// also come from the monitor over the network (DESIGN.md §3: a role IP with shell metacharacters is rejected at the
/// protocol edge as well). Each check throws ``MMMError/Code/invalidArgument`` naming the value, so nothing that fails
/// one ever reaches a command.
public enum EndpointArguments {
    /// Returns `text` if it is a strict dotted-quad IPv4 address usable as a virtual IP.
    ///
    /// Four decimal octets 0–255 without leading zeros (`010` is rejected because some tools read it as octal), no
    /// prefix length, no surrounding spaces. Addresses that can never be a host's virtual IP are rejected too:
    /// `0.0.0.0/8` (this network), `127.0.0.0/8` (loopback), `224.0.0.0/4` (multicast) and `240.0.0.0/4` (reserved,
    /// which includes the broadcast address `255.255.255.255`).
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``.
    @discardableResult
    public static func validateIPv4(_ text: String) throws -> String {
        guard let octets = Self.parseIPv4(text) else {
            throw MMMError(.invalidArgument, "'\(Self.printable(text))' is not an IPv4 address (dotted quad, no leading zeros)")
        }
        let first = octets[0]
        guard first != 0, first != 127, first < 224 else {
            throw MMMError(
                .invalidArgument,
                "\(text) cannot be a virtual IP (this-network, loopback, multicast and reserved addresses are refused)"
            )
        }
        return text
    }

    /// Returns `name` if it is a valid Linux network interface name.
    ///
    /// 1–15 characters (`IFNAMSIZ` − 1) of `A–Z a–z 0–9 _ . - :`, not `.` or `..`, not starting with `-` (so it can
    /// never be read as an option).
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``.
    @discardableResult
    public static func validateInterfaceName(_ name: String) throws -> String {
        guard (1...15).contains(name.utf8.count), name != ".", name != "..", name.first != "-",
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-:".contains($0)) })
        else {
            throw MMMError(
                .invalidArgument,
                "'\(Self.printable(name))' is not a valid interface name (1-15 characters of A-Z a-z 0-9 _ . - :)"
            )
        }
        return name
    }

    /// Returns `name` if it is a valid role name: 1–64 characters of `A–Z a–z 0–9 _ . -`, not starting with `-`
    /// or `.` (the config loader's rule for names).
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``.
    @discardableResult
    public static func validateRoleName(_ name: String) throws -> String {
        guard Self.isValidName(name) else {
            throw MMMError(
                .invalidArgument,
                "'\(Self.printable(name))' is not a valid role name (1-64 characters of A-Z a-z 0-9 _ . -)"
            )
        }
        return name
    }

    /// Returns `name` if it is a valid network namespace name (same rule as a role name).
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``.
    @discardableResult
    public static func validateNamespaceName(_ name: String) throws -> String {
        guard Self.isValidName(name) else {
            throw MMMError(
                .invalidArgument,
                "'\(Self.printable(name))' is not a valid network namespace name (1-64 characters of A-Z a-z 0-9 _ . -)"
            )
        }
        return name
    }

    /// Returns `path` if it is an absolute path without NUL bytes or line breaks.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``.
    @discardableResult
    public static func validateProgramPath(_ path: String) throws -> String {
        guard path.hasPrefix("/"), !path.contains("\0"), !path.contains("\n"), !path.contains("\r") else {
            throw MMMError(.invalidArgument, "program path '\(Self.printable(path))' must be an absolute path")
        }
        return path
    }

    /// The four octets of a strict dotted quad, or `nil`.
    static func parseIPv4(_ text: String) -> [UInt8]? {
        IPAddressText.ipv4Octets(text)
    }

    private static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.first, first != "-", first != "." else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }

    /// `text` with control characters escaped and cut to 80 characters, so a hostile value cannot forge log lines.
    static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(80) {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 80 ? result + "..." : result
    }
}
