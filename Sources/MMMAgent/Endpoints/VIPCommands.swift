/// One program invocation: an absolute path and its argument vector (never a shell line).
struct ProgramInvocation: Hashable, Sendable {
    /// The program's absolute path.
    var executable: String
    /// The arguments, each passed to the program as one `argv` element.
    var arguments: [String]
}

/// The argument vectors of the VIP provider and the parsers of what the tools print: pure, so tests can check them
/// without root.
///
/// Every value in them has passed ``EndpointArguments`` before a `VIPCommands` is built.
struct VIPCommands: Sendable {
    /// The interface, namespace and tool paths the commands use.
    let configuration: VIPEndpointConfiguration

    /// `ip [-n NS] -o -4 addr show dev IFACE`
    var addressShow: ProgramInvocation {
        self.ip(["-o", "-4", "addr", "show", "dev", self.configuration.interface])
    }

    /// `ip [-n NS] addr add IP/32 dev IFACE`
    func addressAdd(_ ip: String) -> ProgramInvocation {
        self.ip(["addr", "add", "\(ip)/32", "dev", self.configuration.interface])
    }

    /// `ip [-n NS] addr del IP/32 dev IFACE`
    func addressDelete(_ ip: String) -> ProgramInvocation {
        self.ip(["addr", "del", "\(ip)/32", "dev", self.configuration.interface])
    }

    /// `arping -0 -r -C 1 -c N -W INTERVAL -w WAIT -i IFACE IP`: RFC 5227 probes with source 0.0.0.0; prints the MAC
    /// of each host that answers and stops at the first answer. Exit status 0 when someone answered, 1 when not.
    func duplicateCheck(_ ip: String) -> ProgramInvocation {
        let check = self.configuration.duplicateCheck
        return self.arping([
            "-0", "-r", "-C", "1",
            "-c", String(check.probes),
            "-W", Self.seconds(check.interval),
            "-w", Self.seconds(check.wait),
            "-i", self.configuration.interface,
            ip,
        ])
    }

    /// `arping -q -U -S IP -c 1 -w 0 -i IFACE IP`: one unsolicited (gratuitous) ARP request, without waiting for
    /// replies (`-w 0`), so it takes a few milliseconds instead of arping's usual wait.
    func announce(_ ip: String) -> ProgramInvocation {
        self.arping(["-q", "-U", "-S", ip, "-c", "1", "-w", "0", "-i", self.configuration.interface, ip])
    }

    private func ip(_ arguments: [String]) -> ProgramInvocation {
        if let namespace = self.configuration.networkNamespace {
            return ProgramInvocation(executable: self.configuration.ipPath, arguments: ["-n", namespace] + arguments)
        }
        return ProgramInvocation(executable: self.configuration.ipPath, arguments: arguments)
    }

    private func arping(_ arguments: [String]) -> ProgramInvocation {
        if let namespace = self.configuration.networkNamespace {
            return ProgramInvocation(
                executable: self.configuration.ipPath,
                arguments: ["netns", "exec", namespace, self.configuration.arpingPath] + arguments
            )
        }
        return ProgramInvocation(executable: self.configuration.arpingPath, arguments: arguments)
    }

    /// The IPv4 addresses in `ip -o -4 addr show` output, without prefix lengths.
    ///
    /// A line looks like `2: eth0    inet 198.18.0.10/24 brd 198.18.0.255 scope global eth0\ ...`.
    static func parseAddresses(_ output: String) -> Set<String> {
        var addresses: Set<String> = []
        for line in output.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let index = words.firstIndex(of: "inet"), index + 1 < words.count else { continue }
            let address = words[index + 1].split(separator: "/", maxSplits: 1)[0]
            addresses.insert(String(address))
        }
        return addresses
    }

    /// The MAC addresses that `arping -r` printed, one per line, lowercased.
    static func parseMACs(_ output: String) -> [String] {
        var macs: [String] = []
        for line in output.split(whereSeparator: \.isNewline) {
            let word = line.trimmingSpaces()
            let groups = word.split(separator: ":", omittingEmptySubsequences: false)
            guard groups.count == 6, groups.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
                continue
            }
            let mac = word.lowercased()
            if !macs.contains(mac) { macs.append(mac) }
        }
        return macs
    }

    /// `duration` in seconds with millisecond precision (`0.3`, `1.05`), as arping's `-w` and `-W` take it.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        let fraction = milliseconds % 1000
        if fraction == 0 { return String(milliseconds / 1000) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(milliseconds / 1000).\(digits)"
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let start = self.firstIndex(where: { !isSpace($0) }) else { return "" }
        // Force-unwrap: a non-space character exists (found above).
        let end = self.lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
