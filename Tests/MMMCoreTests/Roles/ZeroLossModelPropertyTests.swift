import MMMCore
import Testing

/// `failover_policy zero_loss` with a third host, driven against a model of what really runs (issue 11; DESIGN.md §3
/// invariant 7, §9.4; bench finding 2): the real ``SemiSyncPlanner`` decides, in each agent's convergence round (every
/// second), which hosts send semi-sync ACKs, and the real ``ClusterStateMachine`` (through ``RolePlanner`` and
/// ``RolePlanner/mostAdvanced(among:positions:)``) chooses the writer candidate from the positions its pollers last
/// brought back.
///
/// The model, one history at a time:
/// - **Hosts**: db1 the writer, db2 a master, db3 either `mode slave` (the writer role's hosts are db1, db2) or a
///   third master (the writer role's hosts are all three). db2 and db3 replicate from the writer.
/// - **Agents**: each starts at a random phase with random semi-sync variables (as a `my.cnf` may leave them) and runs
///   ``SemiSyncPlanner/plan(isWriter:mayBecomeWriter:timeoutMilliseconds:observed:lastIORestart:now:)`` every second,
///   with `mayBecomeWriter` as `AgentSettings` computes it. A `SET GLOBAL` takes effect at once; an IO thread restart
///   stops delivery for a few milliseconds, and the ACK side then becomes what `rpl_semi_sync_slave_enabled` says
///   (MariaDB reads it at connect time only). Clients write only once the writer's round has made it a semi-sync
///   master with `AFTER_SYNC` (the agent takes the writer IP only then).
/// - **Writes**: transactions 1, 2, 3… committed on the writer at random intervals. With `AFTER_SYNC`, a transaction
///   is acknowledged to its client when an ACK covering it arrives (a replica ACKs a position, which covers everything
///   before it) from a host whose ACK side is on. The product sets `rpl_semi_sync_master_timeout` to
///   `semi_sync_timeout` (10 s by default, also drawn here between 0.1 and 2 s): after it, MariaDB returns the commit
///   without an ACK and falls back to asynchronous replication until a semi-sync replica has everything the binlog
///   has. **A write acknowledged that way is not protected** (the product does not claim it is: docs/agent.md,
///   "Zero-loss policy"; bench findings question 7): the property counts such writes and does not hold them to
///   invariant 1. Whether the fallback should exist at all under `zero_loss` is a design question, not this test's.
/// - **Replication**: per replica, each transaction reaches the relay log after a random delay, in order; stalls
///   (a standby that stops receiving for 20–1500 ms, like the bench's 600 ms drop) and IO thread restarts hold
///   delivery back. The SQL thread applies in order, usually within a millisecond, sometimes (a big transaction)
///   for up to 2.5 s.
/// - **One failure**: the writer's mariadbd crashes at a random moment after every agent has run its first round;
///   what it had not delivered is gone, and acknowledgements not yet returned are never seen by clients. Stalls are
///   not failures: they begin after the first rounds (the ACK side of a replica whose `my.cnf` turns it on is not
///   closed before its agent's first round, which this model leaves out).
/// - **Monitor**: each host's GTID positions are polled as `MonitorService` does (a request one second after the
///   previous answer, a random round trip), and fed to ``ClusterStateMachine/positionsObserved(host:received:applied:at:)``
///   when they arrive. The writer's `mysql` check fails from its next probe (every 250 ms) and is confirmed after its
///   750 ms trap period and the cross-check; the machine then chooses the candidate.
/// - **Promotion**, as `PromotionRun` does it: the old writer, the only host that may hold the writer IP, is fenced
///   (its mariadbd is down: its agent drops the IP, and there is no `gtid_binlog_pos` to catch up with). Then the
///   candidate's and the other hosts' positions are read again, the hosts being those `DecisionLoop.beginPromotion`
///   names (``ClusterStateMachine/peersThatMayHaveACKed(except:previousWriter:)``: the writer role's masters, neither the candidate nor the
///   previous writer); when the real ``RolePlanner/hostsAhead(of:among:positions:)`` finds one ahead, the positions
///   read go to the machine, then ``ClusterStateMachine/drainFailed(host:reason:at:)``, and the machine chooses again.
///   Otherwise the drain (polled every 50 ms) waits until the candidate has applied its relay log and has what those
///   hosts received; past `drain_timeout` (10 s) it fails, the positions polled meanwhile reach the machine, and the
///   machine chooses again. With one failure every surviving agent answers.
///
/// Not modelled: a second failure (an agent or a replica that does not answer the read); hosts that leave ONLINE
/// (all stay ONLINE, so the re-read always covers every master that may have ACKed: a writer-role master that is
/// REPLICATION_DELAY, say, is left out of it by the product and its ACKs are not checked here); the window before a
/// replica's first agent round (an ACK side `my.cnf` turns on is not closed yet, and stalls and the crash come only
/// after every first round); the old writer coming back; the monitor restarting; more than one GTID domain.
///
/// Invariants:
/// 1. the promoted host has received every transaction acknowledged to a client with an ACK (semi-sync, not the
///    fallback);
/// 2. it is never behind a surviving host that sent ACKs: it has received at least the last transaction each such
///    host ACKed, and, when that host's ACK side was on at the crash, everything that host received;
/// 3. the monitor's first choice is not behind another host that may become writer by the positions its pollers
///    brought back (DESIGN.md §4 step 3). Since the re-read, invariants 1 and 2 no longer depend on it (a choice
///    from stale or no positions costs a choice again, not a write), so without 3 a monitor that ignored positions
///    would go unnoticed.
///
/// Each mutant switches one decision to a wrong one and must be caught: the property is only as good as what it finds.
@Suite struct ZeroLossModelPropertyTests {
    /// A decision switched to a wrong one on purpose.
    enum Mutant: CaseIterable, Sendable {
        /// Every host that is not the writer sends ACKs: the agents ask ``SemiSyncPlanner`` as if every host may
        /// become the writer (its behaviour before `mayBecomeWriter`, bench finding 2).
        case everyReplicaACKs
        /// The candidate is chosen as MMM does, by `prefer` and then configuration order: the monitor never gets
        /// the positions.
        case candidateWithoutPositions
        /// The promotion goes from the fence straight to the drain, without reading the other masters' positions
        /// again (`PromotionRun` before the zero-loss model found the hole).
        case promotionWithoutReRead
    }

    /// Who is in the cluster.
    enum Shape: CaseIterable, Sendable {
        /// db1 and db2 masters (the writer role's hosts), db3 `mode slave`.
        case twoMastersAndASlave
        /// db1, db2 and db3 masters, all three the writer role's hosts.
        case threeMasters
    }

    static let replicas = ["db2", "db3"]
    static let drainTimeout = 10_000.0

    /// The cluster's configuration for `shape`.
    static func topology(_ shape: Shape) -> ClusterTopology {
        // The literal topologies are valid; a failure here is a broken fixture.
        try! ClusterTopology(
            hosts: [
                HostSpec(name: "db1", ip: "198.18.0.101", mode: .master, peer: "db2"),
                HostSpec(name: "db2", ip: "198.18.0.102", mode: .master, peer: "db1"),
                shape == .threeMasters
                    ? HostSpec(name: "db3", ip: "198.18.0.103", mode: .master, peer: "db1")
                    : HostSpec(name: "db3", ip: "198.18.0.103", mode: .slave),
            ],
            roles: [
                RoleSpec(
                    name: "writer", mode: .exclusive, hosts: shape == .threeMasters ? ["db1", "db2", "db3"] : ["db1", "db2"],
                    ips: ["198.18.0.210"]
                ),
                RoleSpec(name: "reader", mode: .balanced, hosts: ["db1", "db2", "db3"], ips: ["198.18.0.211", "198.18.0.212"]),
            ],
            activeMasterRole: "writer"
        )
    }

    /// A running monitor per shape, db1 the writer (built once; each history works on a copy).
    static let machines: [Shape: ClusterStateMachine] = Dictionary(
        uniqueKeysWithValues: Shape.allCases.map { ($0, ClusterStateMachine.running(topology: Self.topology($0))) }
    )

    /// Everything one replica did with the writer's binlog.
    struct Replica {
        var name: String
        /// When transaction `k` reached the relay log, at index `k - 1`.
        var received: [Double] = []
        /// When the SQL thread committed transaction `k`, at index `k - 1`.
        var applied: [Double] = []
        /// Intervals when nothing reaches the relay log: stalls and IO thread restarts.
        var gaps: [(start: Double, end: Double)] = []
        /// When the ACK side changed, in time order, starting at 0.
        var ackSide: [(time: Double, on: Bool)] = []
        /// How many transactions reached the relay log before the crash.
        var finalReceived = 0
        /// The last transaction this host ACKed before the crash (0: none).
        var lastACKed = 0

        func ackOn(at time: Double) -> Bool {
            var on = false
            for change in self.ackSide {
                if change.time > time { break }
                on = change.on
            }
            return on
        }

        /// What the relay log has at `time`.
        func receivedCount(at time: Double) -> Int {
            var count = 0
            while count < self.finalReceived, self.received[count] <= time { count += 1 }
            return count
        }

        /// What the SQL thread has committed at `time`.
        func appliedCount(at time: Double) -> Int {
            var count = 0
            while count < self.finalReceived, self.applied[count] <= time { count += 1 }
            return count
        }
    }

    /// The outcome of one history.
    struct Outcome {
        var violation: String?
        var promoted: String?
        var acknowledged = 0
        var unprotected = 0
        var unprotectedLost = 0
        /// Drains that did not finish within `drain_timeout`.
        var retries = 0
        /// Candidates given up because a host read again after the fence had received more.
        var reChosen = 0
        var violations = 0
        var histories = 0
        var trace: [String] = []
    }

    /// One history from its seed. `MMM_MODEL_SHAPE=<shape>` forces the shape, `MMM_MODEL_NO_LAG` leaves out the big
    /// transactions that hold an SQL thread back (the random draws stay the same, so histories compare one to one).
    struct History {
        var random: SplitMix64
        let mutant: Mutant?
        let shape: Shape
        var tracing = false
        var outcome = Outcome()

        init(seed: UInt64, mutant: Mutant?) {
            var random = SplitMix64(seed: seed)
            let drawn = Shape.allCases[Int(random.next() % 2)]
            self.shape = Shape.allCases.first { "\($0)" == Environment.value("MMM_MODEL_SHAPE") } ?? drawn
            self.random = random
            self.mutant = mutant
        }

        mutating func uniform(_ low: Double, _ high: Double) -> Double {
            low + (high - low) * Double(self.random.next() >> 11) / Double(1 << 53)
        }

        mutating func chance(_ oneIn: UInt64) -> Bool { self.random.next() % oneIn == 0 }

        /// Adds a line to the trace; callers build it only when ``tracing``.
        mutating func note(_ text: String) {
            self.outcome.trace.append(text)
        }

        static func instant(_ milliseconds: Double) -> MonitorInstant {
            MonitorInstant(sinceOrigin: .milliseconds(milliseconds))
        }

        /// The monitor's time for the model's `milliseconds`: its machine was settled in its first seconds.
        static func monitorInstant(_ milliseconds: Double) -> MonitorInstant {
            MonitorInstant(sinceOrigin: .milliseconds(milliseconds + 10_000))
        }

        static func position(_ count: Int) -> GTIDPosition {
            guard count > 0 else { return .empty }
            // One GTID of a valid domain and server: it cannot fail to build.
            return try! GTIDPosition([GTID(domain: 0, serverID: 1, sequence: UInt64(count))])
        }

        /// The candidate and previous writer of the promotion `actions` start, if they start one.
        static func promotion(in actions: [ClusterAction]) -> (candidate: String, previousWriter: String?)? {
            actions.lazy.compactMap { action -> (String, String?)? in
                if case .drainThenPromote(let host, let previous) = action { (host, previous) } else { nil }
            }.first
        }

        /// Why `candidate`, the monitor's first choice, is behind another host of `writerHosts` by the positions its
        /// pollers brought back (received first, then applied, as ``RolePlanner/mostAdvanced(among:positions:)``
        /// ranks them), or nil when it is not.
        static func choiceBehind(
            _ candidate: String, reports: [(at: Double, host: String, received: Int, applied: Int)], writerHosts: [String]
        ) -> String? {
            func last(_ host: String) -> (received: Int, applied: Int) {
                reports.last { $0.host == host }.map { ($0.received, $0.applied) } ?? (0, 0)
            }
            let mine = last(candidate)
            for other in writerHosts where other != candidate && other != "db1" {
                let theirs = last(other)
                if theirs.received > mine.received || (theirs.received == mine.received && theirs.applied > mine.applied) {
                    return "\(candidate) chosen with positions \(mine) polled, behind \(other)'s \(theirs)"
                }
            }
            return nil
        }

        func mayBecomeWriter(_ host: String) -> Bool {
            if self.mutant == .everyReplicaACKs { return true }
            return host == "db2" || self.shape == .threeMasters
        }

        /// The agent's semi-sync rounds on `host` up to `until`; returns the end of its first round and, for the
        /// writer, when it first was a semi-sync master with `AFTER_SYNC`.
        mutating func runAgent(_ host: String, replica: inout Replica?, timeout: UInt32, until: Double) -> (firstRound: Double, masterReady: Double?) {
            let isWriter = host == "db1"
            let connected = self.chance(2)
            var observed = SemiSyncObservation(
                masterEnabled: self.chance(2),
                waitPoint: self.chance(2) ? .afterSync : .afterCommit,
                timeoutMilliseconds: self.chance(2) ? UInt64(timeout) : 10_000,
                slaveEnabled: self.chance(2),
                slaveActive: connected,
                ioThreadConnected: true,
                sqlThreadRunning: true
            )
            // A replica ACKs only if it connected with the variable on; it may have been turned off since.
            if connected, self.chance(3) { observed.slaveEnabled = true }
            replica?.ackSide = [(0, observed.slaveActive)]
            var lastRestart: Double?
            var time = self.uniform(0, 1_000)
            let firstRound = time + 5
            var masterReady: Double?
            while time < until {
                let actions = SemiSyncPlanner.plan(
                    isWriter: isWriter, mayBecomeWriter: self.mayBecomeWriter(host), timeoutMilliseconds: timeout,
                    observed: observed, lastIORestart: lastRestart.map(Self.instant), now: Self.instant(time)
                )
                var step = time
                for action in actions {
                    step += self.uniform(0.2, 2)
                    switch action {
                    case .set(.masterEnabled(let on)): observed.masterEnabled = on
                    case .set(.masterWaitPoint(let point)): observed.waitPoint = point
                    case .set(.masterTimeout(let milliseconds)): observed.timeoutMilliseconds = UInt64(milliseconds)
                    case .set(.slaveEnabled(let on)): observed.slaveEnabled = on
                    // The model passes promotablePeerUp as true (a promotable peer is up until the crash), so the
                    // writer keeps waiting with no replica connected, as MariaDB does by default.
                    case .set(.masterWaitNoSlave(let on)): observed.masterWaitNoSlave = on
                    case .releaseWaitingCommits:
                        // The agent releases a commit that waited `semi_sync_timeout` (its writer lease valid): the
                        // model's fall back at `commit + timeout` below stands for it.
                        break
                    case .restartIOThread:
                        lastRestart = time
                        let end = step + self.uniform(2, 60)
                        replica?.gaps.append((step, end))
                        replica?.ackSide.append((step, false))
                        replica?.ackSide.append((end, observed.slaveEnabled))
                        observed.slaveActive = observed.slaveEnabled
                        step = end
                    }
                }
                if self.tracing, !actions.isEmpty { self.note("\(Int(time)) ms: \(host) agent round: \(actions)") }
                if isWriter, masterReady == nil, observed.masterEnabled, observed.waitPoint == .afterSync {
                    masterReady = step + self.uniform(1, 20)
                }
                time += 1_000 + self.uniform(0, 30)
            }
            return (firstRound, masterReady)
        }

        mutating func run() -> Outcome {
            let timeout: UInt32 = self.chance(2) ? 10_000 : UInt32(self.uniform(100, 2_000))
            // The crash comes after every agent's first round; rounds are simulated a little past it.
            var db2: Replica? = Replica(name: "db2")
            var db3: Replica? = Replica(name: "db3")
            var none: Replica?
            let horizon = 6_000.0
            let writer = self.runAgent("db1", replica: &none, timeout: timeout, until: horizon)
            let first2 = self.runAgent("db2", replica: &db2, timeout: timeout, until: horizon).firstRound
            let first3 = self.runAgent("db3", replica: &db3, timeout: timeout, until: horizon).firstRound
            let settled = max(writer.firstRound, first2, first3) + 100
            // The planner always turns the master side on in the writer's first round.
            let writesStart = writer.masterReady ?? writer.firstRound
            let crash = settled + self.uniform(1, 2_500)
            var replicas = [db2!, db3!]  // both set just above
            if self.tracing { self.note("\(self.shape), semi-sync timeout \(timeout) ms, writes from \(Int(writesStart)) ms, crash at \(Int(crash)) ms") }

            // Stalls, after the first rounds; often one across the crash, as on the bench.
            for index in replicas.indices {
                if self.chance(2) {
                    let start = max(settled, crash - self.uniform(0, 1_200))
                    replicas[index].gaps.append((start, start + self.uniform(20, 1_500)))
                }
                if self.chance(3) {
                    let start = self.uniform(settled, crash)
                    replicas[index].gaps.append((start, start + self.uniform(20, 1_500)))
                }
                replicas[index].gaps.sort { $0.start < $1.start }
                if self.tracing { self.note("\(replicas[index].name) gaps \(replicas[index].gaps.map { "\(Int($0.start))-\(Int($0.end))" }) ack side \(replicas[index].ackSide.map { "\(Int($0.time)):\($0.on)" })") }
            }

            // Commits, and each replica's relay log and SQL thread.
            var commits: [Double] = []
            var time = writesStart
            while true {
                time += self.chance(4) ? self.uniform(0.2, 2) : self.uniform(2, 40)
                guard time < crash else { break }
                commits.append(time)
            }
            for index in replicas.indices {
                var last = 0.0
                var lastApplied = 0.0
                for commit in commits {
                    var arrival = max(commit + self.uniform(0.1, 3), last)
                    for gap in replicas[index].gaps where arrival >= gap.start && arrival < gap.end { arrival = gap.end }
                    last = arrival
                    replicas[index].received.append(arrival)
                    let cost = self.chance(150) && Environment.value("MMM_MODEL_NO_LAG") == nil ? self.uniform(50, 2_500) : self.uniform(0.02, 1)
                    lastApplied = max(arrival, lastApplied) + cost
                    replicas[index].applied.append(lastApplied)
                }
                replicas[index].finalReceived = replicas[index].received.prefix { $0 < crash }.count
            }

            // Acknowledgements: the first ACK covering each transaction, from a host whose ACK side was on.
            var firstACK = [Double](repeating: .infinity, count: commits.count)
            for index in replicas.indices {
                var best = Double.infinity
                for k in stride(from: commits.count - 1, through: 0, by: -1) {
                    let arrival = replicas[index].received[k]
                    if replicas[index].ackOn(at: arrival) {
                        best = arrival + self.uniform(0.1, 2)
                        if arrival < crash, replicas[index].lastACKed == 0 { replicas[index].lastACKed = k + 1 }
                    }
                    firstACK[k] = min(firstACK[k], best)
                }
            }
            var acknowledged: [(k: Int, protected: Bool)] = []
            var fallenBackAt: Double?
            for k in commits.indices {
                let commit = commits[k]
                if let off = fallenBackAt, off <= commit, k > 0, firstACK[k - 1] <= commit {
                    fallenBackAt = nil  // a semi-sync replica has everything: back to semi-sync
                }
                let returned: Double
                let protected: Bool
                if let off = fallenBackAt, firstACK[k] > off {
                    returned = max(commit, off)
                    protected = false
                } else if firstACK[k] <= commit + Double(timeout) {
                    returned = firstACK[k]
                    protected = true
                } else {
                    returned = commit + Double(timeout)
                    protected = false
                    fallenBackAt = returned
                }
                if returned < crash { acknowledged.append((k + 1, protected)) }
            }
            self.outcome.acknowledged = acknowledged.count
            self.outcome.unprotected = acknowledged.filter { !$0.protected }.count
            for replica in replicas {
                if self.tracing { self.note("\(replica.name) received \(replica.finalReceived) of \(commits.count), last ACKed \(replica.lastACKed)") }
            }
            if self.tracing { self.note("acknowledged \(acknowledged.count) (\(self.outcome.unprotected) after the fallback), last \(acknowledged.last?.k ?? 0)") }

            // The monitor: position polls, then the crash confirmed.
            var machine = ZeroLossModelPropertyTests.machines[self.shape]!  // built for every shape
            let detected = crash + self.uniform(0, 250) + 750 + self.uniform(1, 40)
            var reports: [(at: Double, host: String, received: Int, applied: Int)] = []
            for replica in replicas {
                var send = self.uniform(0, 1_000)
                while true {
                    let roundTrip = self.chance(30) ? self.uniform(15, 400) : self.uniform(1, 15)
                    guard send + roundTrip <= detected else { break }
                    let read = send + roundTrip / 2
                    reports.append((send + roundTrip, replica.name, replica.receivedCount(at: read), replica.appliedCount(at: read)))
                    send += roundTrip + 1_000
                }
            }
            if self.mutant != .candidateWithoutPositions {
                for report in reports.sorted(by: { $0.at < $1.at }) {
                    _ = machine.positionsObserved(
                        host: report.host, received: Self.position(report.received), applied: Self.position(report.applied),
                        at: Self.monitorInstant(report.at)
                    )
                }
                for replica in replicas {
                    if let last = reports.last(where: { $0.host == replica.name }) {
                        if self.tracing { self.note("\(replica.name) last report at \(Int(last.at)) ms: received \(last.received), applied \(last.applied)") }
                    }
                }
            }
            var now = detected
            var actions = machine.reportConfirmed("db1", .mysqlDown, at: Self.monitorInstant(now))
            let topology = machine.topology
            var firstChoice = true
            for _ in 0..<4 {
                guard let (candidate, previousWriter) = Self.promotion(in: actions),
                    let chosen = replicas.first(where: { $0.name == candidate })
                else { break }
                if firstChoice {
                    firstChoice = false
                    if let behind = Self.choiceBehind(candidate, reports: reports, writerHosts: topology.writerRole.hosts) {
                        self.outcome.violation = behind
                        return self.outcome
                    }
                }
                // The same rule DecisionLoop.beginPromotion uses, when the promotion begins.
                let peers = machine.peersThatMayHaveACKed(except: candidate, previousWriter: previousWriter)
                // Only the old writer may hold the writer IP (a claim): its mariadbd is down, so its agent drops the
                // IP and no gtid_binlog_pos is read (the drain covers the relay log, not the old writer's binlog).
                let fencedAt = now + self.uniform(5, 60)
                var drainFrom = fencedAt
                var mustHave = 0
                if self.mutant != .promotionWithoutReRead {
                    let readAt = fencedAt + (self.chance(30) ? self.uniform(15, 400) : self.uniform(1, 15))
                    var fresh: [String: ReplicationPositions] = [:]
                    for host in [candidate] + peers {
                        guard let replica = replicas.first(where: { $0.name == host }) else { continue }
                        fresh[host] = ReplicationPositions(
                            received: Self.position(replica.receivedCount(at: readAt)),
                            applied: Self.position(replica.appliedCount(at: readAt))
                        )
                    }
                    let ahead = RolePlanner.hostsAhead(of: candidate, among: peers, positions: fresh)
                    if self.tracing { self.note("\(Int(readAt)) ms: candidate \(candidate) read again with \(peers): \(fresh.sorted { $0.key < $1.key }.map { "\($0.key) received \($0.value.received)" }), ahead \(ahead)") }
                    if !ahead.isEmpty {
                        now = readAt
                        self.outcome.reChosen += 1
                        if self.mutant != .candidateWithoutPositions {
                            for (host, read) in fresh.sorted(by: { $0.key < $1.key }) {
                                _ = machine.positionsObserved(host: host, received: read.received, applied: read.applied, at: Self.monitorInstant(now))
                            }
                        }
                        actions = machine.drainFailed(host: candidate, reason: "\(ahead) ahead", at: Self.monitorInstant(now))
                        continue
                    }
                    drainFrom = readAt
                    for peer in peers {
                        mustHave = max(mustHave, replicas.first { $0.name == peer }?.receivedCount(at: readAt) ?? 0)
                    }
                }
                // The drain polls every 50 ms until the relay log is applied and the candidate has what the peers
                // received; past drain_timeout it fails and the machine chooses again.
                let appliedAll = chosen.finalReceived > 0 ? chosen.applied[chosen.finalReceived - 1] : 0
                let drainedAt = max(drainFrom, appliedAll) + self.uniform(0, 50)
                if self.tracing { self.note("\(Int(drainFrom)) ms: candidate \(candidate) draining (received \(chosen.finalReceived), must have \(mustHave)), drained at \(Int(drainedAt)) ms") }
                if chosen.finalReceived >= mustHave, drainedAt <= drainFrom + ZeroLossModelPropertyTests.drainTimeout {
                    now = drainedAt
                    _ = machine.promotionDrained(host: candidate, at: Self.monitorInstant(now))
                    self.outcome.promoted = candidate
                    break
                }
                self.outcome.retries += 1
                now = drainFrom + ZeroLossModelPropertyTests.drainTimeout
                if self.mutant != .candidateWithoutPositions {
                    for replica in replicas {
                        _ = machine.positionsObserved(
                            host: replica.name, received: Self.position(replica.finalReceived),
                            applied: Self.position(replica.appliedCount(at: now)), at: Self.monitorInstant(now)
                        )
                    }
                }
                actions = machine.drainFailed(host: candidate, reason: "not drained", at: Self.monitorInstant(now))
            }

            guard let promoted = self.outcome.promoted, let winner = replicas.first(where: { $0.name == promoted }) else {
                if self.tracing { self.note("no writer") }
                return self.outcome
            }
            let has = winner.finalReceived
            if let lost = acknowledged.first(where: { $0.protected && $0.k > has }) {
                self.outcome.violation = "\(promoted) promoted with \(has) transactions, but transaction \(lost.k) was acknowledged with an ACK"
            }
            self.outcome.unprotectedLost = acknowledged.filter { !$0.protected && $0.k > has }.count
            for other in replicas where other.name != promoted && self.outcome.violation == nil {
                if other.lastACKed > has {
                    self.outcome.violation = "\(promoted) promoted with \(has) transactions, behind \(other.name), which ACKed \(other.lastACKed)"
                } else if other.ackOn(at: crash), other.finalReceived > has {
                    self.outcome.violation = "\(promoted) promoted with \(has) transactions, behind \(other.name), which ACKs and received \(other.finalReceived)"
                }
            }
            if self.tracing { self.note("promoted \(promoted): \(self.outcome.violation ?? "fine")") }
            return self.outcome
        }
    }

    /// The first violation among `count` histories from `seed`, with the history's seed and index (1-based), and the
    /// totals of what was acknowledged.
    static func histories(_ count: Int, seed: UInt64, mutant: Mutant?) -> (found: (seed: UInt64, violation: String, index: Int)?, totals: Outcome) {
        var seeds = SplitMix64(seed: seed)
        var totals = Outcome()
        for index in 0..<count {
            let history = seeds.next()
            var model = History(seed: history, mutant: mutant)
            let outcome = model.run()
            totals.acknowledged += outcome.acknowledged
            totals.unprotected += outcome.unprotected
            totals.unprotectedLost += outcome.unprotectedLost
            if let violation = outcome.violation { return ((history, violation, index + 1), totals) }
        }
        return (nil, totals)
    }

    /// Invariants 1 to 3 over 100,000 histories in 8 shards (`MMM_MODEL_HISTORIES` scales them for a longer run).
    @Test(arguments: 0..<8)
    func noAcknowledgedWriteIsLostAndTheNewWriterIsNeverBehindAnACKer(shard: Int) {
        let count = Int(Environment.value("MMM_MODEL_HISTORIES") ?? "").map { $0 / 8 } ?? 12_500
        let run = Self.histories(count, seed: 0x2E60_1055_0000 + UInt64(shard), mutant: nil)
        if let found = run.found {
            Issue.record("history seed \(found.seed): \(found.violation) (replay with MMM_MODEL_TRACE=\(found.seed))")
        }
        if run.found == nil {
            #expect(run.totals.acknowledged > count * 10, "the histories acknowledged too little to mean anything")
        }
    }

    /// Prints the totals of `MMM_MODEL_STATS=<count>` histories (with `MMM_MODEL_SHAPE`, `MMM_MODEL_MUTANT` and
    /// `MMM_MODEL_NO_LAG` to vary them), counting every violation instead of stopping at the first.
    @Test func stats() {
        guard let count = Environment.value("MMM_MODEL_STATS").flatMap(Int.init) else { return }
        let mutant = Mutant.allCases.first { "\($0)" == Environment.value("MMM_MODEL_MUTANT") }
        var seeds = SplitMix64(seed: 0x5747)
        var totals = Outcome()
        var first: [UInt64] = []
        for _ in 0..<count {
            let seed = seeds.next()
            var model = History(seed: seed, mutant: mutant)
            let outcome = model.run()
            totals.histories += 1
            totals.acknowledged += outcome.acknowledged
            totals.unprotected += outcome.unprotected
            totals.unprotectedLost += outcome.unprotectedLost
            totals.retries += outcome.retries
            totals.reChosen += outcome.reChosen
            if outcome.violation != nil { totals.violations += 1; if first.count < 5 { first.append(seed) } }
        }
        print("STATS histories \(totals.histories) acknowledged \(totals.acknowledged) unprotected \(totals.unprotected) unprotectedLost \(totals.unprotectedLost) drainRetries \(totals.retries) reChosen \(totals.reChosen) violations \(totals.violations) first \(first)")
    }

    /// The model starts from what it assumes: db1 the writer, in both shapes.
    @Test(arguments: Shape.allCases)
    func everyHistoryStartsWithDb1TheWriter(shape: Shape) {
        #expect(Self.machines[shape]?.writer == "db1")
    }

    /// Prints one history's trace: `MMM_MODEL_TRACE=<seed>` (`MMM_MODEL_MUTANT=<name>` for a mutant's).
    @Test func traceOne() {
        guard let seed = Environment.value("MMM_MODEL_TRACE").flatMap(UInt64.init) else { return }
        let mutant = Mutant.allCases.first { "\($0)" == Environment.value("MMM_MODEL_MUTANT") }
        var model = History(seed: seed, mutant: mutant)
        model.tracing = true
        let outcome = model.run()
        for line in outcome.trace { print(line) }
        print("VIOLATION: \(outcome.violation ?? "none")")
    }

    /// Each wrong decision is caught within a few thousand histories (20,000 run).
    @Test(arguments: Mutant.allCases)
    func aWrongDecisionIsCaught(mutant: Mutant) {
        let run = Self.histories(20_000, seed: 0xBAD_2E60, mutant: mutant)
        #expect(run.found != nil, "the model did not notice \(mutant)")
        if let found = run.found { print("mutant \(mutant) caught by history \(found.index) (seed \(found.seed)): \(found.violation)") }
    }
}
