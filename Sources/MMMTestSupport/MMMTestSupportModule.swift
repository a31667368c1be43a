import MariaDBClient
/// Test support: the real-server bench driver.
public enum MMMTestSupportModule {}
