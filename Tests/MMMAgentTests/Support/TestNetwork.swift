import MMMCore
import MMMSystem

/// An isolated layer-2 network made only of network namespaces named `mmmv-*`, for the VIP provider tests.
///
/// `mmmv-net` holds a bridge `br0`; `mmmv-h1`, `mmmv-h2` and `mmmv-client` each have an `eth0` (one end of a veth pair
/// whose other end is a bridge port in `mmmv-net`) with an address in 198.18.0.0/24. Nothing is created in the root
/// namespace, so this cannot collide with the bench (`mmmb-*` namespaces and the root namespace's `mmmb-br0`), and
/// the 198.18.0.x addresses exist only inside these namespaces.
struct TestNetwork: Sendable {
    /// The prefix of every namespace the tests create; leftovers with it are removed before a network is built.
    static let prefix = "mmmv-"
    /// The namespace holding the bridge.
    static let bridgeNamespace = "mmmv-net"
    /// The two database hosts, then the client.
    static let h1 = "mmmv-h1"
    static let h2 = "mmmv-h2"
    static let client = "mmmv-client"
    /// Each host namespace's own address on `eth0`.
    static let addresses = [h1: "198.18.0.10", h2: "198.18.0.11", client: "198.18.0.12"]
    /// The interface name inside each host namespace.
    static let interface = "eth0"
    /// The virtual IP the tests move around.
    static let vip = "198.18.0.100"

    private static let ipPath = "/usr/sbin/ip"

    let runner: CommandRunner

    /// Builds the network (after removing leftovers), runs `body`, and always removes the namespaces again.
    static func with<T: Sendable>(runner: CommandRunner, _ body: (TestNetwork) async throws -> T) async throws -> T {
        let network = TestNetwork(runner: runner)
        try await network.removeLeftovers()
        do {
            try await network.build()
            let value = try await body(network)
            try await network.removeLeftovers()
            return value
        } catch {
            try? await network.removeLeftovers()
            throw error
        }
    }

    /// Runs `ip ARGUMENTS` and returns its output; a non-zero exit throws.
    @discardableResult
    func ip(_ arguments: String...) async throws -> String {
        try await self.ip(arguments)
    }

    /// Runs `ip ARGUMENTS` and returns its output; a non-zero exit throws.
    @discardableResult
    func ip(_ arguments: [String]) async throws -> String {
        let result = try await self.runner.run(Self.ipPath, arguments, deadline: .seconds(10))
        guard result.status == 0 else {
            throw MMMError(.commandFailed, "ip \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
        return result.output
    }

    /// The IPv4 addresses with prefix length on `eth0` of `namespace`, as `ip -n NS -o -4 addr show` lists them.
    func addresses(in namespace: String) async throws -> [String] {
        let output = try await self.ip("-n", namespace, "-o", "-4", "addr", "show", "dev", Self.interface)
        return output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "inet"), index + 1 < words.count else { return nil }
            return String(words[index + 1])
        }
    }

    /// The MAC address of `eth0` in `namespace`.
    func mac(of namespace: String) async throws -> String {
        let output = try await self.ip("-n", namespace, "-o", "link", "show", "dev", Self.interface)
        let words = output.split(separator: " ")
        guard let index = words.firstIndex(of: "link/ether"), index + 1 < words.count else {
            throw MMMError(.unexpectedResult, "no MAC in: \(output)")
        }
        return words[index + 1].lowercased()
    }

    /// The MAC the client's neighbour table has for `ip`, or `nil` when it has no usable entry.
    func clientNeighbourMAC(for ip: String) async throws -> String? {
        let output = try await self.ip("-n", Self.client, "neigh", "show", ip)
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let index = words.firstIndex(of: "lladdr"), index + 1 < words.count else { return nil }
        return words[index + 1].lowercased()
    }

    /// Pings `ip` once from the client namespace; returns whether it answered.
    func clientPings(_ ip: String) async throws -> Bool {
        let result = try await self.runner.run(
            Self.ipPath,
            ["netns", "exec", Self.client, "/usr/bin/ping", "-c", "1", "-W", "1", ip],
            deadline: .seconds(5)
        )
        return result.status == 0
    }

    private func build() async throws {
        try await self.ip("netns", "add", Self.bridgeNamespace)
        try await self.ip("-n", Self.bridgeNamespace, "link", "add", "br0", "type", "bridge")
        try await self.ip("-n", Self.bridgeNamespace, "link", "set", "br0", "up")
        for host in [Self.h1, Self.h2, Self.client] {
            let port = String(host.dropFirst(Self.prefix.count))
            try await self.ip("netns", "add", host)
            try await self.ip(
                "-n", Self.bridgeNamespace, "link", "add", port, "type", "veth", "peer", "name", Self.interface, "netns", host
            )
            try await self.ip("-n", Self.bridgeNamespace, "link", "set", port, "master", "br0", "up")
            try await self.ip("-n", host, "link", "set", "lo", "up")
            // Force-unwrap: every host has an address in the table above.
            try await self.ip("-n", host, "addr", "add", "\(Self.addresses[host]!)/24", "dev", Self.interface)
            try await self.ip("-n", host, "link", "set", Self.interface, "up")
        }
    }

    /// Deletes every namespace named `mmmv-*` (their veth pairs and bridge go with them), and nothing else.
    func removeLeftovers() async throws {
        let output = try await self.ip("netns", "list")
        for line in output.split(separator: "\n") {
            // Lines look like `mmmv-h1 (id: 3)` or just `mmmv-h1`.
            guard let name = line.split(separator: " ").first, name.hasPrefix(Self.prefix) else { continue }
            try await self.ip("netns", "del", String(name))
        }
    }
}
