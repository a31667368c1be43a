import Testing
@Suite struct IntegrationTestsPlaceholder {}
