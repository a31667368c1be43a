import MMMCore
import MMMProtocol

/// Everything the decision loop reacts to. One loop owns the ``MMMCore/ClusterStateMachine``; every other task only
/// posts inputs.
enum MonitorInput: Sendable {
    /// A probe finished.
    case check(CheckEvent)
    /// Time passed (time-based rules).
    case tick
    /// The network self-check (`ping_ips`) result.
    case network(available: Bool)
    /// An agent acknowledged a status.
    case delivered(host: String, sent: SetStatus, answer: AgentStatus)
    /// An agent did not take a status (unreachable, timed out, or refused).
    /// `refused`: the host's link counts its agent as refusing connections (``AgentLink/agentRefusing``).
    case deliveryFailed(host: String, reason: String, refused: Bool = false)
    /// What an agent's host really holds.
    /// `toldCount`: ``StatusPlan/writerToldCount`` of the host when the question was sent.
    case systemInfo(host: String, SystemInfo, toldCount: Int)
    /// Promotion `token`: another host was fenced (or its lease ran out) on the way.
    /// `how` says it for the report, `fencedBy` for ``MMMCore/StatusPlan/writerFenced(_:by:)`` (whether the next writer
    /// takes the writer IP without the duplicate-address probe); `skipped` names a step of full fencing that could not
    /// be done (it goes to the failover report).
    case writerFenced(host: String, token: UInt64, how: String, skipped: String? = nil, fencedBy: FenceLadder.How)
    /// Promotion `token`: the candidate has applied everything; `window` describes what it applied meanwhile.
    case drained(host: String, token: UInt64, window: String?)
    /// Promotion `token`: the candidate could not be drained.
    case drainFailed(host: String, token: UInt64, reason: String)
    /// `host`'s GTID state was compared with the writer's: `errant` lists its transactions the writer lacks (empty:
    /// it may replicate from the writer, and the writer from it if it is the writer's peer).
    case gtidChecked(writer: String, host: String, errant: [String])
    /// Other hosts' agents answered whether they can reach the writer's mysqld (a silent agent is in neither list).
    /// `readOnlyFrom`: agents that reached it but found `read_only` ON (it fenced itself): no veto from them.
    /// `leaseRanOut`: nobody was asked, because no monitor message has reached the writer for longer than its lease:
    /// `unreachableFrom` then names the hosts that would have been asked, not hosts that failed to connect.
    case writerCrossChecked(
        host: String, reachableFrom: [String], unreachableFrom: [String], readOnlyFrom: [String] = [], leaseRanOut: Bool = false
    )
    /// `host`'s replication positions, as its agent reported them to the position poller: they rank writer
    /// candidates (DESIGN.md §4 step 3).
    case positions(host: String, ReplicationPositions)
    /// An `mmm_control` request; `reply` must be called exactly once.
    case control(ControlRequest, reply: @Sendable (ControlResponse) -> Void)
}

extension MonitorInput {
    /// A probe result, a tick or a position report: the machine's own inputs, which change what is persisted or sent
    /// to the agents only through the actions they return.
    var isRoutine: Bool {
        switch self {
        case .check, .tick, .positions: return true
        default: return false
        }
    }
}
