import MMMCore
/// An IPv4 or IPv6 address, parsed strictly.
///
/// IPv4 must be a dotted quad of decimal octets 0–255 without leading zeros (`010` is rejected
/// because some tools read it as octal). IPv6 accepts the RFC 4291 text forms with at most one `::`
/// and without a zone (`%eth0`) or an embedded IPv4 tail. Two spellings of the same IPv6 address
/// compare equal.
public enum IPAddress: Sendable, Hashable {
    /// An IPv4 address as four octets.
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// An IPv6 address as eight 16-bit groups.
    case v6([UInt16])

    /// Parses `text`, or returns `nil` if it is not a valid address.
    public init?(_ text: String) {
        if let v4 = Self.parseIPv4(text) {
            self = v4
        } else if let v6 = Self.parseIPv6(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// Whether this is an IPv4 address.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    private static func parseIPv4(_ text: String) -> IPAddress? {
        guard let octets = IPAddressText.ipv4Octets(text) else { return nil }
        return .v4(octets[0], octets[1], octets[2], octets[3])
    }

    private static func parseIPv6(_ text: String) -> [UInt16]? {
        IPAddressText.ipv6Groups(text)
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; eight lowercase hexadecimal groups for IPv6 (not compressed).
    public var description: String {
        switch self {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d)"
        case .v6(let groups):
            return groups.map { String($0, radix: 16) }.joined(separator: ":")
        }
    }
}
