import UringReactor

/// One system a workload is run on.
enum BenchSystem: String, CaseIterable, Sendable {
  /// UringReactor: tasks and actors running on the reactor's loop thread.
  case reactor
  /// UringReactor's read stream at offsets (`File.reads(at:size:depth:)`):
  /// one task keeping `depth` reads in flight. Only in the random file-read
  /// workloads, whose `systems` list it.
  case reactorStream = "reactor-stream"
  /// UringReactor on both cores: a ``ReactorGroup`` of 2 reactors pinned to
  /// 2 CPUs (``BenchGroup``), the work spread over them. Only in the
  /// workloads whose `systems` list it (the random file reads, the fan-outs,
  /// `skewed-cpu-io`).
  case reactorGroup = "reactor-group"
  /// UringReactor's batch reads (`File.read(batch:)`): one task on one
  /// reactor, all its reads in flight as one batch, one suspension per
  /// batch. Only in the random file-read workloads.
  case reactorBatch = "reactor-batch"
  /// `reactor-batch` on both cores: one batching task on each reactor of the
  /// ``ReactorGroup`` of 2 (``BenchGroup``), each with half the reads in
  /// flight. Only in the random file-read workloads.
  case reactorGroupBatch = "reactor-group-batch"
  /// Closure jobs on the reactor's loop thread (`Reactor.execute(_:)`), the
  /// reactor's counterpart of `DispatchQueue.async`. Only in
  /// `enqueue-cross-thread`.
  case reactorExecute = "reactor-execute"
  /// Swift's default (global, cooperative) executor and default actors.
  case defaultExecutor = "default-executor"
  /// libdispatch queues.
  case dispatch
  /// libdispatch's `DispatchIO` random-access channel:
  /// `channel.read(offset:length:queue:)` per read, each lane awaiting its
  /// read. Only in the file-read workloads (the `file-*` ones), whose
  /// `systems` list it.
  case dispatchIO = "dispatch-io"
  /// Plain C over liburing (Sources/CBaselines), no Swift runtime: the limit
  /// of the machine. Only in the workloads whose `systems` list it.
  case cLiburing = "c-liburing"
  /// `fio` (Debian's package) with `ioengine=io_uring`, as a child process:
  /// the external reference of the O_DIRECT file reads (`file-direct-*`),
  /// when `fio` is on `$PATH`; its CPU time is its own report's.
  case fio
  /// UringReactor's registered buffers through a registered file
  /// (`RegisteredFile.readFixed(into:at:)`: `IORING_OP_READ_FIXED` with
  /// `IOSQE_FIXED_FILE`), one task per read in flight. Only in the O_DIRECT
  /// random reads (`file-direct-random-*`).
  case reactorFixed = "reactor-fixed"
  /// SwiftNIO's `NIOFileSystem` (Benchmarks/'s `nio-filesystem-reader`, a
  /// child process), `readChunk(fromAbsoluteOffset:length:)` per read. Only
  /// in the page-cached random file reads, when built (NIOFileSystem cannot
  /// do O_DIRECT reads: its buffers are not aligned).
  case nioFileSystem = "nio-filesystem"
  /// SwiftNIO's handler echo server (Benchmarks/'s `nio-echo-server`, a child
  /// process). Only in the echo workloads driven by the C client, and in the
  /// http workloads (Benchmarks/'s `nio-http-server`).
  case nio
  /// SwiftNIO's `NIOAsyncChannel` echo server, as `nio`.
  case nioAsyncChannel = "nio-async-channel"

  var id: String { rawValue }
}

/// What one timed run did: how many operations, in how long.
struct Sample: Sendable {
  var operations: Int
  var elapsed: Duration
  /// The server's CPU time over the run, for workloads that tell it apart.
  var serverCPU: Duration? = nil
  /// The 99th percentile of one operation's latency in the run, for
  /// workloads that time each operation.
  var p99Latency: Duration? = nil
  /// The CPU time of the run when it was not spent in this process (a child
  /// program's own figure, e.g. fio's usr + sys); `nil`: the process CPU
  /// time the runner measures around the run.
  var cpu: Duration? = nil

  var seconds: Double { elapsed.seconds }
  /// Operations per second; `nil` when the run did nothing measurable.
  var rate: Double? {
    guard operations > 0, seconds > 0 else { return nil }
    return Double(operations) / seconds
  }
}

/// A run that did not do what it claims (a count off, an I/O error): its
/// figure would be a lie, so it produces none.
struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// A benchmark workload, run on every ``BenchSystem``.
///
/// `run` performs (about) `operations` operations and reports how many it did
/// and how long they took. It must check that every operation really happened
/// (counts equal what is expected) and throw ``BenchError`` otherwise.
protocol Workload: Sendable {
  /// Kebab-case id, used by `--workload` and in reports.
  var id: String { get }
  /// The systems this workload runs on, in report order (default:
  /// ``BenchSystem/swiftSystems``); `run(on:)` is called with no other.
  var systems: [BenchSystem] { get }
  /// Unit of the rate, e.g. `hops/s`.
  var unit: String { get }
  /// One line for `--help`.
  var summary: String { get }
  /// What each system does in this workload, for the table's footnotes.
  func footnote(for system: BenchSystem) -> String
  /// Operation count of the first calibration run.
  var initialOperations: Int { get }
  /// Operation counts are rounded to a multiple of this.
  var granularity: Int { get }
  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
}

extension BenchSystem {
  /// The Swift systems: what a workload runs on unless it lists others.
  static let swiftSystems: [BenchSystem] = [.reactor, .defaultExecutor, .dispatch]
}

extension Workload {
  var systems: [BenchSystem] { BenchSystem.swiftSystems }
}

/// The workloads uring-bench knows.
enum Catalog {
  /// Every workload, in report order; `quick` (`--quick`): the file-read
  /// workloads read a smaller file.
  static func all(quick: Bool) -> [any Workload] {
    [
      ActorHop(reactorTaskPreference: true),
      ActorHop(reactorTaskPreference: false),
      NopRoundTrip(concurrency: 1),
      NopRoundTrip(concurrency: 256),
      CrossThreadEnqueue(),
      SleepTimers(),
      FanOutIn(child: .read),
      FanOutIn(child: .compute),
      SkewedCPUIO(),
      Echo(connections: 1),
      Echo(connections: 50),
      Echo(connections: 50, cClient: true),
      Echo(connections: 1, placement: .sameCPU),
      Echo(connections: 50, placement: .sameCPU),
      Echo(connections: 50, placement: .splitCPU),
      Http(placement: .sameCPU),
      Http(placement: .splitCPU),
      Http(placement: .sameCPU, twoWrites: true),
      Http(placement: .splitCPU, twoWrites: true),
      HttpStatic(),
      FileReads(pattern: .random(queueDepth: 1), quick: quick),
      FileReads(pattern: .random(queueDepth: 32), quick: quick),
      FileReads(pattern: .random(queueDepth: 128), quick: quick),
      FileReads(pattern: .sequential, quick: quick),
      FileReads(pattern: .random(queueDepth: 1), quick: quick, direct: true),
      FileReads(pattern: .random(queueDepth: 32), quick: quick, direct: true),
      FileReads(pattern: .random(queueDepth: 128), quick: quick, direct: true),
      FileReads(pattern: .sequential, quick: quick, direct: true),
      SmallFiles(quick: quick),
    ]
  }

  static var ids: [String] { all(quick: false).map(\.id) }

  /// The workload `id` of ``all(quick:)``.
  static func workload(_ id: String, quick: Bool = false) -> (any Workload)? {
    all(quick: quick).first { $0.id == id }
  }
}

extension Duration {
  var seconds: Double {
    let parts = components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
  }
}
