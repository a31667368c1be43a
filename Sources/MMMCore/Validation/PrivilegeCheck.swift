/// Which global privileges each swift-mmm account needs on MariaDB, and which of them an account lacks, read from
/// `SHOW GRANTS FOR CURRENT_USER()` (DESIGN.md §9.7: least privilege, checked at start).
///
/// MariaDB split `SUPER` in 10.5 into `READ_ONLY ADMIN`, `CONNECTION ADMIN`, `REPLICATION SLAVE ADMIN`,
/// `REPLICATION MASTER ADMIN`, `SLAVE MONITOR`, … . `SUPER` still implies most of them before 11.0, but no longer
/// `READ_ONLY ADMIN` from 10.11 (failover facts R6), and none of them from 11.0. So the check takes the server's
/// version, and the `GRANT` it proposes always names the split privileges, which every supported version accepts.
/// `ALL PRIVILEGES` covers everything. Privileges that come through a role (`GRANT role TO user`) are not followed:
/// grant them to the account directly.
public enum PrivilegeCheck {
    /// The accounts swift-mmm uses.
    public enum Account: Sendable, Hashable {
        /// `agent_user`: the agent's own server (fence, promote, repoint, sessions; semi-sync under zero loss).
        case agent(zeroLoss: Bool)
        /// `monitor_user`: the monitor's checks of every server.
        case monitor
        /// `replication_user`: the peers' replication connections to this server.
        case replication
    }

    /// One thing an account must be able to do, and the privileges that allow it.
    public struct Requirement: Sendable, Hashable {
        /// What the privilege is for, e.g. `set read_only (fencing and promotion)`.
        public var purpose: String
        /// The privilege to grant (the split name).
        public var privilege: String
        /// Until which server version (exclusive; major × 100 + minor) `SUPER` implies it, if it ever did.
        public var superUntil: Int?
        /// Other privileges that allow it too.
        public var alternatives: [String]
    }

    /// What `account` needs, in the order it is used.
    public static func requirements(for account: Account) -> [Requirement] {
        switch account {
        case .agent(let zeroLoss):
            var needs = [
                Requirement(purpose: "set read_only (fencing and promotion)", privilege: "READ_ONLY ADMIN", superUntil: 1011, alternatives: []),
                Requirement(purpose: "kill client sessions when fencing", privilege: "CONNECTION ADMIN", superUntil: 1100, alternatives: []),
                Requirement(purpose: "see every client session", privilege: "PROCESS", superUntil: nil, alternatives: []),
                Requirement(
                    purpose: "stop, start and repoint replication", privilege: "REPLICATION SLAVE ADMIN", superUntil: 1100, alternatives: []
                ),
                Requirement(
                    purpose: "read replication status", privilege: "SLAVE MONITOR", superUntil: 1100, alternatives: ["REPLICATION SLAVE ADMIN"]
                ),
            ]
            if zeroLoss {
                needs.append(
                    Requirement(
                        purpose: "set the semi-sync master variables (failover_policy zero_loss)", privilege: "REPLICATION MASTER ADMIN",
                        superUntil: 1100, alternatives: []
                    )
                )
            }
            return needs
        case .monitor:
            return [
                Requirement(
                    purpose: "read replication status (rep_threads, rep_backlog)", privilege: "SLAVE MONITOR", superUntil: 1100,
                    alternatives: ["REPLICATION SLAVE ADMIN"]
                )
            ]
        case .replication:
            return [Requirement(purpose: "replicate from this server", privilege: "REPLICATION SLAVE", superUntil: nil, alternatives: [])]
        }
    }

    /// The global privileges (`ON *.*`) in `SHOW GRANTS` lines, upper-cased, e.g. `["SUPER", "PROCESS"]`.
    public static func globalPrivileges(showGrants lines: [String]) -> Set<String> {
        var privileges: Set<String> = []
        for line in lines {
            let upper = line.uppercased()
            guard upper.hasPrefix("GRANT "), let on = upper.firstRange(of: " ON *.* TO ") else { continue }
            let list = upper[upper.index(upper.startIndex, offsetBy: 6)..<on.lowerBound]
            for item in list.split(separator: ",") {
                let name = item.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                if !name.isEmpty { privileges.insert(name) }
            }
        }
        return privileges
    }

    /// The requirements of `account` that `grants` (lines of `SHOW GRANTS`) do not meet on a server of
    /// `version` (major × 100 + minor, e.g. 1011 for 10.11).
    public static func missing(for account: Account, showGrants grants: [String], serverVersion version: Int) -> [Requirement] {
        let held = self.globalPrivileges(showGrants: grants)
        if held.contains("ALL PRIVILEGES") || held.contains("ALL") { return [] }
        return self.requirements(for: account).filter { requirement in
            if held.contains(requirement.privilege) { return false }
            if requirement.alternatives.contains(where: held.contains) { return false }
            if let until = requirement.superUntil, version < until, held.contains("SUPER") { return false }
            return true
        }
    }

    /// The statement that grants what is missing, e.g. ``GRANT READ_ONLY ADMIN ON *.* TO 'mmm_agent'@'%';``.
    /// `user` and `host` are quoted for display only; they come from `CURRENT_USER()`.
    public static func grantStatement(_ missing: [Requirement], user: String, host: String) -> String {
        let names = missing.map(\.privilege).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        func quoted(_ text: String) -> String { "'" + text.replacing("'", with: "''") + "'" }
        return "GRANT \(names.joined(separator: ", ")) ON *.* TO \(quoted(user))@\(quoted(host));"
    }

    /// `CURRENT_USER()`'s text (`user@host`) split at its last `@`.
    public static func splitAccount(_ text: String) -> (user: String, host: String) {
        guard let at = text.lastIndex(of: "@") else { return (text, "%") }
        return (String(text[..<at]), String(text[text.index(after: at)...]))
    }

    /// `major × 100 + minor` from `@@version`, e.g. 1011 from `10.11.6-MariaDB-0+deb12u1`; nil when unreadable.
    public static func versionNumber(_ version: String) -> Int? {
        let parts = version.split(separator: "-", maxSplits: 1).first?.split(separator: ".") ?? []
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        return major * 100 + minor
    }
}
