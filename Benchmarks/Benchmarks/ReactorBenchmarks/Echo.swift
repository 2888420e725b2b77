import Benchmark
import BenchmarkSupport
import UringReactor

/// An echo server on the reactor and the blocking client connected to it
/// (the same client as ComparisonBenchmarks' servers).
struct ReactorEchoFixture: Sendable {
  let client: EchoClient
  let listener: SocketListener
  let serving: Task<Void, Never>

  /// Listens on 127.0.0.1 (any port), serves one connection in a task that
  /// prefers the reactor, and connects the client. `provided`: receive into
  /// the provided-buffer ring (multishot) and send from the received buffer;
  /// otherwise read into one reused `SharedBuffer` and write it back.
  static func start(provided: Bool) async throws -> ReactorEchoFixture {
    let reactor = try Shared.reactor()
    let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
    let pool =
      provided
      ? try await ProvidedBufferPool.register(count: 256, bufferSize: 4096, on: reactor) : nil
    guard let port = listener.localAddress.port else { throw BenchmarkFailure("no port") }
    let serving = Task(executorPreference: reactor) {
      do {
        let stream = try await listener.accept(buffers: pool)
        try await stream.apply(SocketOptions(noDelay: true))
        if pool != nil {
          while let bytes = try await stream.receive() { try await stream.writeAll(bytes) }
        } else {
          let buffer = SharedBuffer(capacity: 4096)
          while try await stream.read(into: buffer) > 0 { try await stream.writeAll(from: buffer) }
        }
        try await stream.close()
      } catch {
        // The client sees the connection fail and reports it.
      }
    }
    let client = try EchoClient(port: port)
    return ReactorEchoFixture(client: client, listener: listener, serving: serving)
  }

  func stop() async throws {
    client.close()
    await serving.value
    try await listener.close()
  }
}

/// 64-byte messages echoed on one open TCP connection over loopback, one in
/// flight, by a task preferring the reactor:
/// - `echo-64b-reactor`: `stream.receive()` (multishot `IORING_OP_RECV` into
///   a provided-buffer ring) and `stream.writeAll(bytes)` from that buffer;
/// - `echo-64b-reactor-buffer`: `stream.read(into:)` into one reused
///   `SharedBuffer` and `stream.writeAll(from:)`.
func registerEchoBenchmarks() {
  for (name, provided) in [("echo-64b-reactor", true), ("echo-64b-reactor-buffer", false)] {
    benchmark(
      name,
      setup: { try await ReactorEchoFixture.start(provided: provided) },
      teardown: { try await $0.stop() },
      run: { benchmark, fixture in
        let count = benchmark.scaledIterations.count
        try await Measure.region(benchmark) {
          try await fixture.client.roundTrips(count)
        }
      })
  }
}
