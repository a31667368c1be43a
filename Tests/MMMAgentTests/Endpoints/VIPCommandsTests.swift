import MMMCore
import Testing

@testable import MMMAgent

@Suite("VIP provider command lines and parsers")
struct VIPCommandsTests {
    let plain = VIPCommands(configuration: VIPEndpointConfiguration(interface: "eth1"))
    let namespaced = VIPCommands(configuration: VIPEndpointConfiguration(interface: "eth0", networkNamespace: "mmmv-h1"))

    @Test("ip commands in the agent's own namespace")
    func ipCommands() {
        #expect(self.plain.addressShow == ProgramInvocation(executable: "/usr/sbin/ip", arguments: ["-o", "-4", "addr", "show", "dev", "eth1"]))
        #expect(
            self.plain.addressAdd("10.0.0.5")
                == ProgramInvocation(executable: "/usr/sbin/ip", arguments: ["addr", "add", "10.0.0.5/32", "dev", "eth1"])
        )
        #expect(
            self.plain.addressDelete("10.0.0.5")
                == ProgramInvocation(executable: "/usr/sbin/ip", arguments: ["addr", "del", "10.0.0.5/32", "dev", "eth1"])
        )
    }

    @Test("arping commands: duplicate check with probes from 0.0.0.0, announcement without waiting")
    func arpingCommands() {
        #expect(
            self.plain.duplicateCheck("10.0.0.5")
                == ProgramInvocation(
                    executable: "/usr/sbin/arping",
                    arguments: ["-0", "-r", "-C", "1", "-c", "2", "-W", "0.1", "-w", "0.3", "-i", "eth1", "10.0.0.5"]
                )
        )
        #expect(
            self.plain.announce("10.0.0.5")
                == ProgramInvocation(
                    executable: "/usr/sbin/arping",
                    arguments: ["-q", "-U", "-S", "10.0.0.5", "-c", "1", "-w", "0", "-i", "eth1", "10.0.0.5"]
                )
        )
    }

    @Test("a namespace uses ip -n for ip and ip netns exec for arping")
    func namespacedCommands() {
        #expect(self.namespaced.addressAdd("198.18.0.100").arguments.prefix(2) == ["-n", "mmmv-h1"])
        #expect(self.namespaced.addressShow.arguments.prefix(2) == ["-n", "mmmv-h1"])
        let announce = self.namespaced.announce("198.18.0.100")
        #expect(announce.executable == "/usr/sbin/ip")
        #expect(Array(announce.arguments.prefix(5)) == ["netns", "exec", "mmmv-h1", "/usr/sbin/arping", "-q"])
    }

    @Test("addresses are read from ip -o -4 addr show")
    func parseAddresses() {
        let output = """
            2: eth0    inet 198.18.0.10/24 scope global eth0\\       valid_lft forever preferred_lft forever
            2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever

            """
        #expect(VIPCommands.parseAddresses(output) == ["198.18.0.10", "198.18.0.100"])
        #expect(VIPCommands.parseAddresses("") == [])
    }

    @Test("MACs are read from arping -r output; other lines are ignored")
    func parseMACs() {
        #expect(VIPCommands.parseMACs("6a:16:08:50:21:3a\n") == ["6a:16:08:50:21:3a"])
        #expect(VIPCommands.parseMACs("6A:16:08:50:21:3A\n6a:16:08:50:21:3a\n16:db:79:a7:c9:71") == ["6a:16:08:50:21:3a", "16:db:79:a7:c9:71"])
        #expect(VIPCommands.parseMACs("Timeout\narping: libnet_init(LIBNET_LINK, x): no such device") == [])
        #expect(VIPCommands.parseMACs("6a:16:08:50:21") == [])
    }

    @Test("durations are written as seconds for arping", arguments: [
        (Duration.milliseconds(300), "0.3"), (.milliseconds(100), "0.1"), (.seconds(1), "1"), (.milliseconds(1050), "1.05"),
        (.milliseconds(5), "0.005"), (.zero, "0"),
    ])
    func seconds(_ duration: Duration, _ text: String) {
        #expect(VIPCommands.seconds(duration) == text)
    }

    @Test("a bad configuration is refused before any command can be built", arguments: [
        VIPEndpointConfiguration(interface: "eth0;reboot"),
        VIPEndpointConfiguration(interface: "eth0", ipPath: "ip"),
        VIPEndpointConfiguration(interface: "eth0", arpingPath: "arping"),
        VIPEndpointConfiguration(interface: "eth0", networkNamespace: "ns x"),
        VIPEndpointConfiguration(interface: "eth0", duplicateCheck: .init(probes: 0)),
        VIPEndpointConfiguration(interface: "eth0", announcements: .init(count: -1)),
    ])
    func refusesConfiguration(_ configuration: VIPEndpointConfiguration) {
        let error = #expect(throws: MMMError.self) { try configuration.validate() }
        #expect(error?.code == .invalidArgument)
    }
}
