import MMMCore
import Testing

@Suite struct SemiSyncPlannerTests {
    static let now = MonitorInstant.seconds(100)

    func plan(writer: Bool, _ observed: SemiSyncObservation, lastRestart: MonitorInstant? = nil) -> [SemiSyncAction] {
        SemiSyncPlanner.plan(isWriter: writer, timeoutMilliseconds: 3000, observed: observed, lastIORestart: lastRestart, now: Self.now)
    }

    /// A writer in the target state: master ON, AFTER_SYNC, the strict timeout, slave ON.
    static let convergedWriter = SemiSyncObservation(
        masterEnabled: true, waitPoint: .afterSync, timeoutMilliseconds: UInt64(SemiSyncPlanner.strictTimeoutMilliseconds),
        slaveEnabled: true, masterActive: true,
        masterClients: 1
    )
    /// A replica in the target state: master OFF, slave ON and ACKing.
    static let convergedReplica = SemiSyncObservation(
        masterEnabled: false, slaveEnabled: true, slaveActive: true, ioThreadConnected: true, sqlThreadRunning: true
    )

    @Test func aFreshWriterSetsTheWaitPointAndTimeoutBeforeItEnablesTheMasterRole() {
        #expect(
            self.plan(writer: true, SemiSyncObservation())
                == [
                    .set(.slaveEnabled(true)), .set(.masterWaitPoint(.afterSync)), .set(.masterTimeout(milliseconds: SemiSyncPlanner.strictTimeoutMilliseconds)),
                    .set(.masterEnabled(true)),
                ]
        )
    }

    /// Bench case 2: a new writer whose only promotable peer is down has no replica that can ACK. With MariaDB's
    /// default each commit waits the whole timeout, and a client that kills its statement sooner keeps the writer
    /// waiting for ever; the writer must not wait while no promotable peer is up, and waits again once one is.
    @Test func aWriterWaitsForAnACKOnlyWhileAPromotablePeerIsUp() {
        func plan(_ observed: SemiSyncObservation, peerUp: Bool) -> [SemiSyncAction] {
            SemiSyncPlanner.plan(
                isWriter: true, timeoutMilliseconds: 3000, promotablePeerUp: peerUp, observed: observed,
                lastIORestart: nil, now: Self.now
            )
        }
        var alone = Self.convergedWriter
        alone.masterClients = 0
        #expect(plan(alone, peerUp: false) == [.set(.masterWaitNoSlave(false))])
        // A fresh writer stops waiting before its master role is on, so not even the first commit waits.
        #expect(
            plan(SemiSyncObservation(), peerUp: false) == [
                .set(.slaveEnabled(true)), .set(.masterWaitPoint(.afterSync)), .set(.masterTimeout(milliseconds: SemiSyncPlanner.strictTimeoutMilliseconds)),
                .set(.masterWaitNoSlave(false)), .set(.masterEnabled(true)),
            ]
        )
        alone.masterWaitNoSlave = false
        #expect(plan(alone, peerUp: false).isEmpty)
        // The peer's server is back (its IO thread not yet connected): commits wait for its ACK again.
        #expect(plan(alone, peerUp: true) == [.set(.masterWaitNoSlave(true))])
    }

    /// Issue 17: MariaDB's own timeout runs in real time, so a commit waiting across a freeze longer than the timeout
    /// returns to its client at the wake, before the agent can fence. The writer's timeout is therefore never reached;
    /// commits are released by the agent (under its lease) once they waited `semi_sync_timeout`, or at once when no
    /// host that may become writer can ACK.
    @Test func theWriterNeverFallsBackByItselfAndReleasesWaitersOnlyByDecision() {
        func plan(_ observed: SemiSyncObservation, peerUp: Bool = true) -> [SemiSyncAction] {
            SemiSyncPlanner.plan(
                isWriter: true, timeoutMilliseconds: 3000, promotablePeerUp: peerUp, observed: observed, lastIORestart: nil, now: Self.now
            )
        }
        var waiting = Self.convergedWriter
        waiting.masterWaitSessions = 2
        waiting.longestACKWaitMilliseconds = 2_999
        #expect(plan(waiting).isEmpty, "a commit that waited less than semi_sync_timeout keeps waiting")
        waiting.longestACKWaitMilliseconds = 3_000
        #expect(plan(waiting) == [.releaseWaitingCommits])
        var alone = Self.convergedWriter
        alone.masterClients = 0
        alone.masterWaitNoSlave = false
        alone.masterWaitSessions = 1
        alone.longestACKWaitMilliseconds = 10
        #expect(plan(alone, peerUp: false) == [.releaseWaitingCommits], "nobody that may become writer can ACK: no reason to wait")
        alone.masterWaitNoSlave = true
        #expect(plan(alone, peerUp: true).isEmpty, "a peer's server answers: its IO thread may reconnect and ACK")
        var connected = waiting
        connected.longestACKWaitMilliseconds = 10
        #expect(!plan(connected, peerUp: false).contains(.releaseWaitingCommits), "a connected replica may still ACK")
    }

    /// Issue 17: a woken old writer's commits still waiting for an ACK are killed by its fence; switching the master
    /// side off first would return them to their clients as acknowledged.
    @Test func aHostThatLostTheWriterRoleKeepsTheMasterSideOnWhileCommitsWait() {
        var oldWriter = Self.convergedWriter
        oldWriter.masterWaitSessions = 1
        oldWriter.longestACKWaitMilliseconds = 30_000
        #expect(self.plan(writer: false, oldWriter) == [], "nothing until the fence has killed the waiting sessions")
        oldWriter.masterWaitSessions = 0
        #expect(self.plan(writer: false, oldWriter) == [.set(.masterEnabled(false))])
    }

    @Test func convergedHostsNeedNothing() {
        #expect(self.plan(writer: true, Self.convergedWriter).isEmpty)
        #expect(self.plan(writer: false, Self.convergedReplica).isEmpty)
    }

    /// Bench finding 2: a replica that can never be promoted (db3, `mode slave`) must not send the ACK that MariaDB
    /// waits for, or a write acknowledged to the client may be missing on the host that becomes the writer.
    @Test func aHostThatCannotBecomeWriterStopsACKingAtOnce() {
        func plan(_ observed: SemiSyncObservation, lastRestart: MonitorInstant? = nil) -> [SemiSyncAction] {
            SemiSyncPlanner.plan(
                isWriter: false, mayBecomeWriter: false, timeoutMilliseconds: 3000, observed: observed,
                lastIORestart: lastRestart, now: Self.now
            )
        }
        #expect(plan(Self.convergedReplica) == [.set(.slaveEnabled(false)), .restartIOThread])
        // Even right after another restart: the ACKs must stop.
        #expect(plan(Self.convergedReplica, lastRestart: Self.now) == [.set(.slaveEnabled(false)), .restartIOThread])
        var stopped = Self.convergedReplica
        stopped.slaveEnabled = false
        stopped.slaveActive = false
        #expect(plan(stopped).isEmpty)
        var masterOn = stopped
        masterOn.masterEnabled = true
        #expect(plan(masterOn) == [.set(.masterEnabled(false))])
        // A standby that may become writer keeps ACKing.
        #expect(self.plan(writer: false, Self.convergedReplica).isEmpty)
    }

    @Test func aWriterThatFellBackToAsyncIsNotTouched() {
        // MariaDB switches semi-sync on again by itself when a replica catches up; the variables are right.
        var observed = Self.convergedWriter
        observed.masterActive = false
        observed.masterClients = 0
        #expect(self.plan(writer: true, observed).isEmpty)
    }

    @Test func aWriterWithAnotherTimeoutOrAfterCommitIsCorrected() {
        var observed = Self.convergedWriter
        observed.timeoutMilliseconds = 10_000  // MariaDB's default, or a semi_sync_timeout an earlier version set
        observed.waitPoint = .afterCommit
        #expect(self.plan(writer: true, observed) == [.set(.masterWaitPoint(.afterSync)), .set(.masterTimeout(milliseconds: SemiSyncPlanner.strictTimeoutMilliseconds))])
        observed.waitPoint = nil  // a value this code does not know
        #expect(self.plan(writer: true, observed).first == .set(.masterWaitPoint(.afterSync)))
    }

    @Test func aDemotedWriterTurnsTheMasterRoleOffFirst() {
        // R10: with the master role on, a standby's drain stalled for a whole timeout.
        var observed = Self.convergedWriter
        observed.ioThreadConnected = true
        observed.sqlThreadRunning = true
        observed.slaveActive = true
        #expect(self.plan(writer: false, observed) == [.set(.masterEnabled(false))])
    }

    @Test func aReplicaEnablesTheSlaveRoleAndRestartsOnlyItsIOThread() {
        let observed = SemiSyncObservation(ioThreadConnected: true, sqlThreadRunning: true)
        #expect(self.plan(writer: false, observed) == [.set(.slaveEnabled(true)), .restartIOThread])
    }

    @Test func noIORestartWhileTheSQLThreadIsStopped() {
        // R3: with both threads stopped, the next start deletes the relay log.
        let observed = SemiSyncObservation(slaveEnabled: true, ioThreadConnected: true, sqlThreadRunning: false)
        #expect(self.plan(writer: false, observed).isEmpty)
    }

    @Test func noIORestartWhileTheIOThreadIsNotConnected() {
        // A connecting IO thread reads the variable when it connects.
        let observed = SemiSyncObservation(slaveEnabled: false, ioThreadConnected: false, sqlThreadRunning: true)
        #expect(self.plan(writer: false, observed) == [.set(.slaveEnabled(true))])
    }

    @Test func theIORestartIsNotRepeatedWithinTheBackoff() {
        let observed = SemiSyncObservation(slaveEnabled: true, ioThreadConnected: true, sqlThreadRunning: true)
        let recent = Self.now.advanced(by: .seconds(-5))
        #expect(self.plan(writer: false, observed, lastRestart: recent).isEmpty)
        let old = Self.now.advanced(by: .zero - SemiSyncPlanner.ioRestartBackoff)
        #expect(self.plan(writer: false, observed, lastRestart: old) == [.restartIOThread])
    }

    @Test func theWriterNeverRestartsItsIOThread() {
        var observed = Self.convergedWriter
        observed.ioThreadConnected = true
        observed.sqlThreadRunning = true
        observed.slaveActive = false
        #expect(self.plan(writer: true, observed).isEmpty)
    }

    @Test func theLogLineNamesEveryPart() {
        #expect(Self.convergedWriter.description == "master ON (active, clients 1, AFTER_SYNC, timeout 4294967295 ms), slave ON (inactive)")
        #expect(SemiSyncObservation().description == "master OFF, slave OFF")
    }
}
