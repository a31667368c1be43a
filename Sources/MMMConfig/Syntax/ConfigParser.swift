/// What a file system lookup found, as the parser needs it.
public enum ConfigFileContents: Sendable, Hashable {
    /// The file does not exist.
    case missing
    /// The file exists but could not be read (permissions, not UTF-8, a directory); the reason in words.
    case unreadable(String)
    /// The file's text and its permission bits (`st_mode & 0o7777`).
    case text(String, mode: UInt16)
}

/// Turns MMM config text into a ``RawConfiguration``, following `include`s and collecting every
/// grammar problem instead of stopping at the first.
///
/// Grammar (MMM 2.2 `Config.pm`, plus trailing comments):
/// - blank lines and lines whose first non-blank character is `#` are ignored;
/// - a `#` preceded by whitespace starts a comment that runs to the end of the line; a `#` inside a
///   word (`ab#12`) is part of the value. MMM 2.2 keeps such trailing comments in the value;
/// - `name value`: the value is the rest of the line, trimmed; lists are split at commas;
/// - `include FILE` (top level only; `.conf` is appended when missing; relative to the config directory);
/// - `<kind>` … `</kind>` and `<kind/>` for unique sections, `<kind name>` … `</kind>` and `<kind name/>`
///   for named ones. Sections do not nest.
struct ConfigParser {
    /// Reads a file by path.
    let read: (String) -> ConfigFileContents
    /// Directory that relative `include`s are resolved against.
    let directory: String
    /// Problems found so far.
    private(set) var problems: [ConfigProblem] = []
    private var raw: RawConfiguration
    private static let maxIncludeDepth = 16

    /// Creates a parser; use ``parse(mainFile:directory:read:)``.
    init(mainFile: String, directory: String, read: @escaping (String) -> ConfigFileContents) {
        self.read = read
        self.directory = directory
        self.raw = RawConfiguration(mainFile: mainFile)
    }

    /// Parses `mainFile` and its includes. Problems accumulate in ``problems``.
    static func parse(
        mainFile: String,
        directory: String,
        read: @escaping (String) -> ConfigFileContents
    ) -> (RawConfiguration, [ConfigProblem]) {
        var parser = ConfigParser(mainFile: mainFile, directory: directory, read: read)
        switch read(mainFile) {
        case .missing:
            parser.problems.append(
                ConfigProblem(
                    at: SourceLocation(file: mainFile, line: nil),
                    "file not found",
                    fix: "create it, or pass the directory that holds it with --config-dir"
                )
            )
        case .unreadable(let reason):
            parser.problems.append(
                ConfigProblem(
                    at: SourceLocation(file: mainFile, line: nil),
                    "cannot read the file (\(reason))",
                    fix: "make it a readable UTF-8 text file"
                )
            )
        case .text(let text, _):
            parser.parseFile(path: mainFile, text: text, includeStack: [mainFile])
        }
        return (parser.raw, parser.problems)
    }

    /// Removes a trailing comment: the first `#` that follows whitespace, and everything after it.
    static func stripTrailingComment(_ line: Substring) -> Substring {
        var previousWasSpace = false
        for index in line.indices {
            let character = line[index]
            if character == "#" && previousWasSpace { return line[..<index] }
            previousWasSpace = character == " " || character == "\t"
        }
        return line
    }

    private mutating func parseFile(path: String, text: String, includeStack: [String]) {
        self.raw.files.append((path: path, firstSecretLine: nil))
        let fileIndex = self.raw.files.count - 1
        // The section being filled: (kind, name) plus where it opened, or nil at the top level.
        var open: (kind: String, name: String?, location: SourceLocation, known: Bool)?
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so it has to be matched as a separator of its own.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let location = SourceLocation(file: path, line: lineNumber)
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            let trimmedStart = line.drop { $0 == " " || $0 == "\t" }
            if trimmedStart.isEmpty || trimmedStart.first == "#" { continue }
            let content = Self.trim(Self.stripTrailingComment(trimmedStart))
            if content.isEmpty { continue }

            if content.hasPrefix("<") {
                guard content.hasSuffix(">") else {
                    self.problems.append(
                        ConfigProblem(
                            at: location,
                            "malformed section tag",
                            fix: "write `<kind>`, `<kind name>`, `</kind>` or `<kind name/>`, e.g. `<host db1>`"
                        )
                    )
                    continue
                }
                self.handleTag(content, at: location, open: &open)
                continue
            }

            let (name, value) = Self.splitDirective(content)
            if name == "include" {
                if let section = open {
                    self.problems.append(
                        ConfigProblem(
                            at: location,
                            "`include` inside \(Self.label(section.kind, section.name))",
                            fix: "move the include line to the top level, outside any section"
                        )
                    )
                    continue
                }
                self.include(value, at: location, includeStack: includeStack)
                continue
            }

            if let section = open, !section.known { continue }
            let allowed = open.map { ConfigSchema.sectionDirectives[$0.kind] ?? [] } ?? ConfigSchema.globalDirectives
            guard allowed.contains(name) else {
                self.reportUnknownDirective(name, allowed: allowed, open: open.map { ($0.kind, $0.name) }, at: location)
                continue
            }
            guard !value.isEmpty else {
                self.problems.append(
                    ConfigProblem(
                        at: location,
                        "`\(name)` has no value",
                        fix: "write `\(name) VALUE` on one line, or remove the line"
                    )
                )
                continue
            }
            if ConfigSchema.isSecret(name), self.raw.files[fileIndex].firstSecretLine == nil {
                self.raw.files[fileIndex].firstSecretLine = lineNumber
            }
            let rawValue = RawValue(text: value, location: location)
            if let section = open {
                self.store(rawValue, named: name, inKind: section.kind, sectionName: section.name)
            } else {
                self.raw.globals.values[name] = rawValue
            }
        }
        if let section = open {
            self.problems.append(
                ConfigProblem(
                    at: section.location,
                    "\(Self.label(section.kind, section.name)) is never closed",
                    fix: "add `</\(section.kind)>` after its last directive"
                )
            )
        }
    }

    private mutating func handleTag(
        _ content: Substring,
        at location: SourceLocation,
        open: inout (kind: String, name: String?, location: SourceLocation, known: Bool)?
    ) {
        var inner = Self.trim(content.dropFirst().dropLast())
        if inner.hasPrefix("/") {
            let kind = String(Self.trim(inner.dropFirst()))
            guard let section = open else {
                self.problems.append(
                    ConfigProblem(
                        at: location,
                        "`</\(kind)>` closes a section that is not open",
                        fix: "remove it, or add the opening `<\(kind) …>` above"
                    )
                )
                return
            }
            if section.kind != kind {
                self.problems.append(
                    ConfigProblem(
                        at: location,
                        "`</\(kind)>` closes \(Self.label(section.kind, section.name))",
                        fix: "write `</\(section.kind)>`"
                    )
                )
            }
            open = nil
            return
        }
        var selfClosing = false
        if inner.hasSuffix("/") {
            selfClosing = true
            inner = Self.trim(inner.dropLast())
        }
        let words = inner.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let kind = words.first, words.count <= 2 else {
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "malformed section tag",
                    fix: "write `<kind>` or `<kind name>` with one name, e.g. `<host db1>`"
                )
            )
            return
        }
        let name = words.count == 2 ? words[1] : nil
        if let section = open {
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "\(Self.label(kind, name)) opened inside \(Self.label(section.kind, section.name))",
                    fix: "sections do not nest; close the first with `</\(section.kind)>` before this line"
                )
            )
            open = nil
        }
        var known = true
        if ConfigSchema.uniqueSections.contains(kind) {
            if let name {
                self.problems.append(
                    ConfigProblem(
                        at: location,
                        "<\(kind)> is a unique section and takes no name (found `\(name)`)",
                        fix: "write `<\(kind)>`"
                    )
                )
                known = false
            } else if self.raw.uniqueSections[kind] == nil {
                self.raw.uniqueSections[kind] = RawSection(kind: kind, name: nil, location: location)
            }
        } else if ConfigSchema.namedSections.contains(kind) {
            if let name {
                if !NameRules.isValidName(name) {
                    self.problems.append(
                        ConfigProblem(
                            at: location,
                            "section name `\(name)` is not a valid name",
                            fix: "use 1-64 characters of A-Z a-z 0-9 _ . - (not starting with - or .), e.g. `<\(kind) db1>`"
                        )
                    )
                    known = false
                } else if !(self.raw.namedSections[kind] ?? []).contains(where: { $0.name == name }) {
                    self.raw.namedSections[kind, default: []].append(
                        RawSection(kind: kind, name: name, location: location)
                    )
                }
            } else {
                self.problems.append(
                    ConfigProblem(
                        at: location,
                        "<\(kind)> needs a name",
                        fix: "write `<\(kind) NAME>`, e.g. `\(Self.example(kind))`"
                    )
                )
                known = false
            }
        } else {
            let all = ConfigSchema.uniqueSections.union(ConfigSchema.namedSections)
            let suggestion = ConfigSchema.closest(to: kind, in: all).map { "did you mean `<\($0)>`? " } ?? ""
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "unknown section `<\(kind)>`",
                    fix: "\(suggestion)sections are <host NAME>, <role NAME>, <check NAME>, <copy_method NAME>, <monitor> and <socket>"
                )
            )
            known = false
        }
        if !selfClosing {
            open = (kind: kind, name: name, location: location, known: known)
        }
    }

    private mutating func include(_ value: String, at location: SourceLocation, includeStack: [String]) {
        guard !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\t" }) else {
            self.problems.append(
                ConfigProblem(at: location, "`include` needs one file name", fix: "write e.g. `include mmm_common.conf`")
            )
            return
        }
        var fileName = value
        if !fileName.hasSuffix(".conf") { fileName += ".conf" }
        let path = fileName.hasPrefix("/") ? fileName : Self.join(self.directory, fileName)
        if includeStack.contains(path) {
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "`include \(value)` includes a file that is already being read (a loop)",
                    fix: "remove this include"
                )
            )
            return
        }
        guard includeStack.count < Self.maxIncludeDepth else {
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "includes are nested more than \(Self.maxIncludeDepth) deep",
                    fix: "include files directly from mmm_agent.conf or mmm_mon.conf"
                )
            )
            return
        }
        switch self.read(path) {
        case .missing:
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "included file \(path) does not exist",
                    fix: "create it, or correct the name (relative names are looked up in \(self.directory))"
                )
            )
        case .unreadable(let reason):
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "included file \(path) cannot be read (\(reason))",
                    fix: "make it a readable UTF-8 text file"
                )
            )
        case .text(let text, _):
            self.parseFile(path: path, text: text, includeStack: includeStack + [path])
        }
    }

    private mutating func store(_ value: RawValue, named name: String, inKind kind: String, sectionName: String?) {
        if let sectionName {
            guard let index = self.raw.namedSections[kind]?.firstIndex(where: { $0.name == sectionName }) else {
                return
            }
            self.raw.namedSections[kind]![index].values[name] = value  // index found just above
        } else {
            self.raw.uniqueSections[kind]?.values[name] = value
        }
    }

    private mutating func reportUnknownDirective(
        _ name: String,
        allowed: Set<String>,
        open: (String, String?)?,
        at location: SourceLocation
    ) {
        let place = open.map { Self.label($0.0, $0.1) } ?? "the top level"
        // `name=value` or `name:value` is one word: only what precedes the separator may be shown, the
        // rest may be a password that was never stored as one (so the loader's redaction misses it).
        if let separator = name.firstIndex(where: { $0 == "=" || $0 == ":" }), separator > name.startIndex {
            let directive = String(name[..<separator])
            self.problems.append(
                ConfigProblem(
                    at: location,
                    "`\(directive)\(name[separator])…` in \(place): a directive and its value are separated by spaces, not `\(name[separator])`",
                    fix: "write `\(directive) VALUE` (the name, then spaces, then the value)"
                )
            )
            return
        }
        var fix: String
        if let close = ConfigSchema.closest(to: name, in: allowed) {
            fix = "did you mean `\(close)`?"
        } else {
            let homes = ConfigSchema.homes(of: name)
            if homes.isEmpty {
                fix = "remove it; docs/configuration.md lists the directives of \(place)"
            } else {
                fix = "move it to \(homes.joined(separator: " or "))"
            }
        }
        // Only the name is shown: the rest of the line may be a password.
        self.problems.append(ConfigProblem(at: location, "unknown directive `\(name)` in \(place)", fix: fix))
    }

    /// `<kind name>` or `<kind>`.
    static func label(_ kind: String, _ name: String?) -> String {
        if let name { return "<\(kind) \(name)>" }
        return "<\(kind)>"
    }

    private static func example(_ kind: String) -> String {
        switch kind {
        case "host": return "<host db1>"
        case "role": return "<role writer>"
        case "check": return "<check mysql>"
        default: return "<\(kind) default>"
        }
    }

    /// Splits `name value` at the first space or tab; the value is trimmed (empty when missing).
    static func splitDirective(_ content: Substring) -> (String, String) {
        guard let space = content.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            return (String(content), "")
        }
        return (String(content[..<space]), String(self.trim(content[space...])))
    }

    /// Removes leading and trailing spaces and tabs.
    static func trim(_ text: Substring) -> Substring {
        let start = text.drop { $0 == " " || $0 == "\t" }
        var end = start.endIndex
        while end > start.startIndex {
            let before = start.index(before: end)
            guard start[before] == " " || start[before] == "\t" else { break }
            end = before
        }
        return start[..<end]
    }

    /// `directory/file`.
    static func join(_ directory: String, _ file: String) -> String {
        if directory.isEmpty { return file }
        return directory.hasSuffix("/") ? directory + file : directory + "/" + file
    }
}
