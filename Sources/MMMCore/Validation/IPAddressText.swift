/// The one parser of IP address text in swift-mmm: the config loader, the SQL layer, the wire protocol and the
/// endpoint providers all validate addresses with it, so an address accepted in one place is accepted in all.
public enum IPAddressText {
    /// The four octets of a dotted-quad IPv4 address (`198.18.0.101`), or nil. Exactly four decimal parts of one to
    /// three ASCII digits, each at most 255, without leading zeros (`01.2.3.4` is refused: some tools read it as
    /// octal).
    public static func ipv4Octets(_ text: some StringProtocol) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            guard part.utf8.count == 1 || part.utf8.first != 0x30, let value = UInt8(part) else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// The eight 16-bit groups of an IPv6 address in hexadecimal text (`fd00::2`, `2001:db8:0:0:0:0:0:1`), or nil.
    /// At most one `::`; groups of one to four hex digits (either case); no embedded IPv4 suffix, no zone.
    public static func ipv6Groups(_ text: some StringProtocol) -> [UInt16]? {
        let text = String(text)
        guard text.contains(":"), text.utf8.count <= 39 else { return nil }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.utf8.count), group.allSatisfy({ $0.isASCII && $0.isHexDigit }),
                    let value = UInt16(group, radix: 16)
                else { return nil }
                result.append(value)
            }
            return result
        }
        if halves.count == 1 {
            guard let all = groups(halves[0]), all.count == 8 else { return nil }
            return all
        }
        guard let head = groups(halves[0]), let tail = groups(halves[1]), head.count + tail.count <= 7 else {
            return nil
        }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    /// True for an IPv4 or IPv6 address as the two parsers above accept them.
    public static func isIPAddress(_ text: some StringProtocol) -> Bool {
        self.ipv4Octets(text) != nil || self.ipv6Groups(text) != nil
    }
}
