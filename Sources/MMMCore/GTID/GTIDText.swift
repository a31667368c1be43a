/// Text helpers shared by the GTID parsers: number parsing, list splitting and quoting for messages.
///
/// Works on UTF-8 bytes so that only ASCII digits count as digits (no Unicode digits, no signs).
enum GTIDText {
    /// The example every GTID error message ends with.
    static let gtidShape = "a GTID looks like 0-1-100 (domain-server_id-sequence, unsigned decimal numbers)"

    /// The example every GTID list error message ends with.
    static let listShape = "a GTID list looks like 0-1-100,1-2-57 (comma-separated GTIDs, or empty)"

    /// Parses one `D-S-N` GTID; returns why it is not one instead of throwing, so callers can compose messages.
    static func parseGTID(_ text: Substring) -> Result<GTID, Reason> {
        let trimmed = self.trimmingWhitespace(text)
        if trimmed.isEmpty {
            return .failure(Reason("it is empty"))
        }
        if trimmed.first == "-" || trimmed.first == "+" {
            return .failure(Reason("it starts with a sign; GTID numbers are unsigned"))
        }
        let parts = trimmed.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            if parts.count == 1 {
                return .failure(Reason("it is not three numbers separated by '-'"))
            }
            return .failure(Reason("it has \(parts.count) parts separated by '-' instead of 3"))
        }
        let domain: UInt32
        let serverID: UInt32
        let sequence: UInt64
        switch self.parseNumber(parts[0], as: UInt32.self, field: "domain") {
        case .success(let value): domain = value
        case .failure(let reason): return .failure(reason)
        }
        switch self.parseNumber(parts[1], as: UInt32.self, field: "server_id") {
        case .success(let value): serverID = value
        case .failure(let reason): return .failure(reason)
        }
        switch self.parseNumber(parts[2], as: UInt64.self, field: "sequence") {
        case .success(let value): sequence = value
        case .failure(let reason): return .failure(reason)
        }
        return .success(GTID(domain: domain, serverID: serverID, sequence: sequence))
    }

    /// Parses a comma-separated GTID list into its GTIDs, in the order written.
    ///
    /// Whitespace (spaces, tabs, newlines) is allowed around each entry, because MariaDB may print long lists with
    /// `",\n"`. Blank text is the empty list. An empty entry (`0-1-1,,0-1-2`, a trailing comma) is an error.
    /// - Parameter kind: what the list is, for the message (`GTID list`, `GTID binlog state`).
    static func parseList(_ text: some StringProtocol, kind: String) throws(MMMError) -> [GTID] {
        let whole = Substring(text)
        if self.trimmingWhitespace(whole).isEmpty {
            return []
        }
        var gtids: [GTID] = []
        for (index, entry) in whole.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let trimmed = self.trimmingWhitespace(entry)
            if trimmed.isEmpty {
                throw MMMError(
                    .invalidGTID,
                    "invalid \(kind) \(self.quote(whole)): entry \(index + 1) is empty (a stray comma?); "
                        + self.listShape
                )
            }
            switch self.parseGTID(trimmed) {
            case .success(let gtid):
                gtids.append(gtid)
            case .failure(let reason):
                throw MMMError(
                    .invalidGTID,
                    "invalid \(kind) \(self.quote(whole)): entry \(index + 1) \(self.quote(trimmed)) is not a GTID: "
                        + "\(reason.text); \(self.gtidShape)"
                )
            }
        }
        return gtids
    }

    /// Why a piece of text is not a GTID, as a clause such as `it is empty`.
    struct Reason: Error, Hashable {
        /// The reason, e.g. `its sequence 'x' is not a decimal number`.
        var text: String
        /// Creates a reason from its words.
        init(_ text: String) { self.text = text }
    }

    /// Parses an unsigned decimal number of ASCII digits that fits `T`; leading zeros are accepted.
    private static func parseNumber<T: FixedWidthInteger & UnsignedInteger>(
        _ text: Substring,
        as type: T.Type,
        field: String
    ) -> Result<T, Reason> {
        if text.isEmpty {
            return .failure(Reason("it has an empty \(field)"))
        }
        var value: T = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                let what =
                    (byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")) ? "has a sign" : "is not a decimal number"
                return .failure(Reason("its \(field) \(self.quote(text)) \(what)"))
            }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(T(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 {
                return .failure(Reason("its \(field) \(text) is larger than \(T.max)"))
            }
            value = sum
        }
        return .success(value)
    }

    /// Whether `character` is whitespace MariaDB may put between list entries.
    private static func isWhitespace(_ character: Character) -> Bool {
        character == " " || character == "\t" || character == "\n" || character == "\r" || character == "\r\n"
    }

    /// `text` without leading and trailing whitespace.
    static func trimmingWhitespace(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, self.isWhitespace(first) { result.removeFirst() }
        while let last = result.last, self.isWhitespace(last) { result.removeLast() }
        return result
    }

    /// `text` in single quotes for an error message, with control characters escaped and long text shortened.
    static func quote(_ text: some StringProtocol) -> String {
        var escaped = ""
        var characters = 0
        for scalar in text.unicodeScalars {
            if characters >= 120 {
                escaped += "..."
                break
            }
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case "'": escaped += "\\'"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    escaped += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
            characters += 1
        }
        return "'\(escaped)'"
    }
}
