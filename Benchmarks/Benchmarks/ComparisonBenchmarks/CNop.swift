import Benchmark
import BenchmarkSupport
import CBaselines

/// `cb_nop`: IORING_OP_NOPs from C, 1 or 256 per io_uring_enter. 1M per
/// iteration, so that the ring's set-up in each call is noise.
func registerCNopBenchmarks() {
  for batch in [1, 256] {
    Benchmark(
      "nop-\(batch)-c",
      configuration: .init(
        metrics: Measure.metrics, scalingFactor: .mega, maxDuration: .seconds(4),
        maxIterations: 10)
    ) { benchmark in
      let count = UInt64(benchmark.scaledIterations.count)
      try await Measure.region(benchmark) {
        let result = cb_nop(UInt32(batch), count)
        guard result.error == 0, result.operations >= count else {
          throw BenchmarkFailure("cb_nop: errno \(result.error), \(result.operations) done")
        }
      }
    }
  }
}
