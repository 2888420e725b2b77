import Synchronization
import UringReactor

/// `skewed-cpu-io`: one task computes in slices of 5 ms, with no suspension
/// inside a slice and a `Task.yield()` between two (it stops, at a slice's
/// end, once a shared atomic flag says the run is over), while 16 tasks do
/// small I/O round trips: 512-byte reads at pseudo-random offsets of the
/// 1 MiB page-cached file of ``FanOutIn``, one at a time. The figure is the
/// round trips' rate; each round trip is also timed alone (two clock reads
/// around it, into a buffer allocated before the run, one region per
/// task), and the run's 99th percentile goes into the report beside it.
///
/// One computing task, not two: on this 2-CPU machine two would occupy both
/// cores of every system (no executor here preempts a running job), leaving
/// the I/O tasks the gaps between slices whatever the scheduler does; with
/// one, a scheduler that keeps the I/O on the other core wins.
///
/// - reactor: every task prefers the runner's reactor: a slice blocks the one
///   loop, and the reads (`file.read(into:at:)`, IORING_OP_READ) wait for it;
/// - reactor-group: every task prefers the ``ReactorGroup`` of 2 pinned
///   reactors (``BenchGroup``); a read goes through the file opened on the
///   reactor the task runs on;
/// - default-executor: the tasks on Swift's default executor; a round trip is
///   a blocking `pread`, then a `Task.yield()` (where a ring read suspends:
///   without it an I/O task would keep its thread until all its reads are
///   done, and starve the computing task instead of competing with it).
struct SkewedCPUIO: Workload {
  let id = "skewed-cpu-io"
  let unit = "reads/s"
  let summary = "16 tasks' 512-byte cached reads beside one computing in 5 ms slices"
  let systems: [BenchSystem] = [.reactor, .reactorGroup, .defaultExecutor]
  let initialOperations = 256
  let granularity = readers
  static let readers = 16
  static let computers = 1
  static let slice = Duration.milliseconds(5)

  func footnote(for system: BenchSystem) -> String {
    let tasks = "\(Self.readers) tasks reading 512 bytes at a time and 1 computing in 5 ms slices"
    return switch system {
    case .reactor:
      "\(tasks), all preferring the one reactor; each read `file.read(into:at:)` (IORING_OP_READ)"
    case .reactorGroup:
      "\(tasks), all preferring a ReactorGroup of 2 pinned reactors; each read "
        + "`file.read(into:at:)` on the reactor the task runs on"
    case .defaultExecutor:
      "\(tasks), on the default executor; each read a blocking `pread`, then `Task.yield()`"
    case .reactorStream, .dispatch, .dispatchIO, .cLiburing, .nio, .nioAsyncChannel, .reactorBatch,
      .reactorGroupBatch, .reactorExecute, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let fixture = try FanOutFixture.shared.get()
    let perReader = max(1, operations / Self.readers)
    let (executor, work) = try fixture.placement(of: system, reactor: reactor)
    let latencies = Latencies(count: Self.readers * perReader)
    defer { latencies.deallocate() }
    let (reads, elapsed) = await Task(executorPreference: executor) { [executor] in
      await Self.skewed(work, preferring: executor, perReader: perReader, latencies)
    }.value
    let expected = Self.readers * perReader
    guard reads == expected else {
      throw BenchError("\(id) \(system.id): \(reads) full reads, expected \(expected)")
    }
    return Sample(operations: reads, elapsed: elapsed, p99Latency: latencies.percentile(99))
  }

  /// Starts the computing task, then times the readers until the last is
  /// done; stops the computing task and waits for it before returning (so
  /// its load does not leak into the next run). Returns the full reads.
  private static func skewed(
    _ work: ChildWork, preferring executor: (any TaskExecutor)?, perReader: Int,
    _ latencies: Latencies
  ) async -> (Int, Duration) {
    let stop = StopFlag()
    return await withTaskGroup(of: Void.self) { computing in
      for index in 0..<computers {
        computing.addTask(executorPreference: executor) {
          var value = CPUWork.seed(index)
          repeat {
            value = CPUWork.spin(for: slice, from: value)
            await Task.yield()
          } while !stop.isSet
        }
      }
      let clock = ContinuousClock()
      let start = clock.now
      let reads = await withTaskGroup(of: Int.self) { reading in
        for reader in 0..<readers {
          reading.addTask(executorPreference: executor) {
            await Self.read(work, reader, perReader, latencies, yielding: executor == nil)
          }
        }
        var total = 0
        for await done in reading { total += done }
        return total
      }
      let elapsed = start.duration(to: clock.now)
      stop.set()
      await computing.waitForAll()
      return (reads, elapsed)
    }
  }

  /// One reader: `perReader` round trips, each timed into its region of
  /// `latencies`; returns the full reads (stops at the first short one).
  private static func read(
    _ work: ChildWork, _ reader: Int, _ perReader: Int, _ latencies: Latencies, yielding: Bool
  ) async -> Int {
    let clock = ContinuousClock()
    for step in 0..<perReader {
      let before = clock.now
      let count = await work.run(step, reader)
      if yielding { await Task.yield() }
      latencies.record(before.duration(to: clock.now), at: reader * perReader + step)
      guard count == FanOutIn.readSize else { return step }
    }
    return perReader
  }
}

/// Set once, read by the computing task between slices.
private final class StopFlag: Sendable {
  private let flag = Atomic(false)
  var isSet: Bool { flag.load(ordering: .relaxed) }
  func set() { flag.store(true, ordering: .relaxed) }
}

/// Round-trip latencies in nanoseconds, one slot per round trip, allocated
/// before the run (no allocation while timing).
@safe
private struct Latencies: @unchecked Sendable {
  // @safe: its unsafe storage is owned here and freed once; see the SAFETY notes on its fields.
  // SAFETY: each reader writes only its own slots; they are read after the
  // task group that wrote them has finished, which orders the writes first.
  private let slots: UnsafeMutableBufferPointer<Int64>

  init(count: Int) {
    unsafe slots = .allocate(capacity: count)
    unsafe slots.initialize(repeating: 0)
  }

  func record(_ latency: Duration, at index: Int) {
    unsafe slots[index] = Int64(latency.seconds * 1e9)
  }

  /// The `percent`-th percentile (nearest rank); sorts the slots.
  func percentile(_ percent: Int) -> Duration {
    var slots = unsafe slots
    unsafe slots.sort()
    let rank = max(1, (slots.count * percent + 99) / 100)
    return unsafe .nanoseconds(slots[rank - 1])
  }

  func deallocate() { unsafe slots.deallocate() }
}

/// The table's section for `skewed-cpu-io`: each system's read rate and
/// median p99 latency, with ratios to the default executor's.
struct SkewedComparison {
  let measurements: [Measurement]

  func text() -> String {
    let id = SkewedCPUIO().id
    guard measurements.contains(where: { $0.workload == id }) else { return "" }
    var out = "\n\(id): reads beside a task computing in 5 ms slices (medians over the runs; "
    out += "p99 us = a run's\n99th percentile of one read's latency; rate ratio: higher is "
    out += "better, p99 ratio: lower):\n"
    let table = ServerTable(
      columns: [
        Column("  workload / system", 30, rightAligned: false), Column("reads/s", 10),
        Column("p99 us", 12), Column("rate vs default", 17), Column("p99 vs default", 16),
      ],
      measurements: measurements, time: \.p99Latency)
    out += table.header
    out += table.section(id) { figures, median in
      let reference = median(.defaultExecutor)
      return [
        ServerTable.ratio(figures.rate, reference?.rate),
        ServerTable.ratio(figures.time, reference?.time),
      ]
    }
    return out
  }
}
