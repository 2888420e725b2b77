import Synchronization
import UringReactor

/// `http-keepalive-50conn-same-cpu`, `http-keepalive-50conn-split-cpu`: HTTP/1.1
/// keep-alive requests driven by `wrk` (1 thread, 50 connections) against a
/// server in a child process that answers every request with the same small
/// response (`200 OK`, a 14-byte body). The rate counts the requests wrk
/// completed, over wrk's own run time. `-same-cpu` pins server and wrk to one
/// CPU (the headline figures), `-split-cpu` to two. Each run also reports the
/// server's CPU time per request (`Sample.serverCPU`: the child's CPU time over
/// wrk's run); the CPU column is uring-bench's own (nearly idle: it only waits).
///
/// - reactor: the `http-server` example (Examples/http-server), built next to
///   uring-bench.
/// - nio: Benchmarks/'s `nio-http-server` (NIOHTTP1 on
///   `MultiThreadedEventLoopGroup(numberOfThreads: 1)`).
///
/// `http-keepalive-50conn-two-writes-*`: the same with the reactor's server
/// writing each response in two `writeAll` calls, head then body
/// (`http-server --two-writes`); reactor only. Compare its median with the
/// one-write workload's from the same uring-bench run.
///
/// A run lasts about the runner's target time: wrk is started with a long
/// `-d` and interrupted (SIGINT: it stops at its next 100 ms tick and prints
/// its figures) once the run's time is up, the time being the requested count
/// over the rate of the previous run. Without `wrk` (or a server's executable)
/// the workload has no such system, and the report says why.
struct Http: Workload {
  let placement: Echo.Placement
  /// The reactor's server writes each response in two parts.
  let twoWrites: Bool
  let connections = 50
  /// Each system's rate in the previous run, to turn an operation count into
  /// a run length.
  private let rates = RateMemory()

  init(placement: Echo.Placement, twoWrites: Bool = false) {
    self.placement = placement
    self.twoWrites = twoWrites
  }

  var id: String {
    let suffix =
      switch placement {
      case .anywhere: ""
      case .sameCPU: "-same-cpu"
      case .splitCPU: "-split-cpu"
      }
    return "http-keepalive-\(connections)conn" + (twoWrites ? "-two-writes" : "") + suffix
  }
  let unit = "reqs/s"
  var summary: String {
    "HTTP/1.1 keep-alive requests from wrk (1 thread, \(connections) connections) to a fixed "
      + "small response" + (twoWrites ? " written in two parts (head, body)" : "")
      + (placement == .sameCPU ? ", server and wrk pinned to one CPU" : "")
      + (placement == .splitCPU ? ", pinned to two CPUs" : "")
  }

  /// The servers of this workload and their executables.
  static let servers: [(system: BenchSystem, program: ChildProgram)] = [
    (.reactor, .httpServer), (.nio, .nioHTTP),
  ]

  var systems: [BenchSystem] {
    guard Wrk.path != nil else { return [] }
    if placement == .splitCPU && EchoThreads.usableCPUs.count < 2 { return [] }
    let servers = twoWrites ? Http.servers.filter { $0.system == .reactor } : Http.servers
    return servers.filter { $0.program.path != nil }.map(\.system)
  }
  var initialOperations: Int { 5_000 }
  var granularity: Int { 1 }

  func footnote(for system: BenchSystem) -> String {
    let pinning =
      switch placement {
      case .anywhere: ""
      case .sameCPU: ", server and wrk pinned to one CPU"
      case .splitCPU: ", server and wrk pinned to two CPUs"
      }
    let client =
      "; wrk -t1 -c\(connections)" + pinning + " (cpu ns/op: uring-bench's own, which only waits)"
    return switch system {
    case .reactor:
      "the reactor's Examples/http-server (multishot accept, `receive()` from a provided-buffer "
        + "ring, `writeAll(from:)` of one shared response), a child process" + client
    case .nio:
      "SwiftNIO HTTP/1.1 (`configureHTTPServerPipeline` + a handler writing the response on "
        + "each request's end, flushing on read-complete), "
        + "`MultiThreadedEventLoopGroup(numberOfThreads: 1)`, the child process nio-http-server"
        + client
    case .defaultExecutor, .dispatch, .dispatchIO, .reactorStream, .reactorGroup, .cLiburing,
      .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    guard let program = Http.servers.first(where: { $0.system == system })?.program else {
      preconditionFailure("\(id) does not run \(system.id)")
    }
    let cpus = try placement.cpus()
    let rate = rates.rate(of: system) ?? 50_000
    let length = Duration.seconds(min(10, max(0.02, Double(operations) / rate)))
    let connections = self.connections
    let sample = try await EchoThreads.run { () -> Result<Sample, BenchError> in
      Result { () throws(BenchError) -> Sample in
        try Http.measure(
          program, arguments: twoWrites && system == .reactor ? ["--two-writes"] : [], cpus: cpus,
          connections: connections, for: length)
      }
    }.get()
    if let measured = sample.rate { rates.record(measured, of: system) }
    return sample
  }
}

extension Http {
  /// Starts `program` with `arguments` on `cpus.server`, runs wrk on
  /// `cpus.client` against it for about `length`, and returns wrk's figures
  /// with the server's CPU time over the run. On the calling (pinnable) thread.
  static func measure(
    _ program: ChildProgram, arguments: [String], cpus: (server: Int?, client: Int?),
    connections: Int, for length: Duration
  ) throws(BenchError) -> Sample {
    try EchoThreads.pin(cpus.server)
    // The child inherits this thread's affinity (every thread of it).
    let server = try ServerProcess(program, arguments: arguments)
    defer { server.stop() }
    try EchoThreads.pin(cpus.client)
    let before = try server.cpu()
    var sample = try Wrk.run(port: server.port, connections: connections, for: length)
    sample.serverCPU = try server.cpu() - before
    return sample
  }
}

extension ChildProgram {
  /// The reactor's `http-server` example, next to uring-bench.
  static let httpServer = ChildProgram(
    name: "http-server", variable: "URING_BENCH_HTTP_SERVER", relative: "http-server",
    searchCurrentDirectory: false, ancestors: 0,
    howToBuild: "build it with `swift build -c release --product http-server` (./scripts/bench.sh "
      + "does), or point URING_BENCH_HTTP_SERVER at it",
    controlledByStdin: false)

  /// SwiftNIO's HTTP/1.1 server (system `nio` of the http workloads).
  static let nioHTTP = benchmarks("nio-http-server", variable: "URING_BENCH_NIO_HTTP_SERVER")
}

/// The last measured rate of each system, in requests per second.
final class RateMemory: Sendable {
  // Relaxed: each value is a hint on its own (the next run's length); it
  // publishes no other memory.
  private let reactor = Atomic<Int>(0)
  private let nio = Atomic<Int>(0)

  func rate(of system: BenchSystem) -> Double? {
    let rate =
      switch system {
      case .reactor: reactor.load(ordering: .relaxed)
      case .nio: nio.load(ordering: .relaxed)
      default: 0
      }
    return rate > 0 ? Double(rate) : nil
  }

  func record(_ rate: Double, of system: BenchSystem) {
    let value = Int(rate.rounded())
    switch system {
    case .reactor: reactor.store(value, ordering: .relaxed)
    case .nio: nio.store(value, ordering: .relaxed)
    default: break
    }
  }
}
