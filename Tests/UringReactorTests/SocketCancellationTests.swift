import Glibc
import TestSupport
import Testing

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketCancellationTests {
  /// A task blocked in `read(into:)` is cancelled: exactly one
  /// `IORING_OP_ASYNC_CANCEL`, the buffer stays lent to the kernel until the
  /// read's own CQE, then the call throws `.cancelled`; the descriptor is
  /// closed once.
  @Test(.ownsProcess) func cancellingABlockedReadKeepsTheBufferUntilItsCompletion() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let buffer = SharedBuffer(capacity: 4096)
      let lentAtCompletion = Tally(2)
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          guard opcode == .recv else { return }
          lentAtCompletion.add(buffer.isKernelWriting ? 0 : 1)
        }
      }
      let (a, b) = try SocketStream.pair(on: reactor)
      let reader = Task(executorPreference: reactor) { try await a.read(into: buffer) }
      await recorder.waitUntilPrepared(.recv, count: 1)
      #expect(buffer.isKernelWriting)
      #expect(throws: MemoryAccessError.self) { try buffer.bytes() }
      reader.cancel()
      do {
        _ = try await reader.value
        Issue.record("the read completed")
      } catch let error as IOError {
        #expect(error.kind == .cancelled)
        #expect(error.operation == .recv)
      }
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(lentAtCompletion.snapshot() == [1, 0], "lent until the read's own CQE")
      #expect(!buffer.isKernelWriting)
      // The stream is still usable, and closes once.
      try await b.writeAll(copying: Array("after".utf8))
      #expect(try await a.read(into: buffer) == 5)
      #expect(try buffer.bytes() == Array("after".utf8))
      try await a.close()
      await #expect(throws: IOError.self) { try await a.close() }
      try await b.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Streams dropped without `close()` on the loop thread close their
  /// descriptors through the ring (`IORING_OP_CLOSE`), after any operation
  /// already prepared for them, never with an immediate `close(2)` that an
  /// unsubmitted SQE could outlive (its number reused by another socket).
  @Test(.ownsProcess) func droppedStreamsCloseThroughTheRing() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      try await Task(executorPreference: reactor) {
        let (a, b) = try SocketStream.pair(on: reactor)
        _ = (a, b)
      }.value
      await recorder.waitUntilPrepared(.close, count: 2)
      try await waitOnLoop(reactor) { _ in recorder.completedCount(.close) == 2 }
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A task blocked in `receive()` is cancelled: it throws `.cancelled`, and
  /// bytes that arrive afterwards wait for the next `receive()` (none lost).
  @Test func cancellingAWaitingReceiveLosesNoBytes() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      let waiting = Task(executorPreference: reactor) { try await a.receive()?.count }
      await recorder.waitUntilPrepared(.recv, count: 1)
      waiting.cancel()
      do {
        _ = try await waiting.value
        Issue.record("received")
      } catch let error as IOError {
        #expect(error.kind == .cancelled)
      }
      // Also from a task that does not prefer the reactor: the cancellation
      // (before or while it waits) is posted to the loop.
      let elsewhere = Task.detached { try await a.receive()?.count }
      elsewhere.cancel()
      await #expect(throws: IOError.self) { try await elsewhere.value }
      try await b.writeAll(copying: Array("kept".utf8))
      #expect(try await a.receive(exactly: 4) == Array("kept".utf8))
      #expect(recorder.preparedCount(.recv) == 1, "one multishot receive throughout")
      try await a.close()
      try await b.close()
    }
  }

  /// A task cancelled before it sends anything submits nothing.
  @Test func alreadyCancelledTaskSubmitsNoSend() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      let gate = Gate()
      let sender = Task(executorPreference: reactor) {
        await gate.wait()
        try await a.writeAll(copying: Array("never".utf8))
      }
      sender.cancel()
      gate.open()
      await #expect(throws: IOError.self) { try await sender.value }
      #expect(recorder.preparedCount(.send) == 0)
      try await a.close()
      try await b.close()
    }
  }

  /// Zero-copy send: the memory stays in the in-flight slot until the
  /// notification CQE (`IORING_CQE_F_NOTIF`), the final one; the buffer comes
  /// back only then, with the byte count of the first CQE.
  @Test func zeroCopySendKeepsTheMemoryUntilTheNotification() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let storageAlive = WeakBox<OwnedBufferStorage>()
      let finals = Locked<[(notification: Bool, alive: Bool)]>([])
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          guard opcode == .sendZC else { return }
          finals.withLock { $0.append((completion.isNotification, storageAlive.isAlive)) }
        }
      }
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let accepting = Task(executorPreference: reactor) { () async throws -> [UInt8] in
        var iterator = listener.connections.makeAsyncIterator()
        let connection = try #require(try await iterator.next())
        let bytes = try await connection.receiveAll()
        try await connection.close()
        return bytes
      }
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      var random = SeededRandom(seed: 3)
      let payload = random.bytes(256 * 1024)
      var buffer = OwnedBuffer(payload)
      var sent = 0
      while sent < payload.count {
        // Send what is left, from the start of a buffer holding it.
        if sent > 0 { buffer = OwnedBuffer(payload[sent...]) }
        storageAlive.set(buffer.storage)
        let outcome = await client.sendZeroCopy(from: buffer)
        buffer = outcome.buffer
        let count = try outcome.result.get()
        #expect(count > 0)
        sent += count
      }
      try await client.shutdown(.write)
      #expect(try await accepting.value == payload)
      let seen = finals.withLock { $0 }
      #expect(!seen.isEmpty)
      #expect(seen.allSatisfy { $0.notification && $0.alive }, "\(seen)")
      try await client.close()
      try await listener.close()
    }
  }
}
