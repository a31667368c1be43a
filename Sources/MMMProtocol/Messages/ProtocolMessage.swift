/// Any message the protocol carries: the body of a ``ProtocolFrame``.
public enum ProtocolMessage: Hashable, Sendable {
    /// Monitor (or peer agent) → agent.
    case agentRequest(AgentRequest)
    /// Agent → monitor (or peer agent).
    case agentResponse(AgentResponse)
    /// `mmm_control` → monitor.
    case controlRequest(ControlRequest)
    /// Monitor → `mmm_control`.
    case controlResponse(ControlResponse)

    /// The type byte this message travels under.
    public var messageType: MessageType {
        switch self {
        case .agentRequest(let request):
            switch request {
            case .ping: return .ping
            case .setStatus: return .setStatus
            case .getAgentStatus: return .getAgentStatus
            case .getSystemInfo: return .getSystemInfo
            case .clearBadRoles: return .clearBadRoles
            case .getDrainStatus: return .getDrainStatus
            case .getGTIDPositions: return .getGTIDPositions
            case .canReach: return .canReach
            case .fence: return .fence
            }
        case .agentResponse(let response):
            switch response {
            case .pong: return .pong
            case .statusApplied: return .statusApplied
            case .agentStatus: return .agentStatus
            case .systemInfo: return .systemInfo
            case .badRolesCleared: return .badRolesCleared
            case .drainStatus: return .drainStatus
            case .gtidPositions: return .gtidPositions
            case .reachability: return .reachability
            case .fenced: return .fenced
            case .failed: return .agentFailure
            }
        case .controlRequest:
            return .controlRequest
        case .controlResponse:
            return .controlResponse
        }
    }
}

/// The message type byte of a frame (offset 5 of the header).
///
/// Agent requests use `0x01–0x3F`, their success answers the request's value with the high bit set, control messages
/// `0x40`/`0xC0`; `0xBF` is the agent's failure answer. Any other value is rejected as
/// ``ProtocolRejection/Reason/unknownMessageType``.
public enum MessageType: UInt8, Hashable, Sendable, CaseIterable {
    /// ``AgentRequest/ping``.
    case ping = 0x01
    /// ``AgentRequest/setStatus(_:)``.
    case setStatus = 0x02
    /// ``AgentRequest/getAgentStatus``.
    case getAgentStatus = 0x03
    /// ``AgentRequest/getSystemInfo``.
    case getSystemInfo = 0x04
    /// ``AgentRequest/clearBadRoles``.
    case clearBadRoles = 0x05
    /// ``AgentRequest/getDrainStatus(_:)``.
    case getDrainStatus = 0x06
    /// ``AgentRequest/getGTIDPositions``.
    case getGTIDPositions = 0x07
    /// ``AgentRequest/canReach(_:)``.
    case canReach = 0x08
    /// ``AgentRequest/fence(_:)``.
    case fence = 0x09
    /// ``ControlRequest``.
    case controlRequest = 0x40
    /// ``AgentResponse/pong(_:)``.
    case pong = 0x81
    /// ``AgentResponse/statusApplied(_:)``.
    case statusApplied = 0x82
    /// ``AgentResponse/agentStatus(_:)``.
    case agentStatus = 0x83
    /// ``AgentResponse/systemInfo(_:)``.
    case systemInfo = 0x84
    /// ``AgentResponse/badRolesCleared(_:)``.
    case badRolesCleared = 0x85
    /// ``AgentResponse/drainStatus(_:)``.
    case drainStatus = 0x86
    /// ``AgentResponse/gtidPositions(_:)``.
    case gtidPositions = 0x87
    /// ``AgentResponse/reachability(_:)``.
    case reachability = 0x88
    /// ``AgentResponse/fenced(_:)``.
    case fenced = 0x89
    /// ``AgentResponse/failed(_:)``.
    case agentFailure = 0xBF
    /// ``ControlResponse``.
    case controlResponse = 0xC0

    /// Whether this type is a request (agent or control) rather than an answer.
    public var isRequest: Bool { self.rawValue < 0x80 }
}
