import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// `SocketListener.serve`: a handler task per connection on the listener's
/// reactor, the connection closed after its handler, cancellation and the
/// end of the listener.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketServeTests {
  @Test(.ownsProcess) func eachConnectionGetsAHandlerOnTheReactorAndIsClosedAfterIt() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let onReactor = Locked<[Bool]>([])
      let server = Task {
        try await listener.serve(connectionLimit: 3) { connection in
          onReactor.withLock { $0.append(Reactor.current === reactor) }
          // Echo, then return without closing: serve closes it.
          while let bytes = try? await connection.receive() {
            guard (try? await connection.writeAll(bytes)) != nil else { break }
          }
        }
      }
      for index in 0..<3 {
        let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
        let message = Array("client \(index)".utf8)
        try await client.writeAll(copying: message)
        try await client.shutdown(.write)
        // The echo, then end of stream: the server closed its side.
        #expect(try await client.receiveAll() == message)
        try await client.close()
      }
      try await server.value
      #expect(onReactor.withLock { $0 } == [true, true, true])
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func aLimitOfZeroAcceptsNothing() async throws {
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      try await listener.serve(connectionLimit: 0) { _ in Issue.record("a connection was served") }
      try await listener.close()
    }
  }

  @Test(.ownsProcess) func cancellingServeCancelsTheHandlersAndWaitsForThem() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let (started, startedSignal) = AsyncStream.makeStream(of: Void.self)
      let handlerSaw = Locked<IOError.Kind?>(nil)
      let server = Task { () async -> IOError? in
        do throws(IOError) {
          try await listener.serve { connection in
            startedSignal.yield()
            do throws(IOError) {
              _ = try await connection.receive()
            } catch {
              handlerSaw.withLock { $0 = error.kind }
            }
          }
          return nil
        } catch {
          return error
        }
      }
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      var waiting = started.makeAsyncIterator()
      await waiting.next()
      server.cancel()
      let error = await server.value
      #expect(error?.kind == .cancelled)
      // serve returned only after the handler did, cancelled in its receive.
      #expect(handlerSaw.withLock { $0 } == .cancelled)
      try await client.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test(.ownsProcess) func closingTheListenerEndsServingAfterTheRunningHandlers() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let (started, startedSignal) = AsyncStream.makeStream(of: Void.self)
      let server = Task {
        try await listener.serve { connection in
          startedSignal.yield()
          _ = try? await connection.receiveAll()
        }
      }
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      var waiting = started.makeAsyncIterator()
      await waiting.next()
      try await listener.close()
      // The handler still runs: its peer ends it.
      try await client.writeAll(copying: Array("last words".utf8))
      try await client.shutdown(.write)
      #expect(try await client.receiveAll() == [])
      try await server.value
      try await client.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }
}
