import MMMCore
import NIOCore

/// Writes body fields, checking each against ``WireValidation`` so a sender cannot emit what a receiver would
/// reject.
///
/// Layout of the primitives (all integers big-endian): a string is a `UInt16` byte count and UTF-8 bytes; a list is
/// a `UInt16` element count and the elements; an optional is a byte `0` (absent) or `1` followed by the value; a
/// Boolean is a byte `0` or `1`.
struct WireWriter {
    /// The body written so far.
    var buffer: ByteBuffer

    /// Creates a writer with an empty buffer.
    init(allocator: ByteBufferAllocator) {
        self.buffer = allocator.buffer(capacity: 128)
    }

    /// Writes one byte.
    mutating func writeUInt8(_ value: UInt8) { self.buffer.writeInteger(value) }
    /// Writes a big-endian `UInt32`.
    mutating func writeUInt32(_ value: UInt32) { self.buffer.writeInteger(value) }
    /// Writes a big-endian `UInt64`.
    mutating func writeUInt64(_ value: UInt64) { self.buffer.writeInteger(value) }
    /// Writes `0` or `1`.
    mutating func writeBool(_ value: Bool) { self.buffer.writeInteger(value ? UInt8(1) : UInt8(0)) }

    /// Writes a string that must satisfy ``WireValidation/isValidName(_:)``.
    mutating func writeName(_ name: String, field: String) throws(ProtocolRejection) {
        guard WireValidation.isValidName(name) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(Self.quote(name)) is not a valid name")
        }
        self.writeRawString(name)
    }

    /// Writes a presence byte and, if present, a name.
    mutating func writeOptionalName(_ name: String?, field: String) throws(ProtocolRejection) {
        guard let name else { return self.writeBool(false) }
        self.writeBool(true)
        try self.writeName(name, field: field)
    }

    /// Writes free text that must satisfy ``WireValidation/isValidText(_:maximumBytes:)``.
    mutating func writeText(
        _ text: String,
        field: String,
        maximumBytes: Int = Int(UInt16.max)
    )
        throws(ProtocolRejection)
    {
        guard WireValidation.isValidText(text, maximumBytes: min(maximumBytes, Int(UInt16.max))) else {
            throw ProtocolRejection(.invalidValue, "\(field) is too long or contains control characters")
        }
        self.writeRawString(text)
    }

    /// Writes a GTID list that must parse as a `GTIDPosition`.
    mutating func writeGTIDList(_ text: String, field: String) throws(ProtocolRejection) {
        guard WireValidation.isValidGTIDList(text) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(Self.quote(text)) is not a GTID list")
        }
        self.writeRawString(text)
    }

    /// Writes a GTID binlog state that must parse as a `GTIDBinlogState`.
    mutating func writeGTIDState(_ text: String, field: String) throws(ProtocolRejection) {
        guard WireValidation.isValidGTIDState(text) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(Self.quote(text)) is not a GTID binlog state")
        }
        self.writeRawString(text)
    }

    /// Writes an optional host name or IP address.
    mutating func writeHostOrAddress(_ text: String?, field: String) throws(ProtocolRejection) {
        guard let text else { return self.writeBool(false) }
        guard WireValidation.isValidName(text) || WireValidation.isValidIPAddress(text) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(Self.quote(text)) is neither a host name nor an IP")
        }
        self.writeBool(true)
        self.writeRawString(text)
    }

    /// Writes a role list: a count, then each role's name and IP, all validated.
    mutating func writeRoles(_ roles: [RoleIP], field: String) throws(ProtocolRejection) {
        guard roles.count <= WireValidation.maximumRoleCount else {
            throw ProtocolRejection(.invalidValue, "\(field) has \(roles.count) role IPs, more than allowed")
        }
        self.buffer.writeInteger(UInt16(roles.count))
        for role in roles {
            try self.writeName(role.role, field: "role name in \(field)")
            guard WireValidation.isValidIPAddress(role.ip) else {
                throw ProtocolRejection(
                    .invalidValue,
                    "IP \(Self.quote(role.ip)) of role \(role.role) in \(field) is not a valid IP address"
                )
            }
            self.writeRawString(role.ip)
        }
    }

    private mutating func writeRawString(_ text: String) {
        self.buffer.writeInteger(UInt16(text.utf8.count))
        self.buffer.writeString(text)
    }

    /// Quotes a value for a message, cut short and with control characters escaped so a log line stays one line.
    static func quote(_ text: String) -> String {
        let shown = text.unicodeScalars.prefix(80).map { scalar -> String in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }.joined()
        return "'" + shown + (text.unicodeScalars.count > 80 ? "…'" : "'")
    }
}

/// Reads body fields written by ``WireWriter``, rejecting anything out of bounds or against the rules.
struct WireReader {
    /// The body not read yet.
    var buffer: ByteBuffer

    /// Reads one byte.
    mutating func readUInt8(_ field: String) throws(ProtocolRejection) -> UInt8 {
        guard let value = self.buffer.readInteger(as: UInt8.self) else { throw Self.shortBody(field) }
        return value
    }

    /// Reads a big-endian `UInt32`.
    mutating func readUInt32(_ field: String) throws(ProtocolRejection) -> UInt32 {
        guard let value = self.buffer.readInteger(as: UInt32.self) else { throw Self.shortBody(field) }
        return value
    }

    /// Reads a big-endian `UInt64`.
    mutating func readUInt64(_ field: String) throws(ProtocolRejection) -> UInt64 {
        guard let value = self.buffer.readInteger(as: UInt64.self) else { throw Self.shortBody(field) }
        return value
    }

    /// Reads a Boolean byte; anything but `0` or `1` is malformed.
    mutating func readBool(_ field: String) throws(ProtocolRejection) -> Bool {
        switch try self.readUInt8(field) {
        case 0: return false
        case 1: return true
        case let other: throw ProtocolRejection(.malformedBody, "\(field) has Boolean byte \(other), not 0 or 1")
        }
    }

    /// Reads a string that must satisfy ``WireValidation/isValidName(_:)``.
    mutating func readName(_ field: String) throws(ProtocolRejection) -> String {
        let name = try self.readRawString(field)
        guard WireValidation.isValidName(name) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(WireWriter.quote(name)) is not a valid name")
        }
        return name
    }

    /// Reads a presence byte and, if present, a name.
    mutating func readOptionalName(_ field: String) throws(ProtocolRejection) -> String? {
        guard try self.readBool("presence of \(field)") else { return nil }
        return try self.readName(field)
    }

    /// Reads free text that must satisfy ``WireValidation/isValidText(_:maximumBytes:)``.
    mutating func readText(_ field: String, maximumBytes: Int = Int(UInt16.max)) throws(ProtocolRejection) -> String {
        let text = try self.readRawString(field)
        guard WireValidation.isValidText(text, maximumBytes: maximumBytes) else {
            throw ProtocolRejection(.invalidValue, "\(field) is too long or contains control characters")
        }
        return text
    }

    /// Reads a GTID list that must parse as a `GTIDPosition`.
    mutating func readGTIDList(_ field: String) throws(ProtocolRejection) -> String {
        let text = try self.readRawString(field)
        guard WireValidation.isValidGTIDList(text) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(WireWriter.quote(text)) is not a GTID list")
        }
        return text
    }

    /// Reads a GTID binlog state that must parse as a `GTIDBinlogState`.
    mutating func readGTIDState(_ field: String) throws(ProtocolRejection) -> String {
        let text = try self.readRawString(field)
        guard WireValidation.isValidGTIDState(text) else {
            throw ProtocolRejection(.invalidValue, "\(field) \(WireWriter.quote(text)) is not a GTID binlog state")
        }
        return text
    }

    /// Reads an optional host name or IP address.
    mutating func readHostOrAddress(_ field: String) throws(ProtocolRejection) -> String? {
        guard try self.readBool("presence of \(field)") else { return nil }
        let text = try self.readRawString(field)
        guard WireValidation.isValidName(text) || WireValidation.isValidIPAddress(text) else {
            throw ProtocolRejection(
                .invalidValue,
                "\(field) \(WireWriter.quote(text)) is neither a host name nor an IP"
            )
        }
        return text
    }

    /// Reads a role list, validating each name and IP.
    mutating func readRoles(_ field: String) throws(ProtocolRejection) -> [RoleIP] {
        guard let count = self.buffer.readInteger(as: UInt16.self) else { throw Self.shortBody("count of \(field)") }
        guard Int(count) <= WireValidation.maximumRoleCount else {
            throw ProtocolRejection(.invalidValue, "\(field) has \(count) role IPs, more than allowed")
        }
        var roles: [RoleIP] = []
        for _ in 0..<count {
            let role = try self.readName("role name in \(field)")
            let ip = try self.readRawString("IP of role \(role) in \(field)")
            guard WireValidation.isValidIPAddress(ip) else {
                throw ProtocolRejection(
                    .invalidValue,
                    "IP \(WireWriter.quote(ip)) of role \(role) in \(field) is not a valid IP address"
                )
            }
            roles.append(RoleIP(role: role, ip: ip))
        }
        return roles
    }

    /// Fails unless every byte of the body was read: trailing bytes mean the sender and receiver disagree on the
    /// layout.
    func expectEnd(_ what: String) throws(ProtocolRejection) {
        guard self.buffer.readableBytes == 0 else {
            throw ProtocolRejection(
                .malformedBody,
                "\(self.buffer.readableBytes) unexpected bytes after the end of the \(what) body"
            )
        }
    }

    private mutating func readRawString(_ field: String) throws(ProtocolRejection) -> String {
        guard let length = self.buffer.readInteger(as: UInt16.self) else { throw Self.shortBody("length of \(field)") }
        guard let bytes = self.buffer.readSlice(length: Int(length)) else {
            throw ProtocolRejection(
                .malformedBody,
                "\(field) declares \(length) bytes but only \(self.buffer.readableBytes) remain in the body"
            )
        }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw ProtocolRejection(.invalidValue, "\(field) is not valid UTF-8")
        }
        return text
    }

    private static func shortBody(_ field: String) -> ProtocolRejection {
        ProtocolRejection(.malformedBody, "the body ends before \(field)")
    }
}
