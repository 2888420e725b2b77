import Benchmark
import CSyscallCounter
import Glibc

extension BenchmarkMetric {
  /// Syscalls made by every thread of the process during the measured region
  /// (perf tracepoint `raw_syscalls:sys_enter`), per operation when scaled.
  /// Missing when perf tracepoints are not available (not root, no tracefs).
  public static var processSyscalls: BenchmarkMetric {
    .custom("Syscalls (all threads)", polarity: .prefersSmaller, useScalingFactor: true)
  }

  /// CPU time of every thread of the process during the measured region, in
  /// nanoseconds (`CLOCK_PROCESS_CPUTIME_ID`; the built-in `cpuTotal` has a
  /// 10 ms resolution on Linux), per operation when scaled.
  public static var processCPUTime: BenchmarkMetric {
    .custom("CPU time, all threads (ns)", polarity: .prefersSmaller, useScalingFactor: true)
  }
}

/// The measured region of one benchmark iteration.
public enum Measure {
  /// What every benchmark here reports: wall time, CPU time (all threads),
  /// allocations, throughput and syscalls.
  public static let metrics: [BenchmarkMetric] = [
    .wallClock, .processCPUTime, .mallocCountTotal, .throughput, .processSyscalls,
  ]

  /// Runs `body` as the measured region: the syscall counters are opened
  /// before it and read after it, outside the malloc and time window (opening
  /// them allocates and makes syscalls of its own).
  public static func region<E: Error>(
    _ benchmark: Benchmark, _ body: () async throws(E) -> Void
  ) async throws(E) {
    let counting = syscall_counter_open() >= 0
    defer { syscall_counter_close() }
    benchmark.startMeasurement()
    let cpuBefore = processCPUNanoseconds()
    let before = counting ? syscall_counter_read() : 0
    do {
      try await body()
    } catch {
      benchmark.stopMeasurement()
      throw error
    }
    let after = counting ? syscall_counter_read() : 0
    let cpuAfter = processCPUNanoseconds()
    benchmark.stopMeasurement()
    benchmark.measurement(.processCPUTime, cpuAfter - cpuBefore)
    if counting { benchmark.measurement(.processSyscalls, Int(after - before)) }
  }

  private static func processCPUNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
  }
}

/// A failure that makes a benchmark report an error instead of a figure (an
/// operation failed, an echo came back wrong).
public struct BenchmarkFailure: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
