import MMMAgent
import MMMCore
import MariaDBClient
import Testing

/// Pure decisions behind write control and repointing: no server needed.
@Suite("Write control and repoint decisions")
struct WriteControlDecisionTests {
    static func position(_ text: String) throws -> GTIDPosition { try GTIDPosition(parsing: text) }
    static func state(_ text: String) throws -> GTIDBinlogState { try GTIDBinlogState(parsing: text) }

    // MARK: - current_pos or slave_pos

    @Test(
        "a host that has written repoints with current_pos, one that never has with slave_pos",
        arguments: [
            // Old writer db1 (server 1) of the facts' §2.1: its own domain 1 is in its binlog.
            (UInt32(1), "0-1-3,1-1-3", GTIDStartPosition.currentPos),
            // Replica db3 (server 3) that only applied db1's and db2's transactions.
            (UInt32(3), "0-1-3,1-1-11,2-2-2", GTIDStartPosition.slavePos),
            // A standby that never wrote: nothing of server 2.
            (UInt32(2), "0-1-3,1-1-1", GTIDStartPosition.slavePos),
            // New writer db2 after its first own write.
            (UInt32(2), "0-1-3,1-1-1,2-2-1", GTIDStartPosition.currentPos),
            // One shared domain: server 1's writes no longer show in gtid_binlog_pos (0-2-7) but do in the state (R1).
            (UInt32(1), "0-1-6,0-2-7", GTIDStartPosition.currentPos),
            // An empty binlog: a fresh host.
            (UInt32(3), "", GTIDStartPosition.slavePos),
        ]
    )
    func startPosition(serverID: UInt32, binlogState: String, expected: GTIDStartPosition) throws {
        #expect(GTIDStartPosition.forRepointing(serverID: serverID, binlogState: try Self.state(binlogState)) == expected)
    }

    @Test("the start mode maps to the Using_Gtid value SHOW SLAVE STATUS shows")
    func statusMode() {
        #expect(GTIDStartPosition.currentPos.statusMode == .currentPos)
        #expect(GTIDStartPosition.slavePos.statusMode == .slavePos)
    }

    // MARK: - repoint plan

    static func source(
        host: String = "198.18.0.102", port: Int = 3306, user: String = "repl", mode: ReplicaStatus.GTIDMode = .slavePos,
        io: Bool = true, sql: Bool = true, ioErrno: Int = 0, sqlErrno: Int = 0
    ) -> RepointPlan.Source {
        RepointPlan.Source(
            host: host, port: port, user: user, mode: mode, ioThreadRunning: io, sqlThreadRunning: sql,
            lastIOErrno: ioErrno, lastSQLErrno: sqlErrno
        )
    }

    static func plan(_ current: RepointPlan.Source?, mode: GTIDStartPosition = .slavePos) -> RepointPlan {
        RepointPlan(current: current, writerHost: "198.18.0.102", writerPort: 3306, replicationUser: "repl", mode: mode)
    }

    @Test("already following the writer as wanted: nothing to do (idempotent)")
    func unchanged() {
        #expect(Self.plan(Self.source()).action == .unchanged)
        #expect(Self.plan(Self.source(mode: .currentPos), mode: .currentPos).action == .unchanged)
        // The writer is down for a moment: the IO thread connects with an error number, and is started again.
        #expect(Self.plan(Self.source(ioErrno: 2003)).action == .start)
    }

    @Test("configured as wanted but a thread is stopped or failed: START SLAVE only")
    func start() {
        #expect(Self.plan(Self.source(io: false, sql: false)).action == .start)
        #expect(Self.plan(Self.source(sql: false)).action == .start)
        #expect(Self.plan(Self.source(io: false, ioErrno: 1236), mode: .slavePos).action == .start)
        #expect(Self.plan(Self.source(sqlErrno: 1062)).action == .start)
    }

    @Test("another master, port, account or mode, or no connection at all: CHANGE MASTER")
    func changeMaster() {
        #expect(Self.plan(nil).action == .changeMaster)
        #expect(Self.plan(Self.source(host: "198.18.0.101")).action == .changeMaster)
        #expect(Self.plan(Self.source(port: 3307)).action == .changeMaster)
        #expect(Self.plan(Self.source(user: "other")).action == .changeMaster)
        // A host that has written must move from slave_pos to current_pos, even when it already follows the writer.
        #expect(Self.plan(Self.source(mode: .slavePos), mode: .currentPos).action == .changeMaster)
        #expect(Self.plan(Self.source(mode: .currentPos), mode: .slavePos).action == .changeMaster)
        // A binlog file and position setup (Using_Gtid: No) is always replaced by GTID.
        #expect(Self.plan(Self.source(mode: .no)).action == .changeMaster)
    }

    // MARK: - drain steps

    @Test("drained when gtid_slave_pos contains Gtid_IO_Pos in every domain (R4), whatever the threads do")
    func drained() throws {
        let snapshot = DrainSnapshot(
            ioThread: .connecting, sqlThreadRunning: true, sqlErrno: 0,
            received: try Self.position("1-1-11,0-1-3"), applied: try Self.position("0-1-3,1-1-11")
        )
        #expect(snapshot.nextStep == .drained)
        var stopped = snapshot
        stopped.ioThread = .no
        stopped.sqlThreadRunning = false
        #expect(stopped.nextStep == .drained)
    }

    @Test("relay log left to apply with the SQL thread running: wait for Gtid_IO_Pos")
    func waits() throws {
        let snapshot = DrainSnapshot(
            ioThread: .connecting, sqlThreadRunning: true, sqlErrno: 0,
            received: try Self.position("1-1-5,0-1-3"), applied: try Self.position("0-1-3,1-1-1")
        )
        #expect(snapshot.nextStep == .wait(try Self.position("0-1-3,1-1-5")))
    }

    @Test("SQL thread stopped, IO thread running or connecting: start only the SQL thread (R3 keeps the relay log)")
    func startsSQLThread() throws {
        for io in [ReplicaStatus.IOThreadState.yes, .connecting] {
            let snapshot = DrainSnapshot(
                ioThread: io, sqlThreadRunning: false, sqlErrno: 0,
                received: try Self.position("1-1-8"), applied: try Self.position("1-1-5")
            )
            #expect(snapshot.nextStep == .startSQLThread)
        }
    }

    @Test("both threads stopped with unapplied relay log: start nothing, since any START deletes it (R3)")
    func bothStopped() throws {
        let snapshot = DrainSnapshot(
            ioThread: .no, sqlThreadRunning: false, sqlErrno: 0,
            received: try Self.position("1-1-8"), applied: try Self.position("1-1-5")
        )
        #expect(snapshot.nextStep == .stuckBothStopped)
    }

    @Test("a SQL error is broken replication, even when everything received is applied (invariant 5)")
    func broken() throws {
        let snapshot = DrainSnapshot(
            ioThread: .yes, sqlThreadRunning: false, sqlErrno: 1062,
            received: try Self.position("1-1-8"), applied: try Self.position("1-1-8")
        )
        #expect(snapshot.nextStep == .broken)
    }

    @Test("switchover target: waits for the old writer's gtid_binlog_pos, except domains the candidate wrote itself (R5)")
    func target() throws {
        // The candidate received 1-1-9 so far; the fenced old writer's binlog has 1-1-11 and the candidate's own
        // earlier writes 2-2-3 (they came back through master-master, but the candidate never applies its own).
        var snapshot = DrainSnapshot(
            ioThread: .yes, sqlThreadRunning: true, sqlErrno: 0,
            received: try Self.position("0-1-3,1-1-9"), applied: try Self.position("0-1-3,1-1-9"),
            ownBinlog: try Self.position("0-1-3,1-1-9,2-2-3"), target: try Self.position("0-1-3,1-1-11,2-2-3")
        )
        #expect(snapshot.pending == (try Self.position("0-1-3,1-1-11")))
        #expect(snapshot.nextStep == .wait(try Self.position("0-1-3,1-1-11")))
        snapshot.received = try Self.position("0-1-3,1-1-11")
        snapshot.applied = try Self.position("0-1-3,1-1-11")
        #expect(snapshot.nextStep == .drained)
        // A domain of the target that the candidate has neither applied nor written keeps it from being drained.
        snapshot.target = try Self.position("0-1-3,1-1-11,2-2-3,3-3-1")
        #expect(snapshot.nextStep == .wait(try Self.position("0-1-3,1-1-11,3-3-1")))
    }
}
