import Synchronization

/// A Boolean that concurrent tasks can set and read: "the deadline fired", "the server is stopping".
final class Flag: Sendable {
    private let value = Atomic(false)

    /// Sets the flag.
    func set() {
        self.value.store(true, ordering: .releasing)
    }

    /// Whether the flag was set.
    var isSet: Bool {
        self.value.load(ordering: .acquiring)
    }
}
