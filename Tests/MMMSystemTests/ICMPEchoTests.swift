import MMMCore
import MMMSystem
import NIOPosix
import Testing

@Suite struct ICMPEchoTests {
    @Test func requestHasAValidChecksumAndFields() {
        let request = ICMPEcho.request(identifier: 0x1234, sequence: 0x0102, payload: Array("abc".utf8))
        #expect(request[0] == 8 && request[1] == 0)
        #expect(request[4...7] == [0x12, 0x34, 0x01, 0x02])
        #expect(ICMPEcho.checksum(request) == 0, "a message with its checksum sums to zero")
    }

    @Test func checksumMatchesRFC1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement), so the checksum is 220d.
        #expect(ICMPEcho.checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == 0x220d)
        #expect(ICMPEcho.checksum([0xff]) == 0x00ff)
    }

    @Test func repliesAreMatchedByTypeSequenceIdentifierAndChecksum() {
        var reply = ICMPEcho.request(identifier: 7, sequence: 9, payload: [1, 2, 3])
        reply[0] = 0
        reply[2] = 0
        reply[3] = 0
        let sum = ICMPEcho.checksum(reply)
        reply[2] = UInt8(sum >> 8)
        reply[3] = UInt8(sum & 0xff)
        #expect(ICMPEcho.isReply(reply, identifier: 7, sequence: 9))
        #expect(ICMPEcho.isReply(reply, identifier: nil, sequence: 9))
        #expect(!ICMPEcho.isReply(reply, identifier: 8, sequence: 9))
        #expect(!ICMPEcho.isReply(reply, identifier: 7, sequence: 10))
        var corrupted = reply
        corrupted[9] ^= 0xff
        #expect(!ICMPEcho.isReply(corrupted, identifier: 7, sequence: 9))
        #expect(!ICMPEcho.isReply(ICMPEcho.request(identifier: 7, sequence: 9, payload: []), identifier: 7, sequence: 9), "a request is no reply")
    }

    @Test func ipv4HeaderIsStrippedOnlyFromICMPPackets() {
        let icmp: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 2]
        var header = [UInt8](repeating: 0, count: 20)
        header[0] = 0x45
        header[9] = 1
        #expect(ICMPEcho.stripIPv4Header(header + icmp) == icmp)
        header[9] = 6  // TCP
        #expect(ICMPEcho.stripIPv4Header(header + icmp) == nil)
        #expect(ICMPEcho.stripIPv4Header([0x60] + icmp) == nil, "IPv6")
    }

    @Test(.timeLimit(.minutes(1)))
    func loopbackAnswersAndAMalformedAddressIsRefused() async throws {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let pinger = ICMPPinger(pool: pool)
        await #expect(throws: MMMError.self) { _ = try await pinger.ping("127.0.0.1; reboot", deadline: .seconds(1)) }
        do {
            let rtt = try await pinger.ping("127.0.0.1", deadline: .seconds(2))
            #expect(rtt < .seconds(2))
        } catch let error as MMMError where error.code == .accessDenied {
            // Not root and no ping group: the error must say what the check needs.
            #expect(error.message.contains("CAP_NET_RAW"))
        }
    }
}

@Suite struct ICMPEchoMultiplexerTests {
    @Test(.timeLimit(.minutes(1)))
    func manyPingsAtOnceShareOneSocketAndAllAreAnswered() async throws {
        let pinger = ICMPPinger(multiplexer: ICMPEchoMultiplexer())
        await #expect(throws: MMMError.self) { _ = try await pinger.ping("127.0.0.1; reboot", deadline: .seconds(1)) }
        do {
            // 50 loopback pings at once all answer.
            let answered = try await withThrowingTaskGroup(of: Duration.self) { group in
                for _ in 0..<50 { group.addTask { try await pinger.ping("127.0.0.1", deadline: .seconds(2)) } }
                var count = 0
                for try await rtt in group where rtt < .seconds(2) { count += 1 }
                return count
            }
            #expect(answered == 50)
        } catch let error as MMMError where error.code == .accessDenied {
            #expect(error.message.contains("CAP_NET_RAW"))
        }
    }
}
