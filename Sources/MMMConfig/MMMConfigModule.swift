/// Typed, validated MMM configuration (issue 3 fills this module).
public enum MMMConfigModule {}
