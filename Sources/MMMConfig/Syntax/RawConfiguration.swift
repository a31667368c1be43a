/// A directive's text as written, before typing.
struct RawValue: Sendable, Hashable {
    /// The value with the trailing comment and surrounding whitespace removed.
    var text: String
    /// Where the directive was (the last place, when a later file overrides it).
    var location: SourceLocation
    /// Whether the value came from a `default` template section rather than this section.
    var fromTemplate = false
}

/// One section, merged over every place it appears (MMM merges `<host default>` in common and mon).
struct RawSection: Sendable, Hashable {
    /// `host`, `role`, `monitor`, …; empty for the top level.
    var kind: String
    /// The name of a named section, `nil` for unique sections and the top level.
    var name: String?
    /// Where the section was first opened.
    var location: SourceLocation
    /// The directives, by name; a later occurrence overrides an earlier one, as in MMM.
    var values: [String: RawValue] = [:]

    /// `<host db1>`, `<monitor>`, or `the top level`.
    var label: String {
        if self.kind.isEmpty { return "the top level" }
        if let name = self.name { return "<\(self.kind) \(name)>" }
        return "<\(self.kind)>"
    }
}

/// What the parser produced from one top-level file and everything it includes.
struct RawConfiguration: Sendable {
    /// Directives outside any section.
    var globals: RawSection
    /// `<monitor>` and `<socket>`, by kind.
    var uniqueSections: [String: RawSection] = [:]
    /// Named sections by kind, in the order they first appear.
    var namedSections: [String: [RawSection]] = [:]
    /// Every file read, in order, with the line of its first password or secret (if any).
    var files: [(path: String, firstSecretLine: Int?)] = []

    /// An empty configuration whose top level belongs to `mainFile`.
    init(mainFile: String) {
        self.globals = RawSection(kind: "", name: nil, location: SourceLocation(file: mainFile, line: nil))
    }

    /// The named sections of `kind`, without its `default` template (kinds that have one).
    func sections(_ kind: String) -> [RawSection] {
        // Only template kinds treat `default` specially; MMM's `<role default>` is an ordinary role.
        let sections = self.namedSections[kind] ?? []
        guard ConfigSchema.templateSections.contains(kind) else { return sections }
        return sections.filter { $0.name != "default" }
    }
}
