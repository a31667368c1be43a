import MMMCore

/// Checks and quotes every value that is put into SQL text.
///
/// swift-mmm never sends user-controlled text to the server unvalidated: addresses and names must match a strict
/// pattern, and string literals are escaped for both the default `sql_mode` and `NO_BACKSLASH_ESCAPES` (every
/// connection also removes `NO_BACKSLASH_ESCAPES` from its session `sql_mode` at connect time).
public enum SQLValidation {
    /// True for a dotted-quad IPv4 address (`198.18.0.101`) or an IPv6 address (`::1`, `fd00::2`).
    public static func isIPAddress(_ text: String) -> Bool {
        self.isIPv4(text) || self.isIPv6(text)
    }

    /// True for exactly four decimal octets 0–255 without leading zeros (``MMMCore/IPAddressText``).
    public static func isIPv4(_ text: String) -> Bool {
        IPAddressText.ipv4Octets(text) != nil
    }

    /// True for an IPv6 address in hexadecimal groups with at most one `::` (``MMMCore/IPAddressText``).
    public static func isIPv6(_ text: String) -> Bool {
        IPAddressText.ipv6Groups(text) != nil
    }

    /// True for a host name of letters, digits, `-`, `_` and `.` (at most 253 characters), or an IP address.
    public static func isHostName(_ text: String) -> Bool {
        if self.isIPAddress(text) { return true }
        guard (1...253).contains(text.count), text.first != "-", text.first != "." else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    /// True for a MariaDB account name made of letters, digits, `_`, `-`, `.` (1–80 characters).
    public static func isUserName(_ text: String) -> Bool {
        (1...80).contains(text.count)
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
    }

    /// True for a replication connection name (multi-source): empty (the default connection) or up to 64 of
    /// letters, digits and `_`.
    public static func isConnectionName(_ text: String) -> Bool {
        text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// Quotes a string literal: `'it''s'`. Backslashes are doubled and NUL, CR, LF and Ctrl-Z are escaped.
    public static func quote(_ text: String) -> String {
        var out = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "'": out += "''"
            case "\\": out += "\\\\"
            case "\0": out += "\\0"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\u{1A}": out += "\\Z"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }

    /// Throws unless `host` is an IP address or host name; `what` names the value in the message.
    public static func requireHost(_ host: String, _ what: String) throws(MMMError) {
        guard self.isHostName(host) else {
            throw MMMError(
                .invalidArgument,
                "\(what) '\(host)' is not an IP address or host name; use e.g. 198.18.0.101 (letters, digits, '-', '_', '.' only)"
            )
        }
    }

    /// Throws unless `user` is a plain account name.
    public static func requireUser(_ user: String, _ what: String) throws(MMMError) {
        guard self.isUserName(user) else {
            throw MMMError(
                .invalidArgument,
                "\(what) '\(user)' is not a plain account name; use letters, digits, '_', '-' and '.' (1 to 80 characters)"
            )
        }
    }

    /// Throws unless `name` is a valid replication connection name.
    public static func requireConnectionName(_ name: String) throws(MMMError) {
        guard self.isConnectionName(name) else {
            throw MMMError(
                .invalidArgument,
                "replication connection name '\(name)' is not allowed; use up to 64 letters, digits or '_' (empty for the default connection)"
            )
        }
    }
}
