import Glibc
import TestSupport
import Testing

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketBackpressureTests {
  /// A fast writer and a slow reader: the reader's multishot receive pauses
  /// once `maximumQueuedPerConnection` chunks wait for it, so the buffers out
  /// of the ring stay bounded however much is sent (8 MiB would take 2,048
  /// buffers); every byte still arrives, in order.
  @Test func slowReaderKeepsBuffersBounded() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let pool = try await ProvidedBufferPool.register(
        count: 512, bufferSize: 4096, maximumQueuedPerConnection: 4, on: reactor)
      let (writer, reader) = try SocketStream.pair(buffers: pool, on: reactor)
      var random = SeededRandom(seed: 7)
      let payload = random.bytes(8 << 20)
      let sending = Task(executorPreference: reactor) {
        try await writer.writeAll(copying: payload)
        try await writer.shutdown(.write)
      }
      let received = try await Task(executorPreference: reactor) { () async throws -> [UInt8] in
        var received: [UInt8] = []
        while let bytes = try await reader.receive() {
          bytes.withUnsafeBytes { received.append(contentsOf: $0) }
          // A slow consumer: a few loop round trips per chunk.
          for _ in 0..<3 { try await reactor.nop() }
        }
        return received
      }.value
      try await sending.value
      #expect(received == payload)
      #expect(recorder.preparedCount(.recv) > 10, "the receive paused and resumed")
      // The bound: the 4 queued chunks, plus one burst the kernel received
      // before the loop saw the pause was due (a multishot receive drains
      // what the socket holds, a few hundred KiB at most, in one loop turn).
      #expect(pool.peakLentCount <= 128, "peak \(pool.peakLentCount) buffers out")
      try await writer.close()
      try await reader.close()
      #expect(await lentCountSettles(pool, on: reactor) == 0)
    }
  }

  /// The pool runs dry (the consumer holds every buffer): the kernel ends the
  /// multishot receive with `ENOBUFS`, and it is re-armed once a buffer comes
  /// back, not before (no busy loop). No byte is lost.
  @Test func dryPoolParksTheReceiveUntilABufferComesBack() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let pool = try await ProvidedBufferPool.register(
        count: 2, bufferSize: 16, maximumQueuedPerConnection: 8, on: reactor)
      let (writer, reader) = try SocketStream.pair(buffers: pool, on: reactor)
      try await Task(executorPreference: reactor) {
        try await writer.writeAll(copying: Array("first".utf8))
        guard let first = try await reader.receive() else {
          Issue.record("end of stream")
          return
        }
        try await writer.writeAll(copying: Array("second".utf8))
        guard let second = try await reader.receive() else {
          Issue.record("end of stream")
          return
        }
        #expect(pool.lentCount == 2)
        // Both buffers are held: this one finds the ring empty.
        try await writer.writeAll(copying: Array("third".utf8))
        var rounds = 0
        while recorder.completedCount(.recv) == 0, rounds < 100_000 {
          try await reactor.nop()
          rounds += 1
        }
        #expect(recorder.completedCount(.recv) == 1, "the multishot ended (ENOBUFS)")
        let armed = recorder.preparedCount(.recv)
        for _ in 0..<100 { try await reactor.nop() }
        #expect(recorder.preparedCount(.recv) == armed, "not re-armed while the ring is empty")
        // One sentinel timeout stands for the waiting receiver; a timespec
        // read wrong (expiring at once) would have been started again.
        #expect(recorder.preparedCount(.timeout) == 1, "one sentinel while the receive waits")
        #expect(first.bytes == Array("first".utf8))
        _ = consume first  // A buffer goes back: the receive is re-armed.
        guard let third = try await reader.receive() else {
          Issue.record("end of stream")
          return
        }
        #expect(third.bytes == Array("third".utf8))
        #expect(recorder.preparedCount(.recv) == armed + 1)
        #expect(second.bytes == Array("second".utf8))
        // Nobody waits any more: the sentinel is cancelled, not restarted.
        rounds = 0
        while recorder.completedCount(.timeout) == 0, rounds < 100_000 {
          try await reactor.nop()
          rounds += 1
        }
        #expect(recorder.completedCount(.timeout) == 1)
        #expect(recorder.preparedCount(.timeout) == 1)
      }.value
      try await writer.close()
      try await reader.close()
      #expect(await lentCountSettles(pool, on: reactor) == 0)
    }
  }

  /// A receive waiting for buffers of a dry pool has no operation of its own
  /// in flight; the pool's sentinel timeout reaches it at shutdown: it
  /// throws `.reactorShutDown` instead of hanging.
  @Test func shutdownFailsAReceiveWaitingForBuffers() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let pool = try await ProvidedBufferPool.register(
        count: 2, bufferSize: 16, maximumQueuedPerConnection: 8, on: reactor)
      let (writer, reader) = try SocketStream.pair(buffers: pool, on: reactor)
      try await writer.writeAll(copying: Array("first".utf8))
      guard let first = try await reader.receive() else {
        Issue.record("end of stream")
        return
      }
      try await writer.writeAll(copying: Array("second".utf8))
      guard let second = try await reader.receive() else {
        Issue.record("end of stream")
        return
      }
      // Both buffers are held: the next bytes find the ring empty.
      try await writer.writeAll(copying: Array("third".utf8))
      await recorder.waitUntilPrepared(.timeout, count: 1)
      let waiting = Task.detached { () async throws(IOError) -> [UInt8]? in
        try await reader.receive()?.bytes
      }
      await reactor.shutdown()
      do {
        let bytes = try await waiting.value
        Issue.record("received \(bytes ?? []) with every buffer held")
      } catch let error as IOError {
        #expect(error.kind == .reactorShutDown)
      } catch {
        Issue.record("\(error)")
      }
      #expect(first.bytes == Array("first".utf8))
      #expect(second.bytes == Array("second".utf8))
      _ = consume first
      _ = consume second
      try? await writer.close()
      try? await reader.close()
      // The releases, closes and deinits of what outlived the reactor run as
      // tasks preferring it, on its fallback queue (marked as its loop
      // thread). End them while `withReactor` still holds the reactor: if
      // such a task dropped the last reference, `Reactor.deinit` would take
      // the fallback queue for the loop thread and detach the thread already
      // joined, a handle the next reactor's thread may reuse.
      let survivors = [WeakBox<AnyObject & Sendable>(), WeakBox(), WeakBox()]
      survivors[0].set(pool)
      survivors[1].set(writer)
      survivors[2].set(reader)
      _ = consume waiting
      _ = consume writer
      _ = consume reader
      _ = consume pool
      var rounds = 0
      repeat {
        // Serial: every task enqueued before this one has run.
        await withUnsafeContinuation { continuation in
          EventLoop.fallbackQueue.async { continuation.resume() }
        }
        rounds += 1
      } while survivors.contains(where: \.isAlive) && rounds < 1000
      let alive = survivors.filter(\.isAlive).count
      #expect(alive == 0, "the pool and the streams are gone")
    }
  }

  /// A half-closed connection still carries the other direction: the
  /// client's `shutdown(.write)` is end of stream for the server, which then
  /// answers; the client reads the answer, then end of stream.
  @Test(.ownsProcess) func halfClosedConnectionCarriesTheOtherDirection() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv6(port: 0), on: reactor)
      let server = Task(executorPreference: reactor) { () async throws -> [UInt8] in
        var iterator = listener.connections.makeAsyncIterator()
        let connection = try #require(try await iterator.next())
        let request = try await connection.receiveAll()
        try await connection.writeAll(copying: Array("got \(request.count) bytes".utf8))
        try await connection.close()
        return request
      }
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      #expect(client.remoteAddress == listener.localAddress)
      try await client.writeAll(copying: Array("request".utf8))
      try await client.shutdown(.write)
      #expect(try await client.receiveAll() == Array("got 7 bytes".utf8))
      #expect(try await server.value == Array("request".utf8))
      await #expect(throws: IOError.self) { try await client.writeAll(copying: [1]) }
      try await client.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A single `write(from:)` to a full socket waits for room (the send that
  /// does not wait gets `EAGAIN`, then one that waits is submitted) and
  /// sends some bytes, rather than returning 0.
  @Test func aSingleWriteToAFullSocketWaitsForRoom() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (writer, reader) = try SocketStream.pair(on: reactor)
      try await writer.apply(SocketOptions(sendBufferSize: 4096))
      let buffer = SharedBuffer([UInt8](repeating: 7, count: 65_536))
      let first = try await writer.write(from: buffer)
      #expect(first > 0 && first < buffer.count)
      let second = Task(executorPreference: reactor) { try await writer.write(from: buffer) }
      // Its send that does not wait (`EAGAIN`) came before the reader drains.
      await recorder.waitUntilPrepared(.send, count: 2)
      #expect(try await reader.receive(exactly: first).count == first)
      #expect(try await second.value > 0)
      try await writer.close()
      try await reader.close()
    }
  }

  /// Bytes released on a thread other than the loop's go back to the ring
  /// through the loop (rule 5).
  @Test func bytesReleasedElsewhereReturnThroughTheLoop() async throws {
    try await withReactor { reactor in
      let pool = try await ProvidedBufferPool.register(count: 8, bufferSize: 64, on: reactor)
      let (writer, reader) = try SocketStream.pair(buffers: pool, on: reactor)
      try await writer.writeAll(copying: Array("elsewhere".utf8))
      // Received (and released) by a task that does not prefer the reactor.
      let bytes = try await Task.detached { try await reader.receive()?.bytes }.value
      #expect(bytes == Array("elsewhere".utf8))
      #expect(!reactor.isCurrent)
      #expect(await lentCountSettles(pool, on: reactor) == 0)
      try await writer.close()
      try await reader.close()
    }
  }
}

/// Waits (through loop round trips, no sleeping) until the pool's lent count
/// stops changing at 0, or gives up after many rounds; returns it.
func lentCountSettles(_ pool: ProvidedBufferPool, on reactor: Reactor) async -> Int {
  for _ in 0..<10_000 where pool.lentCount != 0 {
    try? await Task(executorPreference: reactor) { try await reactor.nop() }.value
  }
  return pool.lentCount
}
