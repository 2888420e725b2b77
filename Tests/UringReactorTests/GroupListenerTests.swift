import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// `GroupListener`: a listening socket per reactor of a group
/// (`SO_REUSEPORT`), each connection served on the reactor that accepted it.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct GroupListenerTests {
  /// 64 clients each send a line and read it back: all are accepted and
  /// served, each handler runs on the reactor of the listener that accepted
  /// its connection, both reactors accept, and closing the listeners ends
  /// serving with no descriptor left open.
  @Test(.ownsProcess) func everyClientIsServedOnTheReactorThatAcceptedIt() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let clientReactor = try Reactor()
    let descriptorsBefore = openDescriptorCount()
    let listener = try await GroupListener.listen(at: .loopbackIPv4(port: 0), group: group)
    #expect(listener.listeners.count == 2)
    #expect(listener.listeners.allSatisfy { $0.localAddress == listener.localAddress })
    #expect(listener.localAddress.port != 0)
    #expect(
      listener.listeners.map { ObjectIdentifier($0.reactor) }
        == group.reactors.map { ObjectIdentifier($0) })
    let servedBy = Locked<[ObjectIdentifier: Int]>([:])
    let misplaced = Locked(0)
    let server = Task {
      try await listener.serve { connection in
        let accepting = connection.reactor
        if Reactor.current !== accepting
          || !listener.listeners.contains(where: { $0.reactor === accepting })
        {
          misplaced.withLock { $0 += 1 }
        }
        servedBy.withLock { $0[ObjectIdentifier(accepting), default: 0] += 1 }
        while let bytes = try? await connection.receive() {
          guard (try? await connection.writeAll(bytes)) != nil else { break }
        }
      }
    }
    let clients = 64
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      for index in 0..<clients {
        tasks.addTask(executorPreference: clientReactor) {
          let client = try await SocketStream.connect(
            to: listener.localAddress, on: clientReactor)
          let line = Array("client \(index)\n".utf8)
          try await client.writeAll(copying: line)
          try await client.shutdown(.write)
          let echoed = try await client.receiveAll()
          try await client.close()
          #expect(echoed == line)
        }
      }
      try await tasks.waitForAll()
    }
    try await listener.close()
    try await server.value
    #expect(misplaced.withLock { $0 } == 0)
    let counts = servedBy.withLock { $0 }
    #expect(counts.values.reduce(0, +) == clients)
    // The kernel spreads connections by a hash of their ports: with 64
    // clients, each of the 2 reactors gets some (all on one: 2^-63).
    #expect(counts.count == 2, "\(counts)")
    await #expect(throws: IOError.self) { try await listener.close() }
    #expect(openDescriptorCount() == descriptorsBefore)
    await clientReactor.shutdown()
    await group.shutdown()
  }

  /// Cancelling `serve` ends every listener's serving (and its handlers) with
  /// `.cancelled`; the listeners stay open until closed.
  @Test func cancellingServeEndsEveryListenersServing() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let listener = try await GroupListener.listen(at: .loopbackIPv4(port: 0), group: group)
    let (started, startedSignal) = AsyncStream.makeStream(of: Void.self)
    let server = Task { () async -> IOError? in
      do throws(IOError) {
        try await listener.serve { connection in
          startedSignal.yield()
          _ = try? await connection.receive()
        }
        return nil
      } catch {
        return error
      }
    }
    try await withReactor { reactor in
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      var waiting = started.makeAsyncIterator()
      await waiting.next()
      server.cancel()
      #expect(await server.value?.kind == .cancelled)
      try await client.close()
    }
    try await listener.close()
    await group.shutdown()
  }

  /// A Unix-domain address cannot be shared between sockets: `EINVAL`.
  @Test func aUnixAddressIsRefused() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let address = try SocketAddress.unixPath("/tmp/uring-group-listener-\(getpid())")
    await #expect(throws: IOError(.system(.invalidArgument), operation: .listen, address: address))
    {
      _ = try await GroupListener.listen(at: address, group: group)
    }
    await group.shutdown()
  }
}
