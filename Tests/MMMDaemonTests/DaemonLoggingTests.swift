import Logging
import MMMCore
import MMMDaemon
import Testing

@Suite("DaemonLogging")
struct DaemonLoggingTests {
    @Test("level names parse case-insensitively", arguments: Logger.Level.allCases)
    func levelNamesParse(_ level: Logger.Level) throws {
        #expect(try DaemonLogging.level(named: level.rawValue) == level)
        #expect(try DaemonLogging.level(named: level.rawValue.uppercased()) == level)
    }

    @Test("an unknown level is refused with the accepted names")
    func unknownLevel() {
        let error = #expect(throws: MMMError.self) { try DaemonLogging.level(named: "verbose") }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'verbose'") == true)
        #expect(error?.message.contains("trace, debug, info, notice, warning, error, critical") == true)
    }

    @Test("the handler carries the level and the program, host and cluster metadata")
    func handlerMetadata() {
        let configuration = DaemonLoggingConfiguration(
            program: "mmm_agentd",
            host: "db1",
            cluster: "c1",
            level: .debug
        )
        let handler = DaemonLogging.makeHandler(label: "mmm.agent", configuration: configuration)
        #expect(handler.logLevel == .debug)
        #expect(handler.metadata[LogKey.program] == "mmm_agentd")
        #expect(handler.metadata[LogKey.host] == "db1")
        #expect(handler.metadata[LogKey.cluster] == "c1")
    }

    @Test("a monitor without a host or cluster gets only the program")
    func handlerWithoutHost() {
        let configuration = DaemonLoggingConfiguration(program: "mmm_mond")
        #expect(configuration.baseMetadata == [LogKey.program: "mmm_mond"])
        #expect(configuration.level == .info)
    }

    @Test("metadata keys are unique and dot-separated under mmm.")
    func keysAreDistinct() {
        let keys = LogKey.all
        #expect(Set(keys).count == keys.count)
        #expect(keys.allSatisfy { $0.hasPrefix("mmm.") })
    }
}
