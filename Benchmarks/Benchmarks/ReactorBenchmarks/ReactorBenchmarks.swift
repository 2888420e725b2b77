// The reactor alone: allocations, CPU time, syscalls and wall time per
// operation, for `nop` round trips, file reads into a reused buffer and
// (when the socket API is in) echo on an open connection. The allocation
// counts are checked against Thresholds/ in CI: a change that adds an
// allocation per operation fails it. See Docs/Performance.md.
import Benchmark
import BenchmarkSupport
import UringReactor

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: Measure.metrics,
    scalingFactor: .kilo,
    maxDuration: .seconds(2),
    maxIterations: 200,
    // Per iteration of 1000 operations: one allocation per operation more
    // (+1000) fails the check; a few per iteration (set-up noise) do not.
    thresholds: [.mallocCountTotal: .init(absolute: [.p90: 100])]
  )
  registerNopBenchmarks()
  registerFileReadBenchmarks()
  registerEchoBenchmarks()
}

/// The reactor every benchmark of this process shares.
enum Shared {
  private static let created = Result { () throws -> Reactor in
    var options = ReactorOptions()
    options.name = "benchmarks"
    return try Reactor(options: options)
  }

  /// The reactor, or why io_uring is unavailable (`UringUnavailableError`).
  static func reactor() throws -> Reactor {
    try created.get()
  }
}
