import MMMCore

/// The rows of one statement, with column names.
public struct MariaDBResult: Sendable, Hashable {
    /// Column names in server order.
    public var columns: [String]
    /// The rows (empty for statements without a result set).
    public var rows: [MariaDBRow]
    /// Rows changed by an INSERT/UPDATE/DELETE, or the number of rows returned.
    public var affectedRows: UInt64

    /// Creates a result.
    public init(columns: [String], rows: [MariaDBRow], affectedRows: UInt64) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    /// The only row, or an error naming `what` if there is not exactly one.
    public func singleRow(_ what: String) throws -> MariaDBRow {
        guard self.rows.count == 1 else {
            throw MMMError(.unexpectedResult, "\(what) returned \(self.rows.count) rows, expected exactly 1")
        }
        return self.rows[0]
    }
}

/// One row of text-protocol values, looked up by column name, with typed accessors.
///
/// Accessors return `nil` for SQL NULL and throw ``MMMError/Code/unexpectedResult`` for a missing column or a value
/// that does not parse as the requested type, naming both.
public struct MariaDBRow: Sendable, Hashable {
    /// Column names and their positions, shared by all rows of a result.
    public struct Columns: Sendable, Hashable {
        /// Names in order.
        public let names: [String]
        /// Position of each name; for duplicate names, the first.
        let index: [String: Int]

        /// Indexes `names`.
        public init(_ names: [String]) {
            self.names = names
            var index: [String: Int] = [:]
            for (position, name) in names.enumerated() where index[name] == nil {
                index[name] = position
            }
            self.index = index
        }
    }

    /// The row's column layout.
    public let columns: Columns
    /// Values in column order; `nil` is SQL NULL.
    public let values: [String?]

    /// Creates a row.
    public init(columns: Columns, values: [String?]) {
        precondition(columns.names.count == values.count, "row has \(values.count) values for \(columns.names.count) columns")
        self.columns = columns
        self.values = values
    }

    /// True if the row has a column of that name.
    public func has(_ column: String) -> Bool { self.columns.index[column] != nil }

    /// The raw text of a column (nil for NULL).
    public func string(_ column: String) throws -> String? {
        guard let position = self.columns.index[column] else {
            throw MMMError(
                .unexpectedResult,
                "column '\(column)' is missing from the result (columns: \(self.columns.names.joined(separator: ", ")))"
            )
        }
        return self.values[position]
    }

    /// A column that must not be NULL.
    public func requiredString(_ column: String) throws -> String {
        guard let value = try self.string(column) else {
            throw MMMError(.unexpectedResult, "column '\(column)' is NULL, expected a value")
        }
        return value
    }

    /// A signed integer column.
    public func int(_ column: String) throws -> Int? {
        try self.parse(column, as: "an integer") { Int($0) }
    }

    /// An unsigned 64-bit integer column (ids, log positions).
    public func uint64(_ column: String) throws -> UInt64? {
        try self.parse(column, as: "an unsigned integer") { UInt64($0) }
    }

    /// A floating-point column.
    public func double(_ column: String) throws -> Double? {
        try self.parse(column, as: "a number") { Double($0) }
    }

    /// A boolean column: `1`/`ON`/`Yes`/`TRUE` or `0`/`OFF`/`No`/`FALSE` (any case).
    public func bool(_ column: String) throws -> Bool? {
        try self.parse(column, as: "a boolean (1/0, ON/OFF, Yes/No)") { text in
            switch text.uppercased() {
            case "1", "ON", "YES", "TRUE": return true
            case "0", "OFF", "NO", "FALSE": return false
            default: return nil
            }
        }
    }

    private func parse<T>(_ column: String, as kind: String, _ convert: (String) -> T?) throws -> T? {
        guard let text = try self.string(column) else { return nil }
        guard let value = convert(text) else {
            throw MMMError(.unexpectedResult, "column '\(column)' holds '\(text)', which is not \(kind)")
        }
        return value
    }
}
