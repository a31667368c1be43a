import MMMCore
import NIOCore

// Body layouts, one per message type. docs/protocol.md lists them field by field; keep both in step.
extension ProtocolMessage {
    /// The longest free text (failure messages, control replies, fence reasons) in UTF-8 bytes.
    static let maximumTextBytes = 60_000

    /// Writes the body of this message, validating every field.
    func writeBody(into writer: inout WireWriter) throws(ProtocolRejection) {
        switch self {
        case .agentRequest(let request):
            try Self.writeRequest(request, into: &writer)
        case .agentResponse(let response):
            try Self.writeResponse(response, into: &writer)
        case .controlRequest(let request):
            try writer.writeText(request.verb, field: "control verb", maximumBytes: WireValidation.maximumNameLength)
            guard WireValidation.isValidVerb(request.verb) else {
                throw ProtocolRejection(.invalidValue, "control verb \(WireWriter.quote(request.verb)) is not valid")
            }
            guard request.arguments.count <= WireValidation.maximumControlArguments else {
                throw ProtocolRejection(.invalidValue, "control request has \(request.arguments.count) arguments")
            }
            writer.writeUInt8(UInt8(request.arguments.count))
            for argument in request.arguments {
                try writer.writeText(
                    argument,
                    field: "control argument",
                    maximumBytes: WireValidation.maximumControlArgumentLength
                )
            }
        case .controlResponse(let response):
            writer.writeBool(response.isError)
            try writer.writeText(response.text, field: "control reply", maximumBytes: Self.maximumTextBytes)
        }
    }

    /// Reads a body of type `type`; `body` must hold exactly that body.
    static func read(type: MessageType, body: ByteBuffer) throws(ProtocolRejection) -> ProtocolMessage {
        var reader = WireReader(buffer: body)
        let message: ProtocolMessage
        switch type {
        case .ping:
            message = .agentRequest(.ping)
        case .setStatus:
            let stateByte = try reader.readUInt8("state")
            guard let state = HostState.wireValues[stateByte] else {
                throw ProtocolRejection(.malformedBody, "unknown host state code \(stateByte)")
            }
            let roles = try reader.readRoles("roles")
            let activeMaster = try reader.readOptionalName("active master")
            let epoch = try reader.readUInt64("epoch")
            let handedOver = try reader.readRoles("handed-over roles")
            guard handedOver.allSatisfy(roles.contains) else {
                throw ProtocolRejection(.malformedBody, "a handed-over role IP is not among the roles to hold")
            }
            message = .agentRequest(
                .setStatus(SetStatus(state: state, roles: roles, activeMaster: activeMaster, epoch: epoch, handedOver: handedOver))
            )
        case .getAgentStatus:
            message = .agentRequest(.getAgentStatus)
        case .getSystemInfo:
            message = .agentRequest(.getSystemInfo)
        case .clearBadRoles:
            message = .agentRequest(.clearBadRoles)
        case .getDrainStatus:
            message = .agentRequest(.getDrainStatus(DrainQuery(maximumWaitMilliseconds: try reader.readUInt32("wait"))))
        case .getGTIDPositions:
            message = .agentRequest(.getGTIDPositions)
        case .canReach:
            let host = try reader.readName("host")
            let serviceByte = try reader.readUInt8("service")
            guard let service = ReachService(rawValue: serviceByte) else {
                throw ProtocolRejection(.malformedBody, "unknown reach service code \(serviceByte)")
            }
            message = .agentRequest(.canReach(ReachQuery(host: host, service: service)))
        case .fence:
            let target = try reader.readName("fence target")
            let epoch = try reader.readUInt64("epoch")
            let reason = try reader.readText("fence reason", maximumBytes: Self.maximumTextBytes)
            message = .agentRequest(.fence(FenceOrder(target: target, epoch: epoch, reason: reason)))
        case .controlRequest:
            let verb = try reader.readText("control verb", maximumBytes: WireValidation.maximumNameLength)
            guard WireValidation.isValidVerb(verb) else {
                throw ProtocolRejection(.invalidValue, "control verb \(WireWriter.quote(verb)) is not valid")
            }
            let count = try reader.readUInt8("argument count")
            guard Int(count) <= WireValidation.maximumControlArguments else {
                throw ProtocolRejection(.invalidValue, "control request has \(count) arguments")
            }
            var arguments: [String] = []
            for _ in 0..<count {
                arguments.append(
                    try reader.readText("control argument", maximumBytes: WireValidation.maximumControlArgumentLength)
                )
            }
            message = .controlRequest(ControlRequest(verb: verb, arguments: arguments))
        case .controlResponse:
            let isError = try reader.readBool("error flag")
            let text = try reader.readText("control reply", maximumBytes: Self.maximumTextBytes)
            message = .controlResponse(ControlResponse(isError: isError, text: text))
        case .pong, .statusApplied, .agentStatus, .systemInfo, .badRolesCleared, .drainStatus, .gtidPositions,
            .reachability, .fenced, .agentFailure:
            message = .agentResponse(try Self.readResponse(type: type, reader: &reader))
        }
        try reader.expectEnd("\(type)")
        return message
    }

    private static func writeRequest(_ request: AgentRequest, into writer: inout WireWriter) throws(ProtocolRejection) {
        switch request {
        case .ping, .getAgentStatus, .getSystemInfo, .clearBadRoles, .getGTIDPositions:
            break
        case .setStatus(let status):
            writer.writeUInt8(status.state.wireValue)
            try writer.writeRoles(status.roles, field: "roles")
            try writer.writeOptionalName(status.activeMaster, field: "active master")
            writer.writeUInt64(status.epoch)
            try writer.writeRoles(status.handedOver, field: "handed-over roles")
        case .getDrainStatus(let query):
            writer.writeUInt32(query.maximumWaitMilliseconds)
        case .canReach(let query):
            try writer.writeName(query.host, field: "host")
            writer.writeUInt8(query.service.rawValue)
        case .fence(let order):
            try writer.writeName(order.target, field: "fence target")
            writer.writeUInt64(order.epoch)
            try writer.writeText(order.reason, field: "fence reason", maximumBytes: Self.maximumTextBytes)
        }
    }

    private static func writeResponse(
        _ response: AgentResponse,
        into writer: inout WireWriter
    )
        throws(ProtocolRejection)
    {
        switch response {
        case .pong(let pong):
            writer.writeUInt64(pong.uptimeMilliseconds)
        case .statusApplied(let status), .agentStatus(let status):
            writer.writeUInt8(status.state?.wireValue ?? 0)
            try writer.writeRoles(status.roles, field: "roles")
            try writer.writeOptionalName(status.activeMaster, field: "active master")
            writer.writeUInt64(status.epoch)
            writer.writeUInt64(status.uptimeMilliseconds)
            try writer.writeText(status.lastError, field: "last error")
            writer.writeBool(status.fencedAwaitingEpoch)
        case .systemInfo(let info):
            writer.writeBool(info.writable)
            try writer.writeRoles(info.rolesOnInterface, field: "roles on interface")
            try writer.writeHostOrAddress(info.replicationSource, field: "replication source")
            writer.writeUInt64(info.uptimeMilliseconds)
            writer.writeBool(info.wantsWriterRole)
        case .badRolesCleared(let roles):
            try writer.writeRoles(roles, field: "removed roles")
        case .drainStatus(let status):
            writer.writeBool(status.drained)
            try writer.writeGTIDList(status.receivedPosition, field: "received position")
            try writer.writeGTIDList(status.appliedPosition, field: "applied position")
            writer.writeBool(status.ioThreadRunning)
            writer.writeBool(status.sqlThreadRunning)
            writer.writeUInt32(status.lastSQLErrorNumber)
        case .gtidPositions(let positions):
            try writer.writeGTIDList(positions.binlogPosition, field: "gtid_binlog_pos")
            try writer.writeGTIDState(positions.binlogState, field: "gtid_binlog_state")
            try writer.writeGTIDList(positions.currentPosition, field: "gtid_current_pos")
            try writer.writeGTIDList(positions.slavePosition, field: "gtid_slave_pos")
            try writer.writeGTIDList(positions.receivedPosition, field: "Gtid_IO_Pos")
        case .reachability(let report):
            try writer.writeName(report.host, field: "host")
            writer.writeUInt8(report.service.rawValue)
            writer.writeBool(report.reachable)
            if let age = report.lastContactMilliseconds {
                writer.writeBool(true)
                writer.writeUInt64(age)
            } else {
                writer.writeBool(false)
            }
            try writer.writeText(report.detail, field: "reach detail", maximumBytes: Self.maximumTextBytes)
            // 0: not known, 1: read_only OFF, 2: read_only ON.
            writer.writeUInt8(report.readOnly.map { $0 ? 2 : 1 } ?? 0)
        case .fenced(let report):
            try writer.writeName(report.target, field: "fence target")
            writer.writeBool(report.readOnly)
            writer.writeUInt32(report.sessionsKilled)
            try writer.writeRoles(report.rolesDropped, field: "dropped roles")
        case .failed(let failure):
            try writer.writeName(failure.code, field: "failure code")
            try writer.writeText(failure.message, field: "failure message", maximumBytes: Self.maximumTextBytes)
        }
    }

    private static func readResponse(
        type: MessageType,
        reader: inout WireReader
    ) throws(ProtocolRejection)
        -> AgentResponse
    {
        switch type {
        case .pong:
            return .pong(AgentPong(uptimeMilliseconds: try reader.readUInt64("uptime")))
        case .statusApplied, .agentStatus:
            let stateByte = try reader.readUInt8("state")
            let state: HostState?
            if stateByte == 0 {
                state = nil
            } else if let known = HostState.wireValues[stateByte] {
                state = known
            } else {
                throw ProtocolRejection(.malformedBody, "unknown host state code \(stateByte)")
            }
            let status = AgentStatus(
                state: state,
                roles: try reader.readRoles("roles"),
                activeMaster: try reader.readOptionalName("active master"),
                epoch: try reader.readUInt64("epoch"),
                uptimeMilliseconds: try reader.readUInt64("uptime"),
                lastError: try reader.readText("last error"),
                fencedAwaitingEpoch: try reader.readBool("fenced awaiting a newer epoch")
            )
            return type == .statusApplied ? .statusApplied(status) : .agentStatus(status)
        case .systemInfo:
            return .systemInfo(
                SystemInfo(
                    writable: try reader.readBool("writable"),
                    rolesOnInterface: try reader.readRoles("roles on interface"),
                    replicationSource: try reader.readHostOrAddress("replication source"),
                    uptimeMilliseconds: try reader.readUInt64("uptime"),
                    wantsWriterRole: try reader.readBool("wants writer role")
                )
            )
        case .badRolesCleared:
            return .badRolesCleared(try reader.readRoles("removed roles"))
        case .drainStatus:
            return .drainStatus(
                DrainStatus(
                    drained: try reader.readBool("drained"),
                    receivedPosition: try reader.readGTIDList("received position"),
                    appliedPosition: try reader.readGTIDList("applied position"),
                    ioThreadRunning: try reader.readBool("IO thread running"),
                    sqlThreadRunning: try reader.readBool("SQL thread running"),
                    lastSQLErrorNumber: try reader.readUInt32("Last_SQL_Errno")
                )
            )
        case .gtidPositions:
            return .gtidPositions(
                GTIDPositions(
                    binlogPosition: try reader.readGTIDList("gtid_binlog_pos"),
                    binlogState: try reader.readGTIDState("gtid_binlog_state"),
                    currentPosition: try reader.readGTIDList("gtid_current_pos"),
                    slavePosition: try reader.readGTIDList("gtid_slave_pos"),
                    receivedPosition: try reader.readGTIDList("Gtid_IO_Pos")
                )
            )
        case .reachability:
            let host = try reader.readName("host")
            let serviceByte = try reader.readUInt8("service")
            guard let service = ReachService(rawValue: serviceByte) else {
                throw ProtocolRejection(.malformedBody, "unknown reach service code \(serviceByte)")
            }
            let reachable = try reader.readBool("reachable")
            let age: UInt64? =
                try reader.readBool("presence of last contact") ? try reader.readUInt64("last contact") : nil
            let detail = try reader.readText("reach detail", maximumBytes: Self.maximumTextBytes)
            let readOnlyCode = try reader.readUInt8("read only")
            guard readOnlyCode <= 2 else {
                throw ProtocolRejection(.malformedBody, "unknown read-only code \(readOnlyCode)")
            }
            return .reachability(
                ReachReport(
                    host: host,
                    service: service,
                    reachable: reachable,
                    lastContactMilliseconds: age,
                    detail: detail,
                    readOnly: readOnlyCode == 0 ? nil : readOnlyCode == 2
                )
            )
        case .fenced:
            return .fenced(
                FenceReport(
                    target: try reader.readName("fence target"),
                    readOnly: try reader.readBool("read only"),
                    sessionsKilled: try reader.readUInt32("sessions killed"),
                    rolesDropped: try reader.readRoles("dropped roles")
                )
            )
        case .agentFailure:
            return .failed(
                AgentFailure(
                    code: try reader.readName("failure code"),
                    message: try reader.readText("failure message", maximumBytes: Self.maximumTextBytes)
                )
            )
        case .ping, .setStatus, .getAgentStatus, .getSystemInfo, .clearBadRoles, .getDrainStatus, .getGTIDPositions,
            .canReach, .fence, .controlRequest, .controlResponse:
            // read(type:body:) routes only response types here.
            throw ProtocolRejection(.unexpectedMessage, "\(type) is not an agent response")
        }
    }
}

extension HostState {
    /// The state's byte on the wire (0 is reserved for "no state" in agent status answers).
    var wireValue: UInt8 {
        switch self {
        case .online: return 1
        case .adminOffline: return 2
        case .hardOffline: return 3
        case .awaitingRecovery: return 4
        case .replicationDelay: return 5
        case .replicationFail: return 6
        }
    }

    /// The states by wire byte.
    static let wireValues: [UInt8: HostState] = Dictionary(
        uniqueKeysWithValues: HostState.allCases.map { ($0.wireValue, $0) }
    )
}
