/// A point in the monitor's time, as a plain value.
///
/// The core never reads a clock: the monitor converts its clock's instants into offsets from its own
/// start (or any fixed origin) and passes them in. Only differences between instants are meaningful.
public struct MonitorInstant: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Time since the origin the caller chose.
    public var sinceOrigin: Duration

    /// Creates an instant at `sinceOrigin` after the origin.
    public init(sinceOrigin: Duration) {
        self.sinceOrigin = sinceOrigin
    }

    /// The origin itself.
    public static var zero: Self { Self(sinceOrigin: .zero) }

    /// An instant `seconds` whole seconds after the origin (handy in tests and tables).
    public static func seconds(_ seconds: Int) -> Self { Self(sinceOrigin: .seconds(seconds)) }

    /// The time from `self` to `other` (negative when `other` is earlier).
    public func duration(to other: Self) -> Duration { other.sinceOrigin - self.sinceOrigin }

    /// The instant `duration` after `self`.
    public func advanced(by duration: Duration) -> Self { Self(sinceOrigin: self.sinceOrigin + duration) }

    /// The instant `rhs` after `lhs`.
    public static func + (lhs: Self, rhs: Duration) -> Self { lhs.advanced(by: rhs) }

    /// Moves `lhs` on by `rhs`.
    public static func += (lhs: inout Self, rhs: Duration) { lhs = lhs.advanced(by: rhs) }

    /// The instant `rhs` before `lhs`.
    public static func - (lhs: Self, rhs: Duration) -> Self { lhs.advanced(by: .zero - rhs) }

    /// The time from `rhs` to `lhs` (negative when `lhs` is earlier).
    public static func - (lhs: Self, rhs: Self) -> Duration { lhs.sinceOrigin - rhs.sinceOrigin }

    /// Earlier instants sort first.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.sinceOrigin < rhs.sinceOrigin }

    /// `t+<seconds>s`.
    public var description: String { "t+\(self.sinceOrigin)" }
}
