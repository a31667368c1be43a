/// Typed reading of one directive, reporting a missing or malformed value.
extension ConfigBuilder {
    /// Example values used in "what to write instead". Never a real secret.
    static let examples: [String: String] = [
        "this": "db1", "active_master_role": "writer", "ip": "192.168.1.101", "mode": "master", "peer": "db2",
        "pid_path": "/run/mysql-mmm-agent.pid", "bin_path": "/usr/libexec/mysql-mmm", "cluster_interface": "eth0",
        "agent_user": "mmm_agent", "agent_password": "PASSWORD", "monitor_user": "mmm_monitor",
        "monitor_password": "PASSWORD", "replication_user": "repl_user", "replication_password": "PASSWORD",
        "hosts": "db1, db2", "ips": "192.168.1.210", "status_path": "/var/lib/mysql-mmm/mmm_mond.status",
        "ping_ips": "192.168.1.1", "cert_file": "/etc/mysql-mmm/cert.pem", "key_file": "/etc/mysql-mmm/key.pem",
        "ca_file": "/etc/mysql-mmm/ca.pem",
    ]

    /// The raw value of `name`, or `nil`; reports it missing when the current program requires it.
    mutating func value(_ name: String, in section: RawSection, requiredBy required: Set<ConfigProgram>) -> RawValue? {
        self.consulted.insert("\(section.kind).\(name)")
        if let value = section.values[name] { return value }
        if let program = self.program, required.contains(program) {
            // The monitor's pid file is not the agent's.
            let value = name == "pid_path" && section.kind == "monitor" ? "/run/mysql-mmm-monitor.pid" : Self.examples[name]
            let example = "`\(name) \(value ?? "VALUE")`"
            let target: String
            if section.kind.isEmpty {
                target = "add \(example) at the top level"
            } else if ConfigSchema.templateSections.contains(section.kind) {
                target = "add \(example) to \(section.label) or to <\(section.kind) default>"
            } else {
                target = "add \(example) to \(section.label)"
            }
            self.report(
                at: section.location,
                "\(section.label) has no `\(name)`, which \(program.rawValue) needs",
                fix: target
            )
        }
        return nil
    }

    /// The section a value was written in: `<host default>` for a value inherited from the template,
    /// so that one bad template line is reported once, not once per host.
    static func place(_ value: RawValue, _ section: RawSection) -> String {
        value.fromTemplate ? "<\(section.kind) default>" : section.label
    }

    /// A free-form string.
    mutating func string(_ name: String, in section: RawSection, requiredBy: Set<ConfigProgram> = []) -> String? {
        self.value(name, in: section, requiredBy: requiredBy)?.text
    }

    /// A password or key; its text is never put into a problem.
    mutating func secret(_ name: String, in section: RawSection, requiredBy: Set<ConfigProgram> = []) -> Secret? {
        self.value(name, in: section, requiredBy: requiredBy).map { Secret($0.text) }
    }

    /// A host, role or copy-method name.
    mutating func name(_ name: String, in section: RawSection, requiredBy: Set<ConfigProgram> = []) -> String? {
        guard let value = self.value(name, in: section, requiredBy: requiredBy) else { return nil }
        guard NameRules.isValidName(value.text) else {
            self.report(
                at: value.location,
                "`\(name) \(value.text)` in \(Self.place(value, section)) is not a valid name",
                fix: "use a section name of A-Z a-z 0-9 _ . -, e.g. `\(name) \(Self.examples[name] ?? "db1")`"
            )
            return nil
        }
        return value.text
    }

    /// A decimal integer within `range`.
    mutating func int(_ name: String, in section: RawSection, range: ClosedRange<Int>) -> Int? {
        guard let value = self.value(name, in: section, requiredBy: []) else { return nil }
        guard value.text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(value.text),
            range.contains(number)
        else {
            self.report(
                at: value.location,
                "`\(name) \(value.text)` in \(Self.place(value, section)) is not a whole number from \(range.lowerBound) to \(range.upperBound)",
                fix: "write e.g. `\(name) \(range.lowerBound == 0 ? 10 : range.lowerBound)` (digits only)"
            )
            return nil
        }
        return number
    }

    /// MMM's booleans: `true|on|yes|1` and `false|off|no|0`, any case.
    mutating func bool(_ name: String, in section: RawSection) -> Bool? {
        guard let value = self.value(name, in: section, requiredBy: []) else { return nil }
        switch value.text.lowercased() {
        case "true", "on", "yes", "1": return true
        case "false", "off", "no", "0": return false
        default:
            self.report(
                at: value.location,
                "`\(name) \(value.text)` in \(Self.place(value, section)) is not a boolean",
                fix: "write `\(name) 1` or `\(name) 0` (also accepted: true/false, on/off, yes/no)"
            )
            return nil
        }
    }

    /// One of an enum's raw values, in any letter case (MMM writes `mode active`; MMMCore's raw value is `ACTIVE`).
    mutating func enumeration<E: RawRepresentable & CaseIterable>(
        _ name: String,
        in section: RawSection,
        requiredBy: Set<ConfigProgram> = []
    ) -> E? where E.RawValue == String {
        guard let value = self.value(name, in: section, requiredBy: requiredBy) else { return nil }
        guard let result = E.allCases.first(where: { $0.rawValue.lowercased() == value.text.lowercased() }) else {
            let choices = E.allCases.map { "`\(name) \($0.rawValue.lowercased())`" }.joined(separator: " or ")
            self.report(at: value.location, "`\(name) \(value.text)` in \(Self.place(value, section)) is not allowed", fix: "write \(choices)")
            return nil
        }
        return result
    }

    /// A duration in seconds, fractions allowed (`10`, `0.5`); `positive` rejects 0.
    mutating func duration(_ name: String, in section: RawSection, positive: Bool = false) -> Duration? {
        guard let value = self.value(name, in: section, requiredBy: []) else { return nil }
        guard let duration = Self.parseSeconds(value.text), !positive || duration > .zero else {
            self.report(
                at: value.location,
                "`\(name) \(value.text)` in \(Self.place(value, section)) is not a \(positive ? "positive " : "")number of seconds",
                fix: "write seconds as digits with an optional fraction, e.g. `\(name) \(positive ? "2" : "10")` or `\(name) 0.5`"
            )
            return nil
        }
        return duration
    }

    /// A comma-separated list (`a, b, c`); empty items are reported.
    mutating func list(_ name: String, in section: RawSection, requiredBy: Set<ConfigProgram> = []) -> [String]? {
        guard let value = self.value(name, in: section, requiredBy: requiredBy) else { return nil }
        let items = value.text.split(separator: ",", omittingEmptySubsequences: false).map {
            String(ConfigParser.trim($0))
        }
        if items.contains(where: \.isEmpty) {
            self.report(
                at: value.location,
                "`\(name)` in \(Self.place(value, section)) has an empty item",
                fix: "separate items with single commas, e.g. `\(name) \(Self.examples[name] ?? "a, b")`"
            )
            return nil
        }
        return items
    }

    /// One IP address.
    mutating func ip(_ name: String, in section: RawSection, requiredBy: Set<ConfigProgram> = []) -> IPAddress? {
        guard let value = self.value(name, in: section, requiredBy: requiredBy) else { return nil }
        guard let address = IPAddress(value.text) else {
            self.reportMalformedIP(value.text, directive: name, in: Self.place(value, section), at: value.location)
            return nil
        }
        return address
    }

    /// A comma-separated list of IP addresses.
    mutating func ipList(_ name: String, in section: RawSection, requiredBy: Set<ConfigProgram> = []) -> [IPAddress]? {
        guard let items = self.list(name, in: section, requiredBy: requiredBy) else { return nil }
        let value = section.values[name] ?? RawValue(text: "", location: section.location)
        var addresses: [IPAddress] = []
        var valid = true
        for item in items {
            if let address = IPAddress(item) {
                addresses.append(address)
            } else {
                self.reportMalformedIP(item, directive: name, in: Self.place(value, section), at: value.location)
                valid = false
            }
        }
        return valid ? addresses : nil
    }

    private mutating func reportMalformedIP(
        _ text: String,
        directive name: String,
        in place: String,
        at location: SourceLocation
    ) {
        self.report(
            at: location,
            "`\(text)` in `\(name)` of \(place) is not a valid IP address",
            fix: "write an IPv4 dotted quad of four numbers 0-255 without leading zeros (e.g. `192.168.1.101`) or an IPv6 address"
        )
    }

    /// Parses `digits[.digits]` seconds into a `Duration` with nanosecond precision.
    static func parseSeconds(_ text: String) -> Duration? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, (1...9).contains(whole.count),
            whole.allSatisfy({ $0.isASCII && $0.isNumber }), let seconds = Int64(whole)
        else { return nil }
        var nanoseconds: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...9).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
                let digits = Int64(fraction)
            else { return nil }
            var scale: Int64 = 1
            for _ in 0..<(9 - fraction.count) { scale *= 10 }
            nanoseconds = digits * scale
        }
        return .seconds(seconds) + .nanoseconds(nanoseconds)
    }
}
