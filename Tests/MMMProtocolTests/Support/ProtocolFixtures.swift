import Crypto
import MMMCore
import NIOCore

@testable import MMMProtocol

/// Shared values for the protocol tests.
enum ProtocolFixtures {
    static let secret = "correct horse battery staple"
    static let key = ProtocolKey(secret: secret)
    static let codec = FrameCodec(key: key)
    static let now = ProtocolTimestamp(millisecondsSince1970: 1_764_000_000_000)

    static func stamp(_ counter: UInt64, atOffset milliseconds: Int64 = 0) -> FrameStamp {
        FrameStamp(
            timestamp: ProtocolTimestamp(millisecondsSince1970: now.millisecondsSince1970 + milliseconds),
            counter: counter
        )
    }

    static let roles = [
        RoleIP(role: "writer", ip: "192.168.0.50"),
        RoleIP(role: "reader", ip: "192.168.0.51"),
        RoleIP(role: "reader_v6", ip: "fd00::51"),
    ]

    /// One value of every request case.
    static let requests: [AgentRequest] = [
        .ping,
        .setStatus(SetStatus(state: .online, roles: roles, activeMaster: "db1", epoch: 7, handedOver: [roles[0]])),
        .setStatus(SetStatus(state: .adminOffline, roles: [], activeMaster: nil, epoch: 0)),
        .getAgentStatus,
        .getSystemInfo,
        .clearBadRoles,
        .getDrainStatus(DrainQuery(maximumWaitMilliseconds: 5_000)),
        .getGTIDPositions,
        .canReach(ReachQuery(host: "db1", service: .mysql)),
        .canReach(ReachQuery(host: "monitor", service: .monitor)),
        .canReach(ReachQuery(host: "db2", service: .agent)),
        .fence(FenceOrder(target: "db1", epoch: 8, reason: "writer lease expired\nstandby took over")),
    ]

    /// One value of every response case.
    static let responses: [AgentResponse] = [
        .pong(AgentPong(uptimeMilliseconds: 123_456)),
        .statusApplied(AgentStatus(state: .online, roles: roles, activeMaster: "db1", epoch: 7, uptimeMilliseconds: 9, lastError: "acquireIP(writer(198.18.0.200)) failed: refusing to take it")),
        .agentStatus(AgentStatus(state: nil, roles: [], activeMaster: nil, epoch: 0, uptimeMilliseconds: 0)),
        .statusApplied(AgentStatus(state: .online, roles: roles, activeMaster: nil, epoch: 9, uptimeMilliseconds: 2, fencedAwaitingEpoch: true)),
        .agentStatus(
            AgentStatus(state: .replicationFail, roles: [], activeMaster: "db2", epoch: 3, uptimeMilliseconds: 1)
        ),
        .systemInfo(
            SystemInfo(
                writable: true,
                rolesOnInterface: roles,
                replicationSource: "192.168.0.12",
                uptimeMilliseconds: 5
            )
        ),
        .systemInfo(SystemInfo(writable: false, rolesOnInterface: [], replicationSource: nil, uptimeMilliseconds: 5)),
        .systemInfo(SystemInfo(writable: false, rolesOnInterface: [], replicationSource: "db2", uptimeMilliseconds: 5)),
        .badRolesCleared([RoleIP(role: "reader", ip: "10.0.0.3")]),
        .badRolesCleared([]),
        .drainStatus(
            DrainStatus(
                drained: true,
                receivedPosition: "0-1-100,1-2-57",
                appliedPosition: "0-1-100,1-2-57",
                ioThreadRunning: false,
                sqlThreadRunning: true,
                lastSQLErrorNumber: 0
            )
        ),
        .drainStatus(
            DrainStatus(
                drained: false,
                receivedPosition: "",
                appliedPosition: "",
                ioThreadRunning: true,
                sqlThreadRunning: false,
                lastSQLErrorNumber: 1062
            )
        ),
        .gtidPositions(
            GTIDPositions(
                binlogPosition: "0-1-100",
                binlogState: "0-2-90,0-1-100",
                currentPosition: "0-1-100",
                slavePosition: "0-1-100,1-2-5",
                receivedPosition: "1-2-5"
            )
        ),
        .reachability(
            ReachReport(host: "db1", service: .mysql, reachable: false, detail: "connect timed out after 1 s")
        ),
        .reachability(ReachReport(host: "db1", service: .mysql, reachable: true, detail: "read_only ON", readOnly: true)),
        .reachability(ReachReport(host: "db2", service: .mysql, reachable: true, detail: "read_only OFF", readOnly: false)),
        .reachability(ReachReport(host: "monitor", service: .monitor, reachable: true, lastContactMilliseconds: 1_500)),
        .fenced(FenceReport(target: "db1", readOnly: true, sessionsKilled: 3, rolesDropped: [roles[0]])),
        .failed(AgentFailure(code: "timedOut", message: "read_only=ON did not finish within 2 s")),
        .failed(AgentFailure(MMMError(.queryFailed, "KILL 12 failed"))),
    ]

    static let controlRequests: [ControlRequest] = [
        ControlRequest(verb: "show"),
        ControlRequest(verb: "move_role", arguments: ["--force", "writer", "db2"]),
        ControlRequest(verb: "set_ip", arguments: ["192.168.0.51", "db2"]),
    ]

    static let controlResponses: [ControlResponse] = [
        ControlResponse(isError: false, text: "  db1(192.168.0.11) master/ONLINE. Roles: writer(192.168.0.50)\n"),
        ControlResponse(isError: true, text: "ERROR: Unknown host name 'db9'!"),
        ControlResponse(isError: false, text: "{\"hosts\": [], \"mode\": \"ACTIVE\"}"),
    ]

    /// Every message the tests know, each once.
    static var allMessages: [ProtocolMessage] {
        requests.map(ProtocolMessage.agentRequest) + responses.map(ProtocolMessage.agentResponse)
            + controlRequests.map(ProtocolMessage.controlRequest)
            + controlResponses.map(ProtocolMessage.controlResponse)
    }

    /// A frame around `message` from `monitor` to `db1`.
    static func frame(_ message: ProtocolMessage, counter: UInt64 = 1) -> ProtocolFrame {
        ProtocolFrame(
            header: FrameHeader(sender: "monitor", recipient: "db1", stamp: stamp(counter), inReplyTo: 0),
            message: message
        )
    }

    static func encoded(_ message: ProtocolMessage, counter: UInt64 = 1) throws -> ByteBuffer {
        try codec.encode(frame(message, counter: counter))
    }

    /// Builds frame bytes by hand and signs them with `key`, so tests can produce frames the encoder refuses to.
    static func rawFrame(
        magic: UInt32 = FrameCodec.magic,
        version: UInt8 = 1,
        type: UInt8,
        flags: UInt16 = 0,
        reserved: UInt32 = 0,
        sender: [UInt8] = Array("monitor".utf8),
        recipient: [UInt8] = Array("db1".utf8),
        body: [UInt8],
        declaredBodyLength: UInt32? = nil,
        key: ProtocolKey = ProtocolFixtures.key
    ) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(magic)
        buffer.writeInteger(version)
        buffer.writeInteger(type)
        buffer.writeInteger(flags)
        buffer.writeInteger(reserved)
        buffer.writeInteger(now.millisecondsSince1970)
        buffer.writeInteger(UInt64(1))
        buffer.writeInteger(UInt64(0))
        buffer.writeInteger(UInt8(truncatingIfNeeded: sender.count))
        buffer.writeInteger(UInt8(truncatingIfNeeded: recipient.count))
        buffer.writeInteger(declaredBodyLength ?? UInt32(body.count))
        buffer.writeBytes(sender)
        buffer.writeBytes(recipient)
        buffer.writeBytes(body)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(buffer.readableBytesView),
            using: SymmetricKey(data: key.keyBytes)
        )
        buffer.writeBytes(Array(mac))
        return buffer
    }

    /// A length-prefixed string as the body layout writes it.
    static func wireString(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }

    static func wireUInt64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * (7 - $0))) }
    }
}

/// A small deterministic generator (SplitMix64), so fuzz failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
