import MMMCore
import MariaDBClient
import Testing

@Suite struct SemiSyncStatementTests {
    @Test func everySettingRendersItsStatement() throws {
        #expect(try SemiSyncSetting.masterEnabled(true).sql() == "SET GLOBAL rpl_semi_sync_master_enabled=ON")
        #expect(try SemiSyncSetting.masterEnabled(false).sql() == "SET GLOBAL rpl_semi_sync_master_enabled=OFF")
        #expect(try SemiSyncSetting.masterWaitPoint(.afterSync).sql() == "SET GLOBAL rpl_semi_sync_master_wait_point=AFTER_SYNC")
        #expect(try SemiSyncSetting.masterWaitPoint(.afterCommit).sql() == "SET GLOBAL rpl_semi_sync_master_wait_point=AFTER_COMMIT")
        #expect(try SemiSyncSetting.masterTimeout(milliseconds: 3000).sql() == "SET GLOBAL rpl_semi_sync_master_timeout=3000")
        #expect(try SemiSyncSetting.masterWaitNoSlave(false).sql() == "SET GLOBAL rpl_semi_sync_master_wait_no_slave=OFF")
        #expect(try SemiSyncSetting.slaveEnabled(true).sql() == "SET GLOBAL rpl_semi_sync_slave_enabled=ON")
        #expect(try SemiSyncSetting.slaveEnabled(false).sql() == "SET GLOBAL rpl_semi_sync_slave_enabled=OFF")
    }

    @Test(arguments: [UInt32(0)])
    func aTimeoutOutOfRangeIsRefused(milliseconds: UInt32) {
        #expect(throws: MMMError.self) { try SemiSyncSetting.masterTimeout(milliseconds: milliseconds).sql() }
        do {
            _ = try SemiSyncSetting.masterTimeout(milliseconds: milliseconds).sql()
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("\(milliseconds) ms"))
        }
    }

    /// The writer's strict timeout (issue 17) is the largest.
    @Test(arguments: [UInt32(1), 3_600_000, SemiSyncPlanner.strictTimeoutMilliseconds])
    func theTimeoutBoundsAreAccepted(milliseconds: UInt32) throws {
        #expect(try SemiSyncSetting.masterTimeout(milliseconds: milliseconds).sql().hasSuffix("=\(milliseconds)"))
    }
}
