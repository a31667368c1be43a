import MMMCore

/// The rules every name, address and text on the wire must satisfy.
///
/// The decoder applies them to everything it reads and the encoder to everything it writes, so a value that breaks
/// one never leaves a sender and never reaches a caller on the receiving side (DESIGN.md §3, invariant 8). The name
/// and address rules are the same as the config validator's (`NameRules`, `IPAddress` in MMMConfig), restated here
/// because this module depends on MMMCore only.
public enum WireValidation {
    /// The longest host, role, sender or verb name accepted (as in the config files).
    public static let maximumNameLength = 64
    /// The longest IP address text accepted (a full IPv6 address without compression).
    public static let maximumAddressLength = 39
    /// The longest GTID list text accepted.
    public static let maximumGTIDTextLength = 16_384
    /// The most role IPs one message may carry.
    public static let maximumRoleCount = 1_024
    /// The most arguments one control request may carry.
    public static let maximumControlArguments = 32
    /// The longest control argument accepted, in UTF-8 bytes.
    public static let maximumControlArgumentLength = 1_024

    /// Whether `name` is a valid host, role or sender name: 1–64 characters of `A–Z a–z 0–9 _ . -`, not starting
    /// with `-` or `.`.
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        guard (1...self.maximumNameLength).contains(name.utf8.count), let first = name.utf8.first else { return false }
        guard first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else { return false }
        return name.utf8.allSatisfy(Self.isNameByte)
    }

    /// Whether `verb` is a valid control verb: 1–64 characters of `a–z 0–9 _ -`, starting with a letter
    /// (`show`, `set_online`, `move_role`).
    public static func isValidVerb(_ verb: some StringProtocol) -> Bool {
        guard (1...self.maximumNameLength).contains(verb.utf8.count), let first = verb.utf8.first else { return false }
        guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return verb.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// Whether `text` is a valid IPv4 or IPv6 address.
    ///
    /// IPv4 is a dotted quad of decimal octets 0–255 without leading zeros (`010` could be read as octal by some
    /// tools). IPv6 is the RFC 4291 text form with at most one `::`, without a zone (`%eth0`) or an embedded IPv4
    /// tail. The text is kept as written; only its shape is checked.
    public static func isValidIPAddress(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= self.maximumAddressLength else { return false }
        if bytes.contains(UInt8(ascii: ":")) {
            return self.isValidIPv6(bytes)
        }
        return self.isValidIPv4(bytes)
    }

    /// Whether `text` is free text that may be logged and printed: at most `maximumBytes` UTF-8 bytes, no control
    /// characters except tab and newline (a carriage return or escape sequence could forge log lines or terminal
    /// output).
    public static func isValidText(_ text: some StringProtocol, maximumBytes: Int) -> Bool {
        guard text.utf8.count <= maximumBytes else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            scalar == "\t" || scalar == "\n" || !(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value))
        }
    }

    /// Whether `text` is a GTID list MariaDB could print (`0-1-100,1-2-57`, or empty), per `GTIDPosition(parsing:)`.
    public static func isValidGTIDList(_ text: some StringProtocol) -> Bool {
        guard text.utf8.count <= self.maximumGTIDTextLength else { return false }
        return (try? GTIDPosition(parsing: text)) != nil
    }

    /// Whether `text` is a `gtid_binlog_state` value (several GTIDs per domain allowed), per
    /// `GTIDBinlogState(parsing:)`.
    public static func isValidGTIDState(_ text: some StringProtocol) -> Bool {
        guard text.utf8.count <= self.maximumGTIDTextLength else { return false }
        return (try? GTIDBinlogState(parsing: text)) != nil
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    private static func isValidIPv4(_ bytes: [UInt8]) -> Bool {
        IPAddressText.ipv4Octets(String(decoding: bytes, as: UTF8.self)) != nil
    }

    private static func isValidIPv6(_ bytes: [UInt8]) -> Bool {
        IPAddressText.ipv6Groups(String(decoding: bytes, as: UTF8.self)) != nil
    }
}
