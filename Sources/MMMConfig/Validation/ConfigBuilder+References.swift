import MMMCore
/// Checks between sections: peers, role hosts, `prefer`, duplicate addresses, `this`, `active_master_role`.
extension ConfigBuilder {
    /// Reports references that point nowhere or conflict; runs after every section is typed.
    mutating func checkReferences(_ configuration: MMMConfiguration) {
        let hostSections = self.applyingTemplate(self.raw.sections("host"), kind: "host")
        let knownHosts = hostSections.compactMap(\.name)
        let globals = self.raw.globals

        if let this = configuration.this, let value = globals.values["this"], !knownHosts.contains(this) {
            self.report(
                at: value.location,
                "`this \(this)` names no <host> section",
                fix: "write `this NAME` with the local host's section name (\(Self.choices(knownHosts)))"
            )
        }

        self.checkPeers(configuration, sections: hostSections)
        self.checkHostAddresses(configuration, sections: hostSections)
        self.checkRoles(configuration, knownHosts: knownHosts)

        if let roleName = configuration.activeMasterRole, let value = globals.values["active_master_role"] {
            if let role = configuration.role(named: roleName) {
                if role.mode != .exclusive {
                    self.report(
                        at: value.location,
                        "`active_master_role \(roleName)` names a balanced role; the writer role must be exclusive",
                        fix: "write `mode exclusive` in <role \(roleName)>, or name the exclusive role"
                    )
                }
            } else if !self.raw.sections("role").contains(where: { $0.name == roleName }) {
                let roles = self.raw.sections("role").compactMap(\.name)
                self.report(
                    at: value.location,
                    "`active_master_role \(roleName)` names no <role> section",
                    fix: "write `active_master_role NAME` with the writer role's name (\(Self.choices(roles)))"
                )
            }
        }
        if let method = configuration.defaultCopyMethod, let value = globals.values["default_copy_method"],
            !self.raw.sections("copy_method").contains(where: { $0.name == method })
        {
            self.report(
                at: value.location,
                "`default_copy_method \(method)` names no <copy_method> section",
                fix: "add <copy_method \(method)>, or name an existing one"
            )
        }
        if let monitor = configuration.monitor, let section = self.raw.uniqueSections["monitor"],
            let value = section.values["ping_ips"]
        {
            let vips = Set(configuration.roles.flatMap(\.ips))
            for address in monitor.pingIPs where vips.contains(address) {
                self.report(
                    at: value.location,
                    "`ping_ips` of <monitor> lists the role address \(address); a VIP moves between hosts and does not prove the monitor's network works",
                    fix: "list only real addresses: the hosts' own IPs or a gateway, e.g. `ping_ips 192.168.1.101, 192.168.1.102`"
                )
            }
        }
    }

    private mutating func checkPeers(_ configuration: MMMConfiguration, sections: [RawSection]) {
        for section in sections {
            guard let name = section.name, let host = configuration.host(named: name) else { continue }
            let otherMasters = configuration.hosts.filter { $0.mode == .master && $0.name != name }.map(\.name)
            let suggestion: String
            switch otherMasters.count {
            case 0: suggestion = "`peer OTHER` naming the other master's <host> section (add it if it is missing)"
            case 1: suggestion = "`peer \(otherMasters[0])` (the other master)"
            default: suggestion = otherMasters.map { "`peer \($0)`" }.joined(separator: " or ")
            }
            let inherited = section.values["peer"]?.fromTemplate == true ? " (inherited from <host default>)" : ""
            guard let peer = host.peer, let value = section.values["peer"] else {
                if host.mode == .master {
                    self.report(
                        at: section.location,
                        "\(section.label) has `mode master` but no `peer`",
                        fix: "add \(suggestion) to \(section.label)"
                    )
                }
                continue
            }
            if peer == name {
                self.report(
                    at: value.location,
                    "`peer \(peer)` in \(section.label) names the host itself\(inherited); a master's peer is the other master",
                    fix: "write \(suggestion)"
                )
            } else if let peerHost = configuration.host(named: peer) {
                if host.mode == .master && peerHost.mode != .master {
                    self.report(
                        at: value.location,
                        "`peer \(peer)` in \(section.label) names a slave; a master's peer is the other master",
                        fix: "write \(suggestion)"
                    )
                }
            } else if !self.incompleteHosts.contains(peer) {
                self.report(
                    at: value.location,
                    "`peer \(peer)` in \(section.label) names no <host> section\(inherited)",
                    fix: "write \(suggestion), or add <host \(peer)>"
                )
            }
        }
    }

    private mutating func checkHostAddresses(_ configuration: MMMConfiguration, sections: [RawSection]) {
        var seen: [IPAddress: (String, SourceLocation)] = [:]
        for section in sections {
            guard let name = section.name, let host = configuration.host(named: name),
                let value = section.values["ip"]
            else { continue }
            if let (first, firstLocation) = seen[host.ip] {
                self.report(
                    at: value.location,
                    "`ip \(value.text)` of \(section.label) is already the address of <host \(first)> (\(firstLocation))",
                    fix: "give each host its own permanent address"
                )
            } else {
                seen[host.ip] = (name, value.location)
            }
        }
    }

    private mutating func checkRoles(_ configuration: MMMConfiguration, knownHosts: [String]) {
        let hostAddresses = Dictionary(configuration.hosts.map { ($0.ip, $0.name) }, uniquingKeysWith: { first, _ in first })
        var seenVIPs: [IPAddress: (String, SourceLocation)] = [:]
        for section in self.raw.sections("role") {
            guard let name = section.name, let role = configuration.role(named: name) else { continue }
            let hostsLocation = section.values["hosts"]?.location ?? section.location
            var listed: Set<String> = []
            for host in role.hosts {
                if !listed.insert(host).inserted {
                    self.report(
                        at: hostsLocation,
                        "\(section.label) lists host \(host) twice",
                        fix: "list each host once, e.g. `hosts \(Self.uniqued(role.hosts).joined(separator: ", "))`"
                    )
                } else if !knownHosts.contains(host) && NameRules.isValidName(host) {
                    let others = Self.uniqued(role.hosts.filter { $0 != host && knownHosts.contains($0) })
                    self.report(
                        at: hostsLocation,
                        "\(section.label) names host \(host), which has no <host \(host)> section",
                        fix: "add a <host \(host)> section with its `ip` and `mode`, or remove it: `hosts \(others.isEmpty ? "db1, db2" : others.joined(separator: ", "))`"
                    )
                }
            }
            let uniqueHosts = Self.uniqued(role.hosts)
            if name == configuration.activeMasterRole, uniqueHosts.count > 2, self.program == .monitor || self.program == nil {
                // MMM's monitor dies at startup on this (check_master_configuration).
                let masters = uniqueHosts.filter { configuration.host(named: $0)?.mode == .master }
                let example = (masters.count >= 2 ? masters : uniqueHosts).prefix(2).joined(separator: ", ")
                self.report(
                    at: hostsLocation,
                    "\(section.label) (the active master role) lists \(uniqueHosts.count) hosts; MMM supports exactly two masters that can be the writer",
                    fix: "list the two masters, e.g. `hosts \(example)`"
                )
            }
            if let prefer = role.prefer, let value = section.values["prefer"] {
                if !role.hosts.contains(prefer) {
                    self.report(
                        at: value.location,
                        "`prefer \(prefer)` in \(section.label) is not one of the role's hosts (\(role.hosts.joined(separator: ", ")))",
                        fix: "write `prefer \(role.hosts[0])` (one of `hosts`), or add \(prefer) to `hosts`"
                    )
                } else if role.mode == .balanced {
                    self.report(
                        .warning,
                        at: value.location,
                        "`prefer` in \(section.label) is ignored because the role is balanced (as in MMM)",
                        fix: "remove the line, or make the role `mode exclusive`"
                    )
                }
            }
            let ipsLocation = section.values["ips"]?.location ?? section.location
            if role.mode == .exclusive && role.ips.count > 1 {
                self.report(
                    at: ipsLocation,
                    "exclusive \(section.label) has \(role.ips.count) ips; an exclusive role has exactly one (MMM picked one at random)",
                    fix: "write one address, e.g. `ips \(section.values["ips"].map { String(ConfigParser.trim($0.text.split(separator: ",")[0])) } ?? "192.168.1.210")`"
                )
            }
            for address in role.ips {
                if case .v4(let first, _, _, _) = address, first == 0 || first == 127 || first >= 224 {
                    self.report(
                        at: ipsLocation,
                        "role address \(address) of \(section.label) is a this-network, loopback, multicast or reserved address, which cannot move between hosts",
                        fix: "use an unused unicast address in the hosts' subnet, e.g. `ips 192.168.1.210`"
                    )
                }
                if let (firstRole, firstLocation) = seenVIPs[address] {
                    let where_ = firstRole == name ? "earlier in the same list" : "by <role \(firstRole)> (\(firstLocation))"
                    self.report(
                        at: ipsLocation,
                        "role address \(address) of \(section.label) is already used \(where_)",
                        fix: "give every role IP its own unused address"
                    )
                } else {
                    seenVIPs[address] = (name, ipsLocation)
                }
                if let host = hostAddresses[address] {
                    self.report(
                        at: ipsLocation,
                        "role address \(address) of \(section.label) is the permanent `ip` of <host \(host)>; moving it would cut that host off",
                        fix: "use an unused address in the same subnet as the role IP (a VIP), e.g. `ips 192.168.1.210`"
                    )
                }
            }
        }
    }

    /// `one of: a, b` or `none is defined yet`, for fixes.
    static func choices(_ names: [String]) -> String {
        names.isEmpty ? "none is defined yet" : "one of: " + names.joined(separator: ", ")
    }

    /// `names` without repeats, in order.
    static func uniqued(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }
}
