import Dispatch
import Glibc
import UringReactor

/// `echo-64b-1conn`, `echo-64b-50conn`: 64-byte messages echoed over
/// loopback TCP, server and client in this process. Each connection sends a
/// message and waits for all 64 bytes to come back before sending the next;
/// the rate counts round trips (messages). Set-up (listen, connect, accept) is
/// not timed; the CPU column is the whole process's (server + client) per
/// message.
///
/// `echo-64b-50conn-c-client`, `echo-64b-1conn-same-cpu`,
/// `echo-64b-50conn-same-cpu`, `echo-64b-50conn-split-cpu`: the same C
/// io_uring client (`cb_echo_client`, on a thread of its own) drives each
/// system's server, so the figures compare servers alone, SwiftNIO's too
/// (`nio`, `nio-async-channel`: Benchmarks/'s `nio-echo-server`, a child
/// process). `-same-cpu` pins server and client to one CPU (the headline
/// figures), `-split-cpu` to two. These also report the server's CPU time per
/// message (Echo+Servers.swift); the CPU column still includes the client.
///
/// - reactor: the server's connections come from a multishot accept; each
///   echoes with `receive()` (multishot receive into a provided-buffer ring)
///   and `writeAll(_:)` from that same buffer. The reactor's own client
///   (same-system variants) runs on the same reactor thread: it sends from
///   an `OwnedBuffer` and reads with `receive()`.
/// - dispatch: non-blocking sockets with a `DispatchSourceRead` each, all
///   handlers on one serial queue (one event loop, like the reactor).
/// - default-executor (1 connection only): blocking `send`/`recv` in two tasks
///   on the cooperative pool. With 50 connections it would need 100 blocked
///   tasks on a pool of one thread per core: it deadlocks, so it is absent.
/// - c-liburing: `cb_echo` (Sources/CBaselines): a C io_uring server thread
///   (multishot accept and receive, provided buffers) and the C io_uring
///   client on the calling thread.
struct Echo: Workload {
  let connections: Int
  /// The C io_uring client drives every system's server.
  let cClient: Bool
  /// Where server and client run (C client only).
  let placement: Placement
  let messageSize = 64

  init(connections: Int, cClient: Bool = false) {
    self.connections = connections
    self.cClient = cClient
    self.placement = .anywhere
  }

  /// The C client against each server, pinned as `placement` says.
  init(connections: Int, placement: Placement) {
    self.connections = connections
    self.cClient = true
    self.placement = placement
  }

  var id: String {
    let suffix =
      switch placement {
      case .anywhere: cClient ? "-c-client" : ""
      case .sameCPU: "-same-cpu"
      case .splitCPU: "-split-cpu"
      }
    return "echo-64b-\(connections)conn" + suffix
  }
  let unit = "msgs/s"
  var summary: String {
    "64-byte echo round trips over loopback TCP, \(connections) connection"
      + (connections == 1 ? "" : "s")
      + (cClient ? ", the C io_uring client driving each server" : ", server and client in-process")
      + (placement == .sameCPU ? ", both pinned to one CPU" : "")
      + (placement == .splitCPU ? ", pinned to two CPUs" : "")
  }
  var systems: [BenchSystem] {
    if cClient { return cClientSystems }
    return connections == 1
      ? [.reactor, .defaultExecutor, .dispatch, .cLiburing] : [.reactor, .dispatch, .cLiburing]
  }
  var initialOperations: Int { max(2_000, connections * 40) }
  var granularity: Int { connections }

  func footnote(for system: BenchSystem) -> String {
    let pinning =
      switch placement {
      case .anywhere: ""
      case .sameCPU: ", server and client pinned to one CPU"
      case .splitCPU: ", server and client pinned to two CPUs"
      }
    let client =
      cClient ? "; client: C io_uring (cb_echo_client) on its own thread" + pinning : ""
    return switch system {
    case .reactor:
      "server tasks on the reactor: multishot accept, `receive()` (multishot recv into a "
        + "provided-buffer ring) + `writeAll(_:)` from the received buffer"
        + (cClient ? client : "; client tasks on the same reactor thread")
    case .defaultExecutor:
      "blocking `send`/`recv` in two tasks on the cooperative pool (absent with more "
        + "connections: blocked tasks would exhaust the pool's threads)"
    case .dispatch:
      "non-blocking sockets, a `DispatchSourceRead` per socket, on one serial queue" + client
    case .cLiburing:
      "C (Sources/CBaselines/cb_echo*.c): io_uring server thread (multishot accept + recv, "
        + "provided buffers) and io_uring client thread" + pinning
    case .nio:
      "SwiftNIO `ChannelInboundHandler` echo (write on read, flush on read-complete), "
        + "`MultiThreadedEventLoopGroup(numberOfThreads: 1)`, in the child process "
        + "nio-echo-server" + client
    case .nioAsyncChannel:
      "SwiftNIO `NIOAsyncChannel`: a task per connection on the default executor, "
        + "`for try await message in inbound { try await outbound.write(message) }`, "
        + "in the child process nio-echo-server" + client
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let perConnection = max(1, operations / connections)
    let expected = perConnection * connections
    let sample: Sample
    switch system {
    case _ where cClient && system != .dispatch:
      sample = try await runAgainstCClient(
        on: system, perConnection: perConnection, reactor: reactor)
    case .reactor:
      sample = try await runOnReactor(reactor, perConnection: perConnection).get()
    case .defaultExecutor:
      sample = try await runBlocking(perConnection: perConnection).get()
    case .dispatch:
      sample = try await runOnDispatch(perConnection: perConnection).get()
    case .cLiburing:
      sample = try CLiburing.echo(connections: connections, messages: expected).sample
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      // SwiftNIO's servers are driven by the C client only (the case above).
      preconditionFailure("\(id) does not run \(system.id)")
    }
    guard sample.operations == expected else {
      throw BenchError(
        "\(id) \(system.id): expected \(expected) messages, counted \(sample.operations)")
    }
    return sample
  }

  // MARK: reactor

  private func runOnReactor(_ reactor: Reactor, perConnection: Int) async -> Result<
    Sample, BenchError
  > {
    let connections = self.connections
    return await Task(executorPreference: reactor) { () async -> Result<Sample, BenchError> in
      do {
        let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
        let buffers = try await ProvidedBufferPool.register(
          count: 256, bufferSize: 4096, on: reactor)
        let server = Task(executorPreference: reactor) {
          try await Echo.serve(listener, connections: connections, buffers: buffers)
        }
        let sample = try await Echo.reactorClients(
          to: listener.localAddress, connections: connections, perConnection: perConnection,
          buffers: buffers, on: reactor)
        try await server.value
        try await listener.close()
        return .success(sample)
      } catch {
        return .failure(BenchError("echo reactor: \(error)"))
      }
    }.value
  }

  /// Accepts `connections` connections and echoes each until its peer closes.
  static func serve(
    _ listener: SocketListener, connections: Int, buffers: ProvidedBufferPool
  ) async throws {
    let reactor = listener.reactor
    try await withThrowingDiscardingTaskGroup { group in
      var accepted = 0
      for try await connection in listener.connections(
        maximumPending: connections, buffers: buffers)
      {
        group.addTask(executorPreference: reactor) {
          try await connection.apply(SocketOptions(noDelay: true))
          while let bytes = try await connection.receive() {
            try await connection.writeAll(bytes)
          }
          try await connection.close()
        }
        accepted += 1
        if accepted == connections { break }
      }
    }
  }

  /// `connections` clients on the reactor, each doing `perConnection` round
  /// trips; times the round trips only.
  private static func reactorClients(
    to address: SocketAddress, connections: Int, perConnection: Int,
    buffers: ProvidedBufferPool, on reactor: Reactor
  ) async throws -> Sample {
    var clients: [SocketStream] = []
    for _ in 0..<connections {
      clients.append(
        try await SocketStream.connect(
          to: address, options: SocketOptions(noDelay: true), buffers: buffers, on: reactor))
    }
    let clock = ContinuousClock()
    let start = clock.now
    let messages = try await withThrowingTaskGroup(of: Int.self) { group in
      for client in clients {
        group.addTask(executorPreference: reactor) {
          var message = OwnedBuffer(Array(repeating: UInt8(ascii: "x"), count: 64))
          var echoed = 0
          for _ in 0..<perConnection {
            let sent = await client.writeAll(from: message)
            message = sent.buffer
            _ = try sent.result.get()
            var received = 0
            while received < 64 {
              guard let bytes = try await client.receive() else {
                throw BenchError("the server closed a connection early")
              }
              received += bytes.count
            }
            echoed += 1
          }
          return echoed
        }
      }
      return try await group.reduce(0, +)
    }
    let elapsed = start.duration(to: clock.now)
    for client in clients { try await client.close() }
    return Sample(operations: messages, elapsed: elapsed)
  }

  // MARK: default executor (blocking sockets in tasks)

  @concurrent
  private func runBlocking(perConnection: Int) async -> Result<Sample, BenchError> {
    guard sysconf(CInt(_SC_NPROCESSORS_ONLN)) >= 2 else {
      return .failure(BenchError("needs two cooperative-pool threads (two CPUs)"))
    }
    let pairs: [(client: CInt, server: CInt)]
    do { pairs = try EchoSockets.connectedPairs(connections) } catch { return .failure(error) }
    defer { for pair in pairs { EchoSockets.close(pair) } }
    let clock = ContinuousClock()
    let start = clock.now
    let server = Task { EchoSockets.blockingEcho(pairs[0].server, bytes: perConnection * 64) }
    let client = Task { EchoSockets.blockingClient(pairs[0].client, messages: perConnection) }
    let echoed = await client.value
    let elapsed = start.duration(to: clock.now)
    _ = await server.value
    return .success(Sample(operations: echoed, elapsed: elapsed))
  }
}
