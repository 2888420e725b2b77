import Glibc

/// The figures of one (workload, system) pair.
struct Measurement: Sendable {
  let workload: String
  let unit: String
  let system: BenchSystem
  /// Rates of the timed runs, in run order.
  var rates: [Double] = []
  /// Process CPU time per operation of the timed runs, in nanoseconds (all
  /// threads: the loop, the pool, Dispatch's workers).
  var cpuNanosecondsPerOperation: [Double] = []
  /// The server's CPU time per operation, in nanoseconds, for workloads that
  /// measure it apart (the echo servers driven by the C client).
  var serverCPUNanosecondsPerOperation: [Double] = []
  /// The 99th percentile of one operation's latency in each timed run, in
  /// nanoseconds, for workloads that time each operation (`skewed-cpu-io`).
  var p99LatencyNanoseconds: [Double] = []
  /// Operations per timed run, after calibration.
  var operationsPerRun = 0
  /// Why this pair has no figure, if it failed.
  var failure: String?

  var summary: Summary? {
    failure == nil ? Summary(rates) : nil
  }

  var cpu: Summary? {
    failure == nil ? Summary(cpuNanosecondsPerOperation) : nil
  }

  var serverCPU: Summary? {
    failure == nil ? Summary(serverCPUNanosecondsPerOperation) : nil
  }

  var p99Latency: Summary? {
    failure == nil ? Summary(p99LatencyNanoseconds) : nil
  }
}

/// Median, min and max of a set of figures (rates, times).
struct Summary: Sendable {
  let median: Double
  let min: Double
  let max: Double
  let runs: Int

  init?(_ values: [Double]) {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    min = sorted.first!
    max = sorted.last!
    runs = sorted.count
  }
}

/// CPU clocks, read as durations.
enum CPUTime {
  /// The time of CPU clock `clock` (`CLOCK_PROCESS_CPUTIME_ID`,
  /// `CLOCK_THREAD_CPUTIME_ID`, `clock_getcpuclockid`'s), or `nil` if
  /// `clock_gettime` fails (`errno` says why).
  static func read(_ clock: clockid_t) -> Duration? {
    var now = timespec()
    guard unsafe clock_gettime(clock, &now) == 0 else { return nil }
    return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
  }

  /// CPU time consumed by the whole process (every thread).
  static func process() -> Duration {
    read(CLOCK_PROCESS_CPUTIME_ID) ?? .zero
  }
}
