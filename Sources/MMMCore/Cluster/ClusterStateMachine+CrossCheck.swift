/// The cross-check of a writer that the monitor cannot reach (DESIGN.md §4 step 1): what was asked and answered.
///
/// A veto holds while ``vetoedBy`` is non-empty; a failure is confirmed by an answer with ``unreachableFrom`` and
/// no ``vetoedBy`` (acted on only within ``ClusterPolicy/crossCheckTimeout`` of ``answeredAt``: an older one is
/// asked again). A record exists only while its ``host`` holds the writer role, is ONLINE and fails ping or mysql
/// (it may outlive that until the next decision while the monitor has no network).
public struct WriterCrossCheck: Hashable, Sendable {
    /// The writer whose ping or mysql check fails.
    public var host: String
    /// The hosts asked last, in the order asked (empty: nobody asked yet, the monitor being PASSIVE).
    public var askedVia: [String]
    /// When they were asked last.
    public var askedAt: MonitorInstant?
    /// The last question has no usable answer yet.
    public var awaitingAnswer: Bool
    /// The hosts whose agents said, in the last usable answer, that they still reach the writer's `mysqld`.
    public var vetoedBy: [String]
    /// The hosts whose agents said, in the last usable answer, that they cannot reach it.
    public var unreachableFrom: [String]
    /// When the last usable answer came.
    public var answeredAt: MonitorInstant?

    /// Creates a record of a writer not asked about yet.
    public init(host: String) {
        self.host = host
        self.askedVia = []
        self.askedAt = nil
        self.awaitingAnswer = false
        self.vetoedBy = []
        self.unreachableFrom = []
        self.answeredAt = nil
    }

    /// Some host still reaches the writer: it is not failed over.
    public var isVetoed: Bool { !self.vetoedBy.isEmpty }

    /// The last answer said nobody reaches the writer.
    public var isConfirmed: Bool { self.vetoedBy.isEmpty && !self.unreachableFrom.isEmpty }
}

/// The writer cross-check: a monitor-side network problem must not cause a failover.
///
/// When the holder of the writer role would leave ONLINE because its ping or mysql check failed (debounced over
/// `trap_period`), the machine first asks other hosts' agents (``ClusterAction/crossCheckWriter(host:via:)``)
/// and keeps the writer ONLINE with its roles until they answer:
/// - some asked host reaches the writer's `mysqld`: a veto (``ClusterAction/crossCheckVetoed(host:by:)``); the
///   writer stays while its checks keep failing, and is asked about again every ``ClusterPolicy/crossCheckTimeout``,
///   so a real death later is still caught;
/// - the hosts that answered all say they cannot reach it: the failure is confirmed and the writer goes
///   HARD_OFFLINE as before (roles removed, promotion of the best candidate);
/// - nobody answered: no information; asked again after the timeout. An agent that stays silent is soon marked
///   unreachable by its status pusher (``agentUnreachable(host:at:)``) and is no longer asked.
///
/// Only the holder of the writer role is cross-checked, not a host being promoted: that one takes no writes yet,
/// and its promotion needs the monitor to reach it anyway (it is called off when it leaves ONLINE).
/// `set_offline`, the operator's `move_role` and the replication checks are not cross-checked.
///
/// Asked are the writer's peer first, if ONLINE with a reachable agent, then every other ONLINE host with a
/// reachable agent, in configuration order. When nobody can be asked, nobody can veto, and the writer goes
/// HARD_OFFLINE as in MMM, which is safe: nobody can be asked means no other host is ONLINE with a reachable agent,
/// so nobody is eligible to take the writer role either; a later promotion still fences the old writer first, or
/// waits until its writer lease has certainly run out (DESIGN.md §4 step 2, §6). A veto already given is kept,
/// though, when nobody can be asked to re-check it: the last word was that the writer is alive, and dropping it
/// could only take the role from a live writer without anybody to give it to.
///
/// In PASSIVE mode no agent may be asked: a writer whose checks fail is held ONLINE without a question, and asked
/// about as soon as the monitor leaves PASSIVE (otherwise a PASSIVE interlude would fail it over unchecked).
/// While a cross-check is pending or a veto holds, no other host can become writer, not even by `prefer`.
extension ClusterStateMachine {
    /// The agents of the hosts asked about the writer `host` answered (the answers of one
    /// ``ClusterAction/crossCheckWriter(host:via:)`` together): `reachableFrom` lists the hosts that still reach its
    /// `mysqld`, `unreachableFrom` those that cannot; a host that did not answer is in neither.
    ///
    /// Any host in `reachableFrom` vetoes the failover (returns ``ClusterAction/crossCheckVetoed(host:by:)`` when the
    /// veto begins or its hosts change). Otherwise, when some host answered unreachable, the writer goes HARD_OFFLINE
    /// now if its checks still fail. Both lists empty is no answer. Ignored when `host` is not the writer under a
    /// cross-check (a late answer after its checks recovered or the role moved); names that are not configured
    /// hosts, and the writer itself, are ignored.
    public mutating func writerCrossChecked(
        host: String,
        reachableFrom: [String],
        unreachableFrom: [String],
        at now: MonitorInstant
    ) -> [ClusterAction] {
        guard var record = self.writerCrossCheck, record.host == host, self.writer == host else { return [] }
        let reachable = self.configuredHosts(reachableFrom, except: host)
        let unreachable = self.configuredHosts(unreachableFrom, except: host).filter { !reachable.contains($0) }
        guard !reachable.isEmpty || !unreachable.isEmpty else { return [] }
        var actions: [ClusterAction] = []
        if !reachable.isEmpty, reachable != record.vetoedBy {
            actions.append(.crossCheckVetoed(host: host, by: reachable))
        }
        record.vetoedBy = reachable
        record.unreachableFrom = unreachable
        record.answeredAt = now
        record.awaitingAnswer = false
        self.writerCrossCheck = record
        return actions + self.decide(at: now)
    }

    /// Whether the writer `host`, whose checks are `checks`, is held ONLINE for its cross-check now; asks (appending
    /// ``ClusterAction/crossCheckWriter(host:via:)``) when a question is due. False lets the host be judged as usual.
    mutating func holdsWriterForCrossCheck(
        _ host: String,
        checks: HostCheckStatus,
        at now: MonitorInstant,
        actions: inout [ClusterAction]
    ) -> Bool {
        guard host == self.writer, self.hosts[host]?.state == .online, !checks.isReachable else { return false }
        let timeout = self.policy.crossCheckTimeout
        let record = self.writerCrossCheck?.host == host ? self.writerCrossCheck : nil
        if let record, record.isConfirmed, let answered = record.answeredAt, answered.duration(to: now) <= timeout {
            return false
        }
        if let record {
            let since = record.awaitingAnswer ? record.askedAt : (record.answeredAt ?? record.askedAt)
            if let since, since.duration(to: now) < timeout {
                return true
            }
        }
        guard self.mode != .passive else {
            self.writerCrossCheck = record ?? WriterCrossCheck(host: host)
            return true
        }
        let via = self.crossCheckHosts(for: host)
        guard !via.isEmpty else {
            return record?.isVetoed == true
        }
        var asking = record ?? WriterCrossCheck(host: host)
        asking.askedVia = via
        asking.askedAt = now
        asking.awaitingAnswer = true
        self.writerCrossCheck = asking
        actions.append(.crossCheckWriter(host: host, via: via))
        return true
    }

    /// The hosts whose agents can be asked about `writer`: its peer first, then the other ONLINE hosts whose agent
    /// answered last time, in configuration order.
    func crossCheckHosts(for writer: String) -> [String] {
        let hosts = self.hosts
        let agentDown = self.agentDown
        func askable(_ name: String) -> Bool {
            name != writer && hosts[name]?.state == .online && !agentDown.contains(name)
        }
        var via: [String] = []
        if let peer = self.topology.peer(of: writer, activeMaster: writer), askable(peer) {
            via.append(peer)
        }
        for spec in self.topology.hosts where askable(spec.name) && !via.contains(spec.name) {
            via.append(spec.name)
        }
        return via
    }

    /// Drops the cross-check once it is settled: the writer's checks pass again, it left ONLINE, or the role moved.
    mutating func dropSettledCrossCheck() {
        guard let record = self.writerCrossCheck else { return }
        if record.host != self.writer || self.hosts[record.host]?.state != .online
            || self.checks[record.host]?.isReachable == true
        {
            self.writerCrossCheck = nil
        }
    }

    /// `names` that are configured hosts other than `writer`, without duplicates, in configuration order.
    private func configuredHosts(_ names: [String], except writer: String) -> [String] {
        let wanted = Set(names)
        return self.topology.hosts.map(\.name).filter { $0 != writer && wanted.contains($0) }
    }
}
