import Foundation
import Testing

@testable import MMMConfig

@Suite struct ConfigSchemaTests {
    /// docs/configuration.md, found relative to this source file.
    private static func documentation() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
    }

    @Test func everyDirectiveAndSectionIsDocumented() throws {
        let documentation = try Self.documentation()
        let directives = ConfigSchema.globalDirectives.union(ConfigSchema.sectionDirectives.values.flatMap { $0 })
        for directive in directives.sorted() {
            #expect(documentation.contains("`\(directive)`"), "\(directive) is not documented")
        }
        for section in ConfigSchema.uniqueSections.union(ConfigSchema.namedSections) {
            #expect(documentation.contains("<\(section)"), "<\(section)> is not documented")
        }
    }

    @Test func secretsAreRecognizedByName() {
        #expect(ConfigSchema.isSecret("agent_password"))
        #expect(ConfigSchema.isSecret("agent_secret"))
        #expect(!ConfigSchema.isSecret("agent_user"))
    }
}

@Suite struct ConfigBuilderCoverageTests {
    @Test func everyDirectiveTheParserAcceptsIsReadByTheBuilder() {
        let text = """
            <host db1>
                ip 10.0.0.1
                mode slave
            </host>
            <role writer>
            </role>
            <monitor>
                ip 127.0.0.1
            </monitor>
            <socket>
            </socket>
            <copy_method scp>
            </copy_method>
            """
        let (raw, _) = ConfigParser.parse(mainFile: "/x/mmm.conf", directory: "/x") { _ in .text(text, mode: 0o600) }
        var builder = ConfigBuilder(raw: raw, program: nil)
        _ = builder.buildForTesting()
        var expected = Set(ConfigSchema.globalDirectives.map { ".\($0)" })
        for (kind, names) in ConfigSchema.sectionDirectives {
            expected.formUnion(names.map { "\(kind).\($0)" })
        }
        #expect(expected.subtracting(builder.consulted).sorted() == [])
    }
}
