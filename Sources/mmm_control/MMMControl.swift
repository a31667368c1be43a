import ArgumentParser

/// `mmm_control`: the operator's command line for swift-mmm (issue 3 and 5 fill in the verbs).
@main
struct MMMControl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmm_control",
        abstract: "Control a swift-mmm cluster (MMM 2.2 compatible)."
    )

    func run() async throws {
        print(Self.helpMessage())
    }
}
