import Testing
@Suite struct MariaDBClientTestsPlaceholder {}
