import Glibc
import UringReactor

/// The echo workloads where the C io_uring client (`cb_echo_client`) drives
/// each system's server: `echo-64b-50conn-c-client` (threads wherever the
/// scheduler puts them), `echo-64b-*-same-cpu` (server and client pinned to
/// one CPU: the headline figures) and `echo-64b-50conn-split-cpu` (pinned to
/// two CPUs). Each run also measures the **server's** CPU time over the
/// client's run (`Sample.serverCPU`):
/// - servers in this process (reactor, c-liburing, dispatch): the CPU time of
///   every thread of the process but the client's (read on the client's
///   thread: process CPU minus its own thread's CPU);
/// - SwiftNIO (`nio`, `nio-async-channel`): the CPU time of the
///   `nio-echo-server` child process, which it reports when asked.
extension Echo {
  /// Where the server and the C client run.
  enum Placement: Sendable {
    /// Not pinned: wherever the scheduler puts them.
    case anywhere
    /// Both pinned to one CPU (the last one this process may use).
    case sameCPU
    /// The server on the first CPU, the client on the last.
    case splitCPU

    /// The CPUs (server, client), `nil` entries for no pinning.
    func cpus() throws(BenchError) -> (server: Int?, client: Int?) {
      let usable = EchoThreads.usableCPUs
      switch self {
      case .anywhere:
        return (nil, nil)
      case .sameCPU:
        guard let cpu = usable.last else { throw BenchError("no usable CPU found") }
        return (cpu, cpu)
      case .splitCPU:
        guard usable.count >= 2 else { throw BenchError("needs two usable CPUs") }
        return (usable.first!, usable.last!)
      }
    }
  }

  /// The systems of a C-client workload: SwiftNIO's only if its server was
  /// built; Dispatch only unpinned (its workers cannot be pinned).
  var cClientSystems: [BenchSystem] {
    if placement == .splitCPU && EchoThreads.usableCPUs.count < 2 { return [] }
    var systems: [BenchSystem] = [.reactor]
    if placement == .anywhere { systems.append(.dispatch) }
    systems.append(.cLiburing)
    if ChildProgram.nioEcho.path != nil { systems += [.nio, .nioAsyncChannel] }
    return systems
  }

  /// One run of the C client against `system`'s server.
  func runAgainstCClient(on system: BenchSystem, perConnection: Int, reactor: Reactor)
    async throws(BenchError) -> Sample
  {
    let cpus = try placement.cpus()
    let connections = self.connections
    let messages = perConnection * connections
    switch system {
    case .reactor:
      return try await runReactorServer(reactor, cpus: cpus, perConnection: perConnection)
    case .dispatch:
      return try await runOnDispatch(perConnection: perConnection).get()
    case .cLiburing:
      return try await EchoThreads.run { () -> Result<Sample, BenchError> in
        Result { () throws(BenchError) -> Sample in
          try EchoThreads.pin(cpus.server)
          // The server's thread inherits this thread's affinity (and name).
          EchoThreads.name("c-echo-server")
          let server = try CLiburing.EchoServer()
          defer { server.stop() }
          EchoThreads.name("echo-client")
          try EchoThreads.pin(cpus.client)
          let sample = try Echo.measuredClient(
            port: server.port, connections: connections, messages: messages,
            serverCPU: EchoThreads.otherThreadsCPU)
          guard server.error == 0 else {
            throw BenchError("C echo server: \(CLiburing.describe(errno: server.error))")
          }
          return sample
        }
      }.get()
    case .nio, .nioAsyncChannel:
      let mode = system == .nio ? "handler" : "async-channel"
      return try await EchoThreads.run { () -> Result<Sample, BenchError> in
        Result { () throws(BenchError) -> Sample in
          try EchoThreads.pin(cpus.server)
          // The child inherits this thread's affinity (every thread of it).
          let server = try ServerProcess(.nioEcho, arguments: ["--mode", mode])
          defer { server.stop() }
          try EchoThreads.pin(cpus.client)
          return try Echo.measuredClient(
            port: server.port, connections: connections, messages: messages,
            serverCPU: server.cpu)
        }
      }.get()
    case .defaultExecutor, .dispatchIO, .reactorStream, .reactorGroup, .reactorBatch,
      .reactorGroupBatch, .reactorExecute, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  /// The C client against a server on `port`, on the calling thread; the
  /// sample's `serverCPU` is `serverCPU()`'s growth over the client's run.
  static func measuredClient(
    port: UInt16, connections: Int, messages: Int,
    serverCPU: () throws(BenchError) -> Duration
  ) throws(BenchError) -> Sample {
    let before = try serverCPU()
    var sample = try CLiburing.echoClient(port: port, connections: connections, messages: messages)
      .sample
    sample.serverCPU = try serverCPU() - before
    return sample
  }

  /// The C client against an in-process server on `port`, on a thread of
  /// its own (not pinned).
  static func cClient(port: UInt16, connections: Int, messages: Int) async -> Result<
    Sample, BenchError
  > {
    await EchoThreads.run { () -> Result<Sample, BenchError> in
      Result { () throws(BenchError) -> Sample in
        try measuredClient(
          port: port, connections: connections, messages: messages,
          serverCPU: EchoThreads.otherThreadsCPU)
      }
    }
  }

  /// The reactor's server (its loop thread pinned to `cpus.server` for the
  /// run) against the C client on a thread of its own.
  private func runReactorServer(
    _ reactor: Reactor, cpus: (server: Int?, client: Int?), perConnection: Int
  ) async throws(BenchError) -> Sample {
    let affinity = try await cpus.server.asyncMap { cpu throws(BenchError) in
      try await EchoThreads.pinLoopThread(of: reactor, to: cpu)
    }
    let connections = self.connections
    let result = await Task(executorPreference: reactor) { () async -> Result<Sample, BenchError> in
      do {
        let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
        let buffers = try await ProvidedBufferPool.register(
          count: 256, bufferSize: 4096, on: reactor)
        let server = Task(executorPreference: reactor) {
          try await Echo.serve(listener, connections: connections, buffers: buffers)
        }
        let port = listener.localAddress.port ?? 0
        let sample = await EchoThreads.run { () -> Result<Sample, BenchError> in
          Result { () throws(BenchError) -> Sample in
            try EchoThreads.pin(cpus.client)
            return try Echo.measuredClient(
              port: port, connections: connections, messages: perConnection * connections,
              serverCPU: EchoThreads.otherThreadsCPU)
          }
        }
        try await server.value
        try await listener.close()
        return sample
      } catch {
        return .failure(BenchError("echo reactor: \(error)"))
      }
    }.value
    await affinity?.restore()
    return try result.get()
  }
}

extension Optional {
  fileprivate func asyncMap<U, E: Error>(_ transform: (Wrapped) async throws(E) -> U)
    async throws(E) -> U?
  {
    guard let self else { return nil }
    return try await transform(self)
  }
}
