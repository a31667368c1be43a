import MMMControl
import MMMCore

/// The output of `mmm_control checks [<host>|all [<check>|all]]`, in MMM 2.2's layout (`Commands.pm::show_checks`).
///
/// Every line is `sprintf("%*s  %-11s  [last change: %s]  %s\n", -maxhostlen, host, check, time, message)`:
/// ```
/// db1  ping         [last change: 2024/04/29 07:17:40]  OK
/// db1  rep_backlog  [last change: 2024/04/29 07:17:40]  OK: Backlog is null
/// ```
/// Hosts are padded to the longest configured host name; checks come in MMM's order (ping, mysql, rep_threads,
/// rep_backlog). For `all` hosts MMM used Perl's hash order, which is random; swift-mmm sorts the hosts by name.
/// One host and one check give the single line `"%s  %s  [last change: %s]  %s"` without padding or newline,
/// as in MMM. Pure: the wall-clock text of an instant is given by the caller.
public struct ChecksFormatter: Sendable {
    /// The configured hosts (their names set the padding and the order).
    public var hostNames: [String]
    /// The debounced checks per host, with messages and last-change times.
    public var checks: [String: HostCheckStatus]
    /// The wall-clock text of an instant, `yyyy/MM/dd HH:mm:ss` (see ``timestamp(unixSeconds:utcOffsetSeconds:)``).
    public var time: @Sendable (MonitorInstant) -> String

    /// Shown instead of a time for a check that has reported nothing yet (same width as a time).
    public static let noTime = "----/--/-- --:--:--"
    /// Shown instead of a message for a check that has reported nothing yet.
    public static let noResult = "UNKNOWN: No result yet"

    /// Creates a formatter.
    public init(hostNames: [String], checks: [String: HostCheckStatus], time: @escaping @Sendable (MonitorInstant) -> String) {
        self.hostNames = hostNames
        self.checks = checks
        self.time = time
    }

    /// One check of one host, as `checks` shows it.
    public struct Entry: Hashable, Sendable {
        /// The host's name.
        public var host: String
        /// The check.
        public var check: CheckKind
        /// The debounced result: `nil` while the check has reported nothing yet.
        public var ok: Bool?
        /// The check's message (`OK`, `ERROR: …`), or ``ChecksFormatter/noResult``.
        public var message: String
        /// When the result last changed, or `nil` while there is no result.
        public var lastChange: MonitorInstant?
        /// ``lastChange`` as wall-clock text, or ``ChecksFormatter/noTime``.
        public var lastChangeText: String

        /// Creates an entry.
        public init(host: String, check: CheckKind, ok: Bool?, message: String, lastChange: MonitorInstant?, lastChangeText: String) {
            self.host = host
            self.check = check
            self.ok = ok
            self.message = message
            self.lastChange = lastChange
            self.lastChangeText = lastChangeText
        }
    }

    /// The checks `checks` shows for `host` and `check` (`nil`: all), hosts sorted by name and checks in MMM's
    /// order, or `nil` when `host` is not a configured host.
    public func entries(host: String?, check: CheckKind?) -> [Entry]? {
        let hosts: [String]
        if let host {
            guard self.hostNames.contains(host) else { return nil }
            hosts = [host]
        } else {
            hosts = self.hostNames.sorted()
        }
        let kinds = check.map { [$0] } ?? CheckKind.allCases
        return hosts.flatMap { host in
            kinds.map { kind in
                let lastChange = self.checks[host]?.lastChanges[kind]
                return Entry(
                    host: host,
                    check: kind,
                    ok: self.checks[host]?[kind],
                    message: self.message(host, kind),
                    lastChange: lastChange,
                    lastChangeText: lastChange.map(self.time) ?? Self.noTime
                )
            }
        }
    }

    /// The reply to `checks` for `host` and `check` (`nil`: all), or MMM's refusal for an unknown host.
    public func reply(host: String?, check: CheckKind?) -> ControlOutcome {
        guard let entries = self.entries(host: host, check: check) else {
            return ControlOutcome(error: "ERROR: Unknown host name '\(host ?? "")'!")
        }
        if host != nil, check != nil, let entry = entries.first {
            return ControlOutcome(ok: "\(entry.host)  \(entry.check.rawValue)  [last change: \(entry.lastChangeText)]  \(entry.message)")
        }
        let width = self.hostNames.map(\.count).max() ?? 0
        var text = ""
        for entry in entries {
            let paddedHost = entry.host + String(repeating: " ", count: max(0, width - entry.host.count))
            let name = entry.check.rawValue + String(repeating: " ", count: max(0, 11 - entry.check.rawValue.count))
            text += "\(paddedHost)  \(name)  [last change: \(entry.lastChangeText)]  \(entry.message)\n"
        }
        return ControlOutcome(ok: text)
    }

    private func message(_ host: String, _ check: CheckKind) -> String {
        if let message = self.checks[host]?.messages[check] {
            return message
        }
        switch self.checks[host]?[check] {
        case .some(true): return "OK"
        case .some(false): return "ERROR"
        case .none: return Self.noResult
        }
    }

    /// `yyyy/MM/dd HH:mm:ss` for a Unix time shifted by `utcOffsetSeconds` (MMM prints local time; pass the
    /// local offset, or 0 for UTC). Proleptic Gregorian calendar, valid for any year from 0 to 9999.
    public static func timestamp(unixSeconds: Int64, utcOffsetSeconds: Int = 0) -> String {
        let local = unixSeconds + Int64(utcOffsetSeconds)
        let secondsPerDay: Int64 = 86_400
        var days = local / secondsPerDay
        var secondOfDay = local % secondsPerDay
        if secondOfDay < 0 {
            secondOfDay += secondsPerDay
            days -= 1
        }
        // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil inverse).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)/\(two(month))/\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))"
    }
}
