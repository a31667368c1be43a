import MMMCore
import Testing

@Suite struct IPAddressTextTests {
    @Test(arguments: [
        ("198.18.0.101", [198, 18, 0, 101] as [UInt8]), ("0.0.0.0", [0, 0, 0, 0]), ("255.255.255.255", [255, 255, 255, 255]),
    ])
    func ipv4(_ text: String, _ octets: [UInt8]) {
        #expect(IPAddressText.ipv4Octets(text) == octets)
        #expect(IPAddressText.isIPAddress(text))
    }

    @Test(arguments: ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "", "1..2.3", " 1.2.3.4", "1.2.3.4;", "١.٢.٣.٤"])
    func notIPv4(_ text: String) {
        #expect(IPAddressText.ipv4Octets(text) == nil)
    }

    @Test func ipv6() {
        #expect(IPAddressText.ipv6Groups("fd00::2") == [0xfd00, 0, 0, 0, 0, 0, 0, 2])
        #expect(IPAddressText.ipv6Groups("::") == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(IPAddressText.ipv6Groups("::1") == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(IPAddressText.ipv6Groups("2001:DB8:0:0:0:0:0:1") == [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
        for bad in [":::1", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::1", "g::1", "fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.4"] {
            #expect(IPAddressText.ipv6Groups(bad) == nil, "\(bad)")
        }
    }
}
