import MMMCore
import Testing

@testable import MariaDBClient

@Suite struct ReplicationTests {
    /// A `SHOW ALL SLAVES STATUS` row as 10.11 returns it for a replica whose master died (facts file §3.1).
    static func row(_ overrides: [String: String?] = [:]) -> MariaDBRow {
        var values: [String: String?] = [
            "Connection_name": "", "Slave_SQL_State": "", "Slave_IO_State": "Reconnecting after a failed master event read",
            "Master_Host": "198.18.0.101", "Master_User": "repl", "Master_Port": "3306", "Connect_Retry": "1",
            "Master_Log_File": "mysql-bin.000001", "Read_Master_Log_Pos": "2581", "Relay_Log_File": "relay.000002",
            "Relay_Log_Pos": "1000", "Relay_Master_Log_File": "mysql-bin.000001", "Slave_IO_Running": "Connecting",
            "Slave_SQL_Running": "Yes", "Last_Errno": "0", "Last_Error": "", "Exec_Master_Log_Pos": "1423",
            "Relay_Log_Space": "3183", "Seconds_Behind_Master": nil, "Last_IO_Errno": "2003",
            "Last_IO_Error": "Can't connect", "Last_SQL_Errno": "0", "Last_SQL_Error": "", "Master_Server_Id": "1",
            "Using_Gtid": "Slave_Pos", "Gtid_IO_Pos": "1-1-5,0-1-3",
            "Slave_SQL_Running_State": "Update_rows_log_event::find_row()", "Slave_received_heartbeats": "8",
            "Gtid_Slave_Pos": "0-1-3,1-1-1",
        ]
        for (key, value) in overrides { values[key] = value }
        let names = values.keys.sorted()
        return MariaDBRow(columns: .init(names), values: names.map { values[$0]! })
    }

    @Test func decodesAReplicaWhoseMasterDied() throws {
        let status = try ReplicaStatus(row: Self.row())
        #expect(status.ioThread == .connecting)
        #expect(status.sqlThreadRunning)
        #expect(status.secondsBehindMaster == nil)
        #expect(status.lastIOErrno == 2003)
        #expect(status.usingGTID == .slavePos)
        #expect(status.gtidIOPos.description == "0-1-3,1-1-5", "parsed although the server does not sort it")
        #expect(status.gtidSlavePos.description == "0-1-3,1-1-1")
        #expect(!status.isDrained, "1-1-5 received, 1-1-1 applied: relay log still to apply (R4)")
        #expect(!status.isHealthy)
        #expect(status.readMasterLogPos == 2581 && status.execMasterLogPos == 1423)
        #expect(status.relayLogSpace == 3183 && status.receivedHeartbeats == 8 && status.masterServerID == 1)
    }

    /// Regression: 10.11 reports `Preparing` for a moment after START SLAVE, and decoding threw on it.
    @Test func preparingIOThreadDecodes() throws {
        let status = try ReplicaStatus(row: Self.row(["Slave_IO_Running": "Preparing"]))
        #expect(status.ioThread == .preparing)
        #expect(!status.isHealthy)
    }

    @Test func drainedWhenAppliedCoversReceived() throws {
        let status = try ReplicaStatus(row: Self.row(["Gtid_Slave_Pos": "0-1-3,1-1-11", "Gtid_IO_Pos": "1-1-11,0-1-3"]))
        #expect(status.isDrained)
    }

    @Test func rejectsUnknownThreadStatesAndGarbageGTIDs() {
        let io = #expect(throws: MMMError.self) { try ReplicaStatus(row: Self.row(["Slave_IO_Running": "Maybe"])) }
        #expect(io?.message.contains("'Maybe'") == true)
        #expect(throws: MMMError.self) { try ReplicaStatus(row: Self.row(["Gtid_IO_Pos": "garbage"])) }
        #expect(throws: MMMError.self) { try ReplicaStatus(row: Self.row(["Using_Gtid": "Sometimes"])) }
        let missing = #expect(throws: MMMError.self) {
            try ReplicaStatus(row: MariaDBRow(columns: .init(["Connection_name"]), values: [""]))
        }
        #expect(missing?.code == .unexpectedResult)
    }

    @Test func changeMasterIsAlwaysByGTIDAndQuotesEverything() throws {
        let sql = try ChangeMaster(
            host: "198.18.0.102", user: "repl", password: "pa'ss\\word", useGTID: .currentPos
        ).sql()
        #expect(
            sql
                == "CHANGE MASTER '' TO MASTER_HOST='198.18.0.102', MASTER_PORT=3306, MASTER_USER='repl', "
                + "MASTER_PASSWORD='pa''ss\\\\word', MASTER_USE_GTID=current_pos, MASTER_CONNECT_RETRY=1, "
                + "MASTER_HEARTBEAT_PERIOD=1.0"
        )
        #expect(!sql.contains("MASTER_LOG_FILE") && !sql.contains("MASTER_LOG_POS"))
        let description = ChangeMaster(host: "198.18.0.102", user: "repl", password: "topsecret", useGTID: .slavePos)
            .description
        #expect(!description.contains("topsecret"))
    }

    @Test func changeMasterRefusesUnsafeValues() {
        let cases: [ChangeMaster] = [
            ChangeMaster(host: "1.2.3.4', MASTER_LOG_POS=4 --", user: "repl", password: "p", useGTID: .slavePos),
            ChangeMaster(host: "198.18.0.1", user: "repl'--", password: "p", useGTID: .slavePos),
            ChangeMaster(connectionName: "a b", host: "198.18.0.1", user: "repl", password: "p", useGTID: .slavePos),
            ChangeMaster(host: "198.18.0.1", port: 0, user: "repl", password: "p", useGTID: .slavePos),
            ChangeMaster(host: "198.18.0.1", user: "repl", password: "p", useGTID: .slavePos, connectRetry: 0),
        ]
        for arguments in cases {
            #expect(throws: MMMError.self) { try arguments.sql() }
        }
    }

    @Test func rowAccessorsNameColumnAndValue() throws {
        let row = MariaDBRow(columns: .init(["n", "b", "t", "null"]), values: ["42", "ON", "x", nil])
        #expect(try row.int("n") == 42)
        #expect(try row.uint64("n") == 42)
        #expect(try row.bool("b") == true)
        #expect(try row.string("null") == nil)
        #expect(try row.int("null") == nil)
        let bad = #expect(throws: MMMError.self) { try row.int("t") }
        #expect(bad?.message == "column 't' holds 'x', which is not an integer")
        let missing = #expect(throws: MMMError.self) { try row.string("nope") }
        #expect(missing?.message.contains("column 'nope' is missing") == true)
        #expect(throws: MMMError.self) { try row.requiredString("null") }
        let result = MariaDBResult(columns: ["n"], rows: [], affectedRows: 0)
        #expect(throws: MMMError.self) { try result.singleRow("probe") }
    }
}
