/// Async MariaDB client over Connector/C (filled by the foundation issue).
public enum MariaDBClientModule {}
