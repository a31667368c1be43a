/// Logger metadata keys, declared once so that every daemon, dashboards and `grep` agree on them.
public enum LogKey {
    /// The program that logs (`mmm_agentd`, `mmm_mond`).
    public static let program = "mmm.program"
    /// The host a daemon runs as (`this` in `mmm_agent.conf`) or the host an event is about.
    public static let host = "mmm.host"
    /// A role name (`writer`, `reader`).
    public static let role = "mmm.role"
    /// Whether a listener uses mutual TLS (`mutual`) or not (`off`).
    public static let tls = "mmm.tls"
    /// A monitor check (`ping`, `mysql`, `rep_threads`, `rep_backlog`).
    public static let check = "mmm.check"
    /// The remote end of a connection (`127.0.0.1:40312`).
    public static let peer = "mmm.peer"
    /// An error's description (never contains a secret: ``MMMError`` messages do not).
    public static let error = "mmm.error"
    /// A protocol request's kind (`ping`, `setStatus`).
    public static let request = "mmm.request"
    /// The sender name of a protocol frame.
    public static let sender = "mmm.sender"
    /// The cluster name (`mmm_agent_CLUSTER.conf`), when not the default one.
    public static let cluster = "mmm.cluster"
    /// A rejected frame's reason (`badMAC`, `replayed`…).
    public static let rejection = "mmm.rejection"
    /// A local listening address.
    public static let address = "mmm.address"
    /// A file path (the pid file).
    public static let path = "mmm.path"
    /// A process id.
    public static let pid = "mmm.pid"
    /// A protocol key's fingerprint (`ProtocolKey.fingerprint` in `MMMProtocol`; never the key itself), so that
    /// operators can compare keys across hosts when frames are refused with `badMAC`.
    public static let keyFingerprint = "mmm.key.fingerprint"
    /// A duration (a deadline, a timeout).
    public static let duration = "mmm.duration"
    /// A server's limit of open connections (`ProtocolServerConfiguration.maximumConnections` in `MMMTransport`).
    public static let connectionLimit = "mmm.connection.limit"
    /// How many connections were refused, for the same reason, since the previous log line about such refusals.
    public static let refusedConnections = "mmm.connections.refused"
    /// The monitor's Ed25519 public key (`monitor_public_key`; not secret).
    public static let monitorPublicKey = "mmm.public_key"
    /// A host state (`ONLINE`, `HARD_OFFLINE`…) or an agent's reported state.
    public static let state = "mmm.state"
    /// Whether a host's server takes writes (`read_only` OFF).
    public static let writable = "mmm.writable"
    /// Role IPs (a host's configured or held addresses).
    public static let ips = "mmm.ips"
    /// The state a host leaves.
    public static let from = "mmm.from"
    /// The state a host enters.
    public static let to = "mmm.to"
    /// The rule that made a decision (MMM's transition table, a policy).
    public static let rule = "mmm.rule"
    /// What was before (the previous writer, a previous value).
    public static let previous = "mmm.previous"
    /// The hosts being fenced.
    public static let fencing = "mmm.fencing"
    /// Replica hosts involved in a step.
    public static let replicas = "mmm.replicas"
    /// The hosts asked to check another on the monitor's behalf (the writer cross-check).
    public static let via = "mmm.via"
    /// How long an agent has gone without a monitor message that reached it, in milliseconds.
    public static let silentMilliseconds = "mmm.silent_ms"
    /// A list of host names.
    public static let hosts = "mmm.hosts"
    /// A check's or a poll's period, in milliseconds.
    public static let periodMilliseconds = "mmm.period_ms"
    /// A reporting window, in seconds.
    public static let windowSeconds = "mmm.window_s"
    /// How something was done (how a writer was fenced).
    public static let how = "mmm.how"
    /// The hosts that claim a role or a write right.
    public static let claims = "mmm.claims"
    /// The writer host (the active master).
    public static let writer = "mmm.writer"
    /// Errant GTIDs found on a host.
    public static let errant = "mmm.errant"
    /// The hosts that reach a host (cross-check).
    public static let reachableFrom = "mmm.reachable_from"
    /// The hosts that do not reach a host (cross-check).
    public static let unreachableFrom = "mmm.unreachable_from"
    /// The hosts that saw a host read-only (cross-check).
    public static let readOnlyFrom = "mmm.read_only_from"
    /// The text of an error answer to `mmm_control`.
    public static let errorReply = "mmm.error_reply"
    /// The monitor's status epoch.
    public static let epoch = "mmm.epoch"
    /// An external command's exit status (`kill_host_bin`).
    public static let exitStatus = "mmm.exit"
    /// Which attempt of a fence's `read_only=ON` this is.
    public static let fenceAttempt = "mmm.fence.attempt"
    /// The server-side lock wait a fence's `SET GLOBAL read_only` used.
    public static let fenceServerLockWait = "mmm.fence.server_lock_wait"
    /// How many client sessions a fence killed.
    public static let fenceKilled = "mmm.fence.killed"
    /// How many attempts a fence took.
    public static let fenceAttempts = "mmm.fence.attempts"
    /// Whether the server was already read-only when the fence began.
    public static let fenceWasReadOnly = "mmm.fence.was_read_only"
    /// How long a step took, in milliseconds.
    public static let durationMilliseconds = "mmm.duration_ms"
    /// The writer being replaced.
    public static let oldWriter = "mmm.old_writer"
    /// How a drain ended (drained, timed out, stuck).
    public static let drainResult = "mmm.drain.result"
    /// The GTIDs a replica received (its relay log's end).
    public static let gtidReceived = "mmm.gtid.received"
    /// The GTIDs a replica applied (`gtid_slave_pos`).
    public static let gtidApplied = "mmm.gtid.applied"
    /// Whether the drain had to start a stopped SQL thread.
    public static let drainStartedSQLThread = "mmm.drain.started_sql_thread"
    /// `gtid_binlog_pos`.
    public static let gtidBinlogPosition = "mmm.gtid.binlog_pos"
    /// `gtid_slave_pos`.
    public static let gtidSlavePosition = "mmm.gtid.slave_pos"
    /// How long a drain took, in milliseconds.
    public static let drainMilliseconds = "mmm.drain_ms"
    /// Where a repoint starts replicating from (`slave_pos`, `current_pos`).
    public static let repointMode = "mmm.repoint.mode"
    /// What a repoint did (changed master, already there).
    public static let repointAction = "mmm.repoint.action"
    /// Whether the replica was seen replicating after a repoint.
    public static let repointReplicating = "mmm.repoint.replicating"
    /// The semi-sync side a host runs (master, slave, off).
    public static let semiSyncRole = "mmm.semisync.role"
    /// The semi-sync settings a round changed.
    public static let semiSyncSteps = "mmm.semisync.steps"
    /// The semi-sync settings before a round changed them.
    public static let semiSyncBefore = "mmm.semisync.before"
    /// The semi-sync state a host reports.
    public static let semiSyncState = "mmm.semisync.state"
    /// How long a fence took, in milliseconds.
    public static let fenceMilliseconds = "mmm.fence_ms"
    /// A role IP an endpoint provider adds, drops or announces.
    public static let endpointIP = "mmm.endpoint.ip"
    /// How many gratuitous ARP announcements were skipped (deadline).
    public static let endpointSkipped = "mmm.endpoint.skipped"
    /// The program of `endpoint_provider exec`.
    public static let endpointProgram = "mmm.endpoint.program"
    /// The verb passed to `endpoint_exec` (`add`, `remove`, `check`).
    public static let endpointVerb = "mmm.endpoint.verb"
    /// The role whose IP an endpoint provider moves.
    public static let endpointRole = "mmm.endpoint.role"
    /// The network interface of a role IP (`cluster_interface`).
    public static let endpointInterface = "mmm.endpoint.interface"
    /// The MAC address that answers for a role IP.
    public static let endpointMAC = "mmm.endpoint.mac"

    /// The fencing ladder's next step for a host that may still write.
    public static let fenceStep = "mmm.fence.step"
    /// How long until a silent host's writer lease has certainly run out, in milliseconds (negative: it has).
    public static let leaseEndsInMilliseconds = "mmm.lease.ends_in_ms"

    /// Every key above, for tests that check they stay distinct and under `mmm.`.
    public static let all: [String] = [
        program, host, role, tls, check, peer, error, request, sender, cluster, rejection, address, path, pid,
        keyFingerprint, duration, connectionLimit, refusedConnections, monitorPublicKey, state, writable, ips, from,
        to, rule, previous, fencing, replicas, via, silentMilliseconds, hosts, periodMilliseconds, windowSeconds,
        how, claims, writer, errant, reachableFrom, unreachableFrom, readOnlyFrom, errorReply, epoch, exitStatus,
        fenceAttempt, fenceServerLockWait, fenceKilled, fenceAttempts, fenceWasReadOnly, durationMilliseconds,
        oldWriter, drainResult, gtidReceived, gtidApplied, drainStartedSQLThread, gtidBinlogPosition,
        gtidSlavePosition, drainMilliseconds, repointMode, repointAction, repointReplicating, semiSyncRole,
        semiSyncSteps, semiSyncBefore, semiSyncState, fenceMilliseconds, endpointIP, endpointSkipped,
        endpointProgram, endpointVerb, endpointRole, endpointInterface, endpointMAC, fenceStep, leaseEndsInMilliseconds,
    ]
}
