import CMariaDB

/// Process-wide initialisation of Connector/C.
enum MariaDBLibrary {
    /// `mysql_library_init` must run once before any thread uses the library; Swift runs a global's initializer
    /// exactly once, thread-safely.
    private static let initialized: Bool = {
        // mysql_library_init is a macro for mysql_server_init, which Swift cannot import as a macro.
        mysql_server_init(0, nil, nil) == 0
    }()

    /// Initialises the library if that has not happened yet.
    static func initializeOnce() {
        precondition(self.initialized, "mysql_library_init failed: Connector/C cannot be used")
    }
}
