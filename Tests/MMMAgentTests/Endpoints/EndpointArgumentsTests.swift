import MMMCore
import Testing

@testable import MMMAgent

@Suite("Endpoint argument validation")
struct EndpointArgumentsTests {
    @Test("strict IPv4 addresses usable as a VIP are accepted", arguments: [
        "198.18.0.100", "10.0.0.1", "1.2.3.4", "223.255.255.254", "192.168.0.0",
    ])
    func acceptsIPv4(_ ip: String) throws {
        #expect(try EndpointArguments.validateIPv4(ip) == ip)
    }

    @Test("anything else is refused as an IP", arguments: [
        "", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.4/32", " 1.2.3.4", "1.2.3.4 ",
        "1.2.3.4\n", "1.2.3.4;reboot", "$(reboot)", "1.2.3.-4", "1..3.4", "::1", "fe80::1", "0x1.2.3.4",
        "\u{0661}.2.3.4", "1.2.3.4\0", "-1.2.3.4",
        "0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255",
    ])
    func refusesIPv4(_ ip: String) {
        let error = #expect(throws: MMMError.self) { try EndpointArguments.validateIPv4(ip) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("interface names of 1-15 safe characters are accepted", arguments: [
        "eth0", "br-lan", "eth0.100", "eth0:1", "a", "enp0s31f6_x.1-2", "abcdefghijklmno",
    ])
    func acceptsInterface(_ name: String) throws {
        #expect(try EndpointArguments.validateInterfaceName(name) == name)
    }

    @Test("unsafe or overlong interface names are refused", arguments: [
        "", "abcdefghijklmnop", "-i", "-", ".", "..", "eth 0", "eth0;ls", "eth0/1", "eth\u{e9}", "eth0\n", "$(x)", "eth0`",
    ])
    func refusesInterface(_ name: String) {
        let error = #expect(throws: MMMError.self) { try EndpointArguments.validateInterfaceName(name) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("role names follow the config's name rule", arguments: [
        ("writer", true), ("reader_1", true), ("role.a-b", true), (String(repeating: "r", count: 64), true),
        ("", false), ("-x", false), (".x", false), ("a b", false), ("w;rm", false), ("w$(id)", false),
        (String(repeating: "r", count: 65), false), ("r\u{e9}", false),
    ])
    func roleNames(_ name: String, _ valid: Bool) {
        #expect(((try? EndpointArguments.validateRoleName(name)) != nil) == valid)
    }

    @Test("a refused value is printed with control characters escaped")
    func printableEscapes() {
        let error = #expect(throws: MMMError.self) { try EndpointArguments.validateIPv4("1.2.3.4\nFAKE LOG LINE") }
        #expect(error?.message.contains("\n") == false)
        #expect(error?.message.contains("1.2.3.4\\u{a}FAKE") == true)
    }

    @Test("program paths must be absolute")
    func programPaths() throws {
        #expect(try EndpointArguments.validateProgramPath("/usr/local/bin/move-vip") == "/usr/local/bin/move-vip")
        #expect(throws: MMMError.self) { try EndpointArguments.validateProgramPath("move-vip") }
        #expect(throws: MMMError.self) { try EndpointArguments.validateProgramPath("/bin/x\nother") }
        #expect(throws: MMMError.self) { try EndpointArguments.validateProgramPath("") }
    }
}
