import MMMDaemon
import Testing

@Suite("Daemonizer")
struct DaemonizerTests {
    @Test("MMM's @CLUSTER becomes --cluster CLUSTER; the program name and --daemon are dropped where asked")
    func argumentRewriting() {
        #expect(
            Daemonizer.expandingClusterShorthand(["mmm_mond", "@c1", "--log-level", "debug", "@"])
                == ["--cluster", "c1", "--log-level", "debug", "@"]
        )
        #expect(Daemonizer.daemonArguments(from: ["mmm_mond", "--daemon", "@c1"]) == ["@c1"])
    }
}
