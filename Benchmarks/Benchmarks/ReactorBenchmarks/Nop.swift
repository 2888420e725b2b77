import Benchmark
import BenchmarkSupport
import UringReactor

/// `try await reactor.nop()` round trips (IORING_OP_NOP), from one task and
/// from 256 concurrent tasks, all preferring the reactor.
func registerNopBenchmarks() {
  Benchmark("nop-1-reactor") { benchmark in
    let reactor = try Shared.reactor()
    let count = benchmark.scaledIterations.count
    try await Measure.region(benchmark) { () async throws(IOError) in
      try await withTaskExecutorPreference(reactor) { () async throws(IOError) in
        for _ in 0..<count { try await reactor.nop() }
      }
    }
  }

  // 1M operations per iteration, so that creating the 256 tasks (a few
  // allocations each) stays below the threshold's tolerance.
  Benchmark(
    "nop-256-reactor",
    configuration: .init(
      metrics: Measure.metrics, scalingFactor: .mega, maxDuration: .seconds(4),
      maxIterations: 10,
      thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2_000])])
  ) { benchmark in
    let reactor = try Shared.reactor()
    let total = benchmark.scaledIterations.count
    let tasks = 256
    try await Measure.region(benchmark) {
      try await withTaskExecutorPreference(reactor) {
        try await withThrowingTaskGroup(of: Void.self) { group in
          for index in 0..<tasks {
            let share = total / tasks + (index < total % tasks ? 1 : 0)
            group.addTask(executorPreference: reactor) {
              for _ in 0..<share { try await reactor.nop() }
            }
          }
          try await group.waitForAll()
        }
      }
    }
  }
}
