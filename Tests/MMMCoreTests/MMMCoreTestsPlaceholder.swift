import Testing
@Suite struct MMMCoreTestsPlaceholder {}
