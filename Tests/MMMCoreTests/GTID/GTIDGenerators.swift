import MMMCore
import PropertyBased
import Testing

/// Generators of GTID values for the property tests.
///
/// The "small" generators draw from few domains, servers and sequence numbers so that random pairs and triples
/// often overlap, contain each other or tie; the "wide" ones cover the whole number ranges for round trips.
enum GTIDGen {
    /// Any GTID, numbers over their full ranges, with extra weight on 0 and the maxima.
    static var wideGTID: Generator<GTID, some SendableSequenceType> {
        zip(
            Gen<UInt32>.value(in: 0...UInt32.max),
            Gen<UInt32>.value(in: 0...UInt32.max),
            Gen<UInt64>.value(in: 0...UInt64.max),
            Gen<Int>.value(in: 0...7)
        ).map { domain, serverID, sequence, edge in
            switch edge {
            case 0: GTID(domain: 0, serverID: serverID, sequence: sequence)
            case 1: GTID(domain: UInt32.max, serverID: UInt32.max, sequence: UInt64.max)
            case 2: GTID(domain: domain, serverID: 0, sequence: 0)
            default: GTID(domain: domain, serverID: serverID, sequence: sequence)
            }
        }
    }

    /// A GTID in domains 0...3, servers 1...3, sequences 0...8.
    static var smallGTID: Generator<GTID, some SendableSequenceType> {
        zip(
            Gen<UInt32>.value(in: 0...3),
            Gen<UInt32>.value(in: 1...3),
            Gen<UInt64>.value(in: 0...8)
        ).map { GTID(domain: $0, serverID: $1, sequence: $2) }
    }

    /// A position of up to 5 GTIDs over the full number ranges.
    static var widePosition: Generator<GTIDPosition, some SendableSequenceType> {
        self.wideGTID.array(of: 0...5).map(Self.position(keepingLastPerDomain:))
    }

    /// A position over domains 0...3 with small sequence numbers.
    static var smallPosition: Generator<GTIDPosition, some SendableSequenceType> {
        self.smallGTID.array(of: 0...5).map(Self.position(keepingLastPerDomain:))
    }

    /// A binlog state of up to 8 entries over domains 0...3 and servers 1...3.
    static var smallBinlogState: Generator<GTIDBinlogState, some SendableSequenceType> {
        self.smallGTID.array(of: 0...8).map(Self.binlogState(keepingLastPerKey:))
    }

    /// A binlog state of up to 6 entries over the full number ranges.
    static var wideBinlogState: Generator<GTIDBinlogState, some SendableSequenceType> {
        self.wideGTID.array(of: 0...6).map(Self.binlogState(keepingLastPerKey:))
    }

    /// A seed for ``NoiseRandom``.
    static var seed: Generator<UInt64, some SendableSequenceType> {
        Gen<UInt64>.value(in: 0...UInt64.max)
    }

    /// A position made of `gtids`, the last one winning where domains repeat.
    @Sendable static func position(keepingLastPerDomain gtids: [GTID]) -> GTIDPosition {
        var position = GTIDPosition()
        for gtid in gtids { position.update(gtid) }
        return position
    }

    /// A binlog state made of `gtids`, the last one winning where (domain, server) pairs repeat.
    @Sendable static func binlogState(keepingLastPerKey gtids: [GTID]) -> GTIDBinlogState {
        var state = GTIDBinlogState()
        for gtid in gtids { state.update(gtid) }
        return state
    }
}

/// SplitMix64, to derive shuffles and separator choices from one generated seed.
struct NoiseRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator whose whole output is fixed by `seed`.
    init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes `gtids` as a GTID list the way a tolerant reader must accept it: shuffled (as `Gtid_IO_Pos` is), with
/// random whitespace and newlines around the commas and the whole text.
func noisyList(_ gtids: [GTID], seed: UInt64) -> String {
    var random = NoiseRandom(seed: seed)
    let separators = [",", ", ", ",\n", " ,\n  ", "\t,", "\r\n,\r\n"]
    let edges = ["", " ", "\n", "\t \n"]
    let shuffled = gtids.shuffled(using: &random)
    var text = edges.randomElement(using: &random)!  // non-empty array
    for (index, gtid) in shuffled.enumerated() {
        if index > 0 { text += separators.randomElement(using: &random)! }  // non-empty array
        text += gtid.description
    }
    return text + edges.randomElement(using: &random)!  // non-empty array
}

/// The result of `body`, or `nil` after recording its error as a test issue.
///
/// Bodies of `propertyCheck` must not throw: PropertyBased 2.0.1 runs them under `try?`
/// (Sources/PropertyBased/IssueCounting.swift), so an error thrown out of a body is dropped and the case passes.
func noThrow<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> T? {
    do {
        return try body()
    } catch {
        Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
