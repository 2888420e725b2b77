import Glibc
import UringReactor

/// `http-static-64k`: `wrk` (1 thread, 50 keep-alive connections) fetching
/// one 64 KiB file from a static-file server in a child process, unpinned.
/// The rate counts the requests wrk completed, over wrk's own run time; each
/// run also reports the server's CPU time per request.
///
/// - reactor: the `static-server` example (Examples/static-server) on a
///   group of 2 reactors: `openat2` + `statx` per request, the head with
///   `writeAll(copying:)`, the body with `send(file:range:)` (splice through
///   a pooled pipe), `close`.
/// - nio: Benchmarks/'s `nio-static-server` (NIOHTTP1, `NIOFileHandle` +
///   `FileRegion`, i.e. `sendfile(2)`, on `MultiThreadedEventLoopGroup(numberOfThreads: 2)`).
///
/// Both serve a directory this process writes (`index.html`: 64 KiB), so
/// wrk's `/` is the file. Without `wrk` (or a server's executable) the
/// workload has no such system, and the report says why.
struct HttpStatic: Workload {
  let connections = 50
  let fileSize = 64 * 1024
  private let rates = RateMemory()

  var id: String { "http-static-64k" }
  let unit = "reqs/s"
  var summary: String {
    "HTTP/1.1 keep-alive GETs of a 64 KiB file from wrk (1 thread, \(connections) connections) "
      + "to a static-file server with 2 event loops"
  }

  /// The servers of this workload and their executables.
  static let servers: [(system: BenchSystem, program: ChildProgram)] = [
    (.reactor, .staticServer), (.nio, .nioStatic),
  ]

  var systems: [BenchSystem] {
    guard Wrk.path != nil else { return [] }
    return HttpStatic.servers.filter { $0.program.path != nil }.map(\.system)
  }
  var initialOperations: Int { 2_000 }
  var granularity: Int { 1 }

  func footnote(for system: BenchSystem) -> String {
    let client =
      "; wrk -t1 -c\(connections), unpinned (cpu ns/op: uring-bench's own, which only waits)"
    return switch system {
    case .reactor:
      "the reactor's Examples/static-server --reactors 2 (GroupListener; per request openat2 "
        + "RESOLVE_BENEATH, statx, the head, `send(file:range:)` splicing file -> pipe -> socket, "
        + "close), a child process" + client
    case .nio:
      "SwiftNIO HTTP/1.1 (`configureHTTPServerPipeline`, per request `NIOFileHandle` open + "
        + "`FileRegion` (sendfile) + close, flushing on read-complete), "
        + "`MultiThreadedEventLoopGroup(numberOfThreads: 2)`, the child process nio-static-server"
        + client
    default:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    guard let program = HttpStatic.servers.first(where: { $0.system == system })?.program else {
      preconditionFailure("\(id) does not run \(system.id)")
    }
    let directory = try Self.site(fileSize: fileSize)
    let arguments =
      system == .reactor
      ? [directory, "127.0.0.1:0", "--reactors", "2"] : ["--root", directory, "--threads", "2"]
    let rate = rates.rate(of: system) ?? 10_000
    let length = Duration.seconds(min(10, max(0.05, Double(operations) / rate)))
    let connections = self.connections
    let sample = try await EchoThreads.run { () -> Result<Sample, BenchError> in
      Result { () throws(BenchError) -> Sample in
        try Http.measure(
          program, arguments: arguments, cpus: (nil, nil), connections: connections, for: length)
      }
    }.get()
    if let measured = sample.rate { rates.record(measured, of: system) }
    return sample
  }

  /// The served directory (made once per process): `index.html` of
  /// `fileSize` bytes.
  static func site(fileSize: Int) throws(BenchError) -> String {
    let directory = "/tmp/uring-bench-static-\(getpid())"
    let path = directory + "/index.html"
    var status = stat()
    if stat(path, &status) == 0, Int(status.st_size) == fileSize { return directory }
    mkdir(directory, 0o700)
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw BenchError("cannot create \(path): errno \(errno)") }
    defer { close(fd) }
    let bytes = (0..<fileSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == fileSize else {
      throw BenchError("cannot write \(path): errno \(errno)")
    }
    return directory
  }
}

extension ChildProgram {
  /// The reactor's `static-server` example, next to uring-bench.
  static let staticServer = ChildProgram(
    name: "static-server", variable: "URING_BENCH_STATIC_SERVER", relative: "static-server",
    searchCurrentDirectory: false, ancestors: 0,
    howToBuild: "build it with `swift build -c release --product static-server`, or point "
      + "URING_BENCH_STATIC_SERVER at it",
    controlledByStdin: false)

  /// SwiftNIO's static-file server (system `nio` of `http-static-64k`).
  static let nioStatic = benchmarks("nio-static-server", variable: "URING_BENCH_NIO_STATIC_SERVER")
}
