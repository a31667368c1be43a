/// Benchmarks (filled by the foundation issue).
@main struct MMMBenchmark { static func main() {} }
