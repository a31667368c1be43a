#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Test failpoints: `MMM_FAILPOINT=<name>` in `mmm_mond`'s environment makes it die with SIGKILL (as `kill -9` would)
/// when it reaches that point of a promotion, so that tests can check that a restarted monitor resumes or rolls the
/// promotion back safely (DESIGN.md invariant 9). Unset in production: every check is one comparison.
enum Failpoint: String, CaseIterable, Sendable {
    /// The promotion was decided (the old writer lost the role), nothing fenced yet.
    case promotionStarted = "promotion_started"
    /// A host that may have held the writer role was fenced or waited out.
    case writerFenced = "writer_fenced"
    /// The candidate has applied everything; it is not the writer yet.
    case drained = "drained"
    /// The candidate was made the writer in memory; its status was neither saved nor sent.
    case promoted = "promoted"

    /// The failpoint named in the environment, if any.
    static let armed: Failpoint? = ProcessInfo.processInfo.environment["MMM_FAILPOINT"].flatMap(Failpoint.init(rawValue:))

    /// Dies at once if `self` is armed.
    func hit() {
        guard Self.armed == self else { return }
        FileHandle.standardError.write(Data("mmm_mond: failpoint \(self.rawValue) reached: SIGKILL\n".utf8))
        kill(getpid(), SIGKILL)
    }
}
