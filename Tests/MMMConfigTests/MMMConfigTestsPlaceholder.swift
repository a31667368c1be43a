import Testing
@Suite struct MMMConfigTestsPlaceholder {}
