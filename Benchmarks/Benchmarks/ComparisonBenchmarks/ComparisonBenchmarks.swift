// The workloads of ReactorBenchmarks on SwiftNIO and in plain C over
// liburing (Sources/CBaselines), with the same metrics, for the tables in
// Docs/Performance.md. No thresholds: these allocations are not this
// package's to keep.
import Benchmark
import BenchmarkSupport

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: Measure.metrics,
    scalingFactor: .kilo,
    maxDuration: .seconds(2),
    maxIterations: 200
  )
  registerCNopBenchmarks()
  registerFileReadBenchmarks()
  registerEchoBenchmarks()
}
