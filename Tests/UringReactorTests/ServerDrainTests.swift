import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// `serve(drain:)`: once a drain begins, no new connection is handed out,
/// idle keep-alive connections end at once, busy handlers finish, and those
/// still running at the deadline are cancelled.
@Suite(.requiresUring, .sharesProcess)
struct ServerDrainTests {
  /// How a handler ended.
  enum Ending: Sendable, Hashable {
    case endOfStream  // receive() returned nil: the drain ended it between requests
    case cancelled  // still running at the deadline
  }

  /// A one-shot signal a task can wait for.
  final class Signal: Sendable {
    let stream: AsyncStream<Void>
    let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
    func fire() { continuation.yield() }
    func wait() async {
      var iterator = stream.makeAsyncIterator()
      await iterator.next()
    }
  }

  /// The handler of these tests: each request is one byte. `i` (idle) is
  /// answered at once; `a` (active) is answered once `release` fires; `s`
  /// (slow) never is: its handler sleeps until cancelled; `n` (new) marks a
  /// connection made after the drain began.
  struct Server: Sendable {
    let activeStarted = Signal()
    let slowStarted = Signal()
    let release = Signal()
    let endings = Locked<[UInt8: Ending]>([:])
    let served = Locked<[UInt8]>([])

    func handle(_ connection: SocketStream) async {
      var kind: UInt8 = 0
      while let bytes = try? await connection.receive() {
        kind = bytes.withUnsafeBytes { $0[0] }
        served.withLock { $0.append(kind) }
        switch kind {
        case UInt8(ascii: "a"):
          activeStarted.fire()
          await release.wait()
        case UInt8(ascii: "s"):
          slowStarted.fire()
          do {
            try await Task.sleep(for: .seconds(3600))
          } catch {
            endings.withLock { $0[kind] = .cancelled }
            return
          }
        default:
          break
        }
        guard (try? await connection.writeAll(copying: Array("ok".utf8))) != nil else { return }
      }
      endings.withLock { $0[kind] = .endOfStream }
    }

    /// Listens on a loopback port of `reactor` and serves it with `drain`
    /// in a new task.
    func listen(drain: ServerDrain, on reactor: Reactor) async throws -> (
      SocketListener, Task<Void, any Error>
    ) {
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      return (listener, Task { try await listener.serve(drain: drain) { await self.handle($0) } })
    }
  }

  /// A client that made one request (`i`) and got its answer: its
  /// connection's handler now waits, idle, for the next request.
  static func idleClient(of address: SocketAddress, on reactor: Reactor) async throws
    -> SocketStream
  {
    let client = try await SocketStream.connect(to: address, on: reactor)
    try await client.writeAll(copying: Array("i".utf8))
    #expect(try await client.receive(exactly: 2) == Array("ok".utf8))
    return client
  }

  @Test func drainEndsIdleAtOnceLetsActiveFinishAndCancelsSlowAtTheDeadline() async throws {
    try await withReactor { reactor in
      let (drain, server) = (ServerDrain(), Server())
      let (listener, serving) = try await server.listen(drain: drain, on: reactor)
      let address = listener.localAddress

      let idle = try await Self.idleClient(of: address, on: reactor)
      let active = try await SocketStream.connect(to: address, on: reactor)
      try await active.writeAll(copying: Array("a".utf8))
      await server.activeStarted.wait()
      let slow = try await SocketStream.connect(to: address, on: reactor)
      try await slow.writeAll(copying: Array("s".utf8))
      await server.slowStarted.wait()

      #expect(!drain.isDraining)
      drain.begin(gracePeriod: .seconds(3))
      #expect(drain.isDraining)

      // The idle keep-alive connection ends now, while the active handler
      // is still held: it did not wait for the others or the deadline.
      #expect(try await idle.receiveAll().isEmpty)
      #expect(server.endings.withLock { $0[UInt8(ascii: "i")] } == .endOfStream)

      // A connection made now is never handed to the handler (refused, or
      // reset or closed without a reply).
      if let late = try? await SocketStream.connect(to: address, on: reactor) {
        _ = try? await late.writeAll(copying: Array("n".utf8))
        #expect(((try? await late.receiveAll()) ?? []).isEmpty)
        try? await late.close()
      }

      // The active handler finishes its response, then its keep-alive loop
      // ends at the next receive.
      server.release.fire()
      #expect(try await active.receiveAll() == Array("ok".utf8))

      // serve returns once the slow handler was cancelled at the deadline.
      try await serving.value
      #expect(
        server.endings.withLock { $0 } == [
          UInt8(ascii: "i"): .endOfStream, UInt8(ascii: "a"): .endOfStream,
          UInt8(ascii: "s"): .cancelled,
        ])
      #expect(!server.served.withLock { $0 }.contains(UInt8(ascii: "n")))
      #expect(try await slow.receiveAll().isEmpty)
      for stream in [idle, active, slow] { try await stream.close() }
      // The drain closed the listener.
      await #expect(throws: IOError.self) { try await listener.close() }
    }
  }

  @Test func serveReturnsAtOnceWhenEveryHandlerEndsBeforeTheDeadline() async throws {
    try await withReactor { reactor in
      let (drain, server) = (ServerDrain(), Server())
      let (listener, serving) = try await server.listen(drain: drain, on: reactor)
      let idle = try await Self.idleClient(of: listener.localAddress, on: reactor)
      // An hour of grace: serve must not wait for it once the handler ended.
      drain.begin(gracePeriod: .seconds(3600))
      try await serving.value
      #expect(server.endings.withLock { $0 } == [UInt8(ascii: "i"): .endOfStream])
      try await idle.close()
    }
  }

  @Test func serveWithADrainAlreadyBegunAcceptsNothing() async throws {
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let drain = ServerDrain()
      drain.begin(gracePeriod: .zero)
      try await listener.serve(drain: drain) { _ in Issue.record("a connection was served") }
      try await listener.close()
    }
  }

  @Test func aGroupListenerDrainsEveryReactor() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let listener = try await GroupListener.listen(at: .loopbackIPv4(port: 0), group: group)
    let drain = ServerDrain()
    let server = Server()
    let serving = Task { try await listener.serve(drain: drain) { await server.handle($0) } }
    var clients: [SocketStream] = []
    for reactor in group.reactors {
      clients.append(try await Self.idleClient(of: listener.localAddress, on: reactor))
    }
    drain.begin(gracePeriod: .seconds(3600))
    try await serving.value
    for client in clients {
      #expect(try await client.receiveAll().isEmpty)
      try await client.close()
    }
    await group.shutdown()
  }
}
