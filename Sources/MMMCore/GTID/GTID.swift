/// One MariaDB global transaction ID, `domain-server_id-sequence` (e.g. `0-1-100`).
///
/// The domain is the replication stream the transaction belongs to (swift-mmm keeps one domain per master, see
/// ``GTIDBinlogState`` for why), the server ID names the server that first wrote it, and the sequence number orders
/// transactions within the domain. Only the domain and the sequence decide order: MariaDB's `MASTER_GTID_WAIT` and
/// GTID-mode replication ignore the server ID when comparing positions.
public struct GTID: Hashable, Sendable {
    /// The replication domain (`gtid_domain_id` of the writing session), 0 to 4294967295.
    public var domain: UInt32
    /// The `server_id` of the server that wrote the transaction, 0 to 4294967295.
    public var serverID: UInt32
    /// The sequence number within the domain (`seq_no`), 0 to 18446744073709551615.
    public var sequence: UInt64

    /// Creates a GTID from its three numbers.
    public init(domain: UInt32, serverID: UInt32, sequence: UInt64) {
        self.domain = domain
        self.serverID = serverID
        self.sequence = sequence
    }

    /// Parses a GTID as MariaDB prints it, e.g. `0-1-100` (`@@last_gtid`, one entry of `@@gtid_binlog_pos`).
    ///
    /// Three unsigned decimal numbers separated by `-`: domain and server ID must fit in 32 bits, the sequence in
    /// 64 bits. Whitespace around the whole text is ignored. Signs, empty numbers, other characters and values out
    /// of range are rejected. Leading zeros are accepted (`0-01-5` is `0-1-5`), as the server itself does.
    ///
    /// - Parameter text: the GTID text.
    /// - Throws: ``MMMError`` with code ``MMMError/Code/invalidGTID``, whose message quotes `text`, says what is
    ///   wrong with it and what a GTID looks like.
    public init(parsing text: some StringProtocol) throws(MMMError) {
        switch GTIDText.parseGTID(Substring(text)) {
        case .success(let gtid):
            self = gtid
        case .failure(let reason):
            throw MMMError(.invalidGTID, "invalid GTID \(GTIDText.quote(text)): \(reason.text); \(GTIDText.gtidShape)")
        }
    }
}

extension GTID: CustomStringConvertible {
    /// The GTID as MariaDB prints it: `domain-server_id-sequence`, e.g. `0-1-100`.
    public var description: String {
        "\(self.domain)-\(self.serverID)-\(self.sequence)"
    }
}
