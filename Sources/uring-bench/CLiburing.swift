import CBaselines
import Glibc

/// The C baselines of `Sources/CBaselines` (plain C over liburing, no Swift
/// runtime), as uring-bench's system `c-liburing`.
///
/// Each call sets up its ring (and memory, connections) untimed, runs its loop
/// on the calling thread, and reports the loop's own wall time; the call
/// blocks that thread (a cooperative-pool thread in `run(on:)`) meanwhile.
/// A run that fails or does fewer operations than asked throws, so it never
/// becomes a figure.
enum CLiburing {
  /// What one C loop did.
  struct Run: Sendable {
    var operations: Int
    var elapsed: Duration

    /// Operations over the loop's time.
    var sample: Sample { Sample(operations: operations, elapsed: elapsed) }
  }

  /// `operations` nops, `batch` per `io_uring_enter` (`cb_nop`).
  static func nop(batch: Int, operations: Int) throws(BenchError) -> Run {
    try check(
      cb_nop(UInt32(clamping: batch), UInt64(operations)), expected: operations,
      "nop batch \(batch)")
  }

  /// `operations` reads of `blockSize` bytes at random aligned offsets below
  /// `fileSize`, `queueDepth` in flight (`cb_random_reads`). `fd` stays the
  /// caller's: it must outlive the call.
  static func randomReads(
    fd: Int32, fileSize: Int, blockSize: Int = 4096, queueDepth: Int, operations: Int,
    seed: UInt64 = 1
  ) throws(BenchError) -> Run {
    try check(
      cb_random_reads(
        fd, UInt64(fileSize), UInt32(clamping: blockSize), UInt32(clamping: queueDepth),
        UInt64(operations), seed),
      expected: operations, "random \(blockSize)-byte reads at QD \(queueDepth)")
  }

  /// `operations` sequential reads of `chunkSize` bytes from offset 0, wrapping
  /// at the end of the file, `queueDepth` in flight (`cb_sequential_reads`).
  static func sequentialReads(
    fd: Int32, fileSize: Int, chunkSize: Int = 1 << 20, queueDepth: Int = 1, operations: Int
  ) throws(BenchError) -> Run {
    try check(
      cb_sequential_reads(
        fd, UInt64(fileSize), UInt32(clamping: chunkSize), UInt32(clamping: queueDepth),
        UInt64(operations)),
      expected: operations, "sequential \(chunkSize)-byte reads at QD \(queueDepth)")
  }

  /// The C echo client against the C echo server, both io_uring
  /// (`cb_echo`): `messages` round trips of `messageSize` bytes over
  /// `connections` connections (rounded up to a multiple of `connections`).
  static func echo(connections: Int, messageSize: Int = 64, messages: Int) throws(BenchError)
    -> Run
  {
    let perConnection = (messages + connections - 1) / max(1, connections)
    return try check(
      cb_echo(UInt32(clamping: connections), UInt32(clamping: messageSize), UInt64(messages)),
      expected: perConnection * connections, "echo over \(connections) connections")
  }

  /// The C echo client alone, against any echo server on 127.0.0.1:`port`
  /// (`cb_echo_client`): drives the reactor's or NIO's server with the same
  /// client as the C server.
  static func echoClient(port: UInt16, connections: Int, messageSize: Int = 64, messages: Int)
    throws(BenchError) -> Run
  {
    let perConnection = (messages + connections - 1) / max(1, connections)
    return try check(
      cb_echo_client(
        port, UInt32(clamping: connections), UInt32(clamping: messageSize), UInt64(messages)),
      expected: perConnection * connections, "echo client over \(connections) connections")
  }

  /// The C io_uring echo server on its own thread (`cb_echo_server_*`), for
  /// pairing with another client. `stop()` must be called once.
  @safe
  final class EchoServer: @unchecked Sendable {
    // @safe: its unsafe storage is owned here and freed once; see the SAFETY notes on its fields.
    // SAFETY (@unchecked): the pointer is only read by `port`/`error` (the C
    // side makes those reads thread-safe) and freed once by `stop()`.
    private let server: OpaquePointer

    /// Listens on 127.0.0.1:`port` (0: any free port).
    init(port: UInt16 = 0, bufferCount: Int = 256, bufferSize: Int = 4096) throws(BenchError) {
      var error: Int32 = 0
      guard
        let server = unsafe cb_echo_server_start(
          port, UInt32(clamping: bufferCount), UInt32(clamping: bufferSize), &error)
      else {
        throw BenchError("C echo server did not start: \(CLiburing.describe(errno: error))")
      }
      unsafe self.server = unsafe server
    }

    var port: UInt16 { unsafe cb_echo_server_port(server) }
    /// Bytes echoed so far.
    var bytes: Int { unsafe Int(cb_echo_server_bytes(server)) }
    /// The first errno the server hit, or 0.
    var error: Int32 { unsafe cb_echo_server_error(server) }

    /// Stops the server thread, closes its sockets, frees it.
    func stop() { unsafe cb_echo_server_stop(server) }
  }

  private static func check(_ result: cb_result, expected: Int, _ what: String)
    throws(BenchError) -> Run
  {
    guard result.error == 0 else {
      throw BenchError(
        "c-liburing \(what) failed after \(result.operations) operations: "
          + describe(errno: result.error))
    }
    guard result.operations == UInt64(expected) else {
      throw BenchError(
        "c-liburing \(what): expected \(expected) operations, counted \(result.operations)")
    }
    return Run(
      operations: Int(result.operations), elapsed: .nanoseconds(Int64(result.nanoseconds)))
  }

  static func describe(errno code: Int32) -> String {
    guard let text = unsafe strerror(code) else { return "errno \(code)" }
    return unsafe "\(String(cString: text)) (errno \(code))"
  }
}
