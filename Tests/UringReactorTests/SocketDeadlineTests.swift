import Glibc
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// `IODeadline` scopes on the socket operations that are not one awaited SQE:
/// the multishot receive behind `SocketStream.receive()`, the multishot
/// accept behind `SocketListener.connections`, and the zero-copy send.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct SocketDeadlineTests {
  /// A `receive()` whose scope's deadline passes while nothing arrives
  /// throws `.timedOut`; the multishot receive keeps running (one `RECV`
  /// SQE in all), its deadline was a timer entry (no linked timeout), and
  /// the bytes the peer sends later reach the next call, outside the scope.
  @Test(.ownsProcess) func receiveTimesOutAndTheStreamStaysUsable() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      do {
        _ = try await IODeadline.withTimeout(.milliseconds(50)) {
          () async throws(IOError) -> [UInt8]? in try await Self.receiveBytes(a)
        }
        Issue.record("received from a silent peer")
      } catch let error as IOError {
        #expect(error.kind == .timedOut)
        #expect(error.operation == .recv)
      }
      #expect(await inspect(reactor) { $0.timers.waitCount } == 0)
      // Sent after the timeout: queued by the multishot that kept running.
      try await b.writeAll(copying: [1, 2, 3])
      try await waitOnLoop(reactor) { _ in a.handle.receiver?.queuedCount == 1 }
      #expect(try await Self.receiveBytes(a) == [1, 2, 3])
      #expect(recorder.preparedCount(.recv) == 1)
      #expect(recorder.preparedCount(.linkTimeout) == 0)
      #expect(recorder.preparedCount(.asyncCancel) == 0)
      try await a.close()
      try await b.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Bytes already queued are returned even past the deadline (data ready
  /// is not late); with nothing queued, a deadline already past throws at
  /// once, without waiting; on a stream never read, it submits nothing.
  @Test(.ownsProcess) func aPassedDeadlineReturnsQueuedBytesAndOtherwiseThrowsAtOnce() async throws
  {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      let past = ContinuousClock.now - .seconds(1)
      await #expect(throws: IOError(.timedOut, operation: .recv, address: a.remoteAddress)) {
        try await IODeadline.withDeadline(past) { () async throws(IOError) -> Int in
          try await a.receive()?.count ?? -1
        }
      }
      #expect(recorder.preparedCount(.recv) == 0)
      try await b.writeAll(copying: [7])
      #expect(try await a.receive(exactly: 1) == [7])
      try await b.writeAll(copying: [8, 9])
      try await waitOnLoop(reactor) { _ in a.handle.receiver?.queuedCount == 1 }
      let queued = try await IODeadline.withDeadline(past) {
        () async throws(IOError) -> [UInt8]? in try await Self.receiveBytes(a)
      }
      #expect(queued == [8, 9])
      await #expect(throws: IOError(.timedOut, operation: .recv, address: a.remoteAddress)) {
        try await IODeadline.withDeadline(past) { () async throws(IOError) -> Int in
          try await a.receive()?.count ?? -1
        }
      }
      #expect(await inspect(reactor) { $0.timers.waitCount } == 0)
      #expect(recorder.preparedCount(.recv) == 1)
      try await a.close()
      try await b.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A wait that ends before its deadline (bytes arrive, or its task is
  /// cancelled) removes its timer entry; cancellation wins over a deadline
  /// that has passed too.
  @Test(.ownsProcess) func aWaitThatEndsFirstLeavesNoTimerAndCancellationWins() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let (a, b) = try SocketStream.pair(on: reactor)
      let receiving = Task(executorPreference: reactor) { () async throws -> [UInt8]? in
        try await IODeadline.withTimeout(.seconds(3600)) {
          () async throws(IOError) -> [UInt8]? in try await Self.receiveBytes(a)
        }
      }
      try await waitOnLoop(reactor) { $0.timers.waitCount == 1 }
      try await b.writeAll(copying: [4, 5])
      #expect(try await receiving.value == [4, 5])
      #expect(await inspect(reactor) { $0.timers.waitCount } == 0)

      let cancelled = Task(executorPreference: reactor) { () async throws -> [UInt8]? in
        try await IODeadline.withTimeout(.seconds(3600)) {
          () async throws(IOError) -> [UInt8]? in try await Self.receiveBytes(a)
        }
      }
      try await waitOnLoop(reactor) { $0.timers.waitCount == 1 }
      cancelled.cancel()
      await #expect(throws: IOError(.cancelled, operation: .recv, address: a.remoteAddress)) {
        try await cancelled.value
      }
      #expect(await inspect(reactor) { $0.timers.waitCount } == 0)

      // Cancelled and past its deadline: `.cancelled`.
      let both = Task(executorPreference: reactor) { () async throws -> [UInt8]? in
        withUnsafeCurrentTask { $0?.cancel() }
        return try await IODeadline.withDeadline(.now - .seconds(1)) {
          () async throws(IOError) -> [UInt8]? in try await Self.receiveBytes(a)
        }
      }
      await #expect(throws: IOError(.cancelled, operation: .recv, address: a.remoteAddress)) {
        try await both.value
      }
      // The stream still works.
      try await b.writeAll(copying: [6])
      #expect(try await a.receive(exactly: 1) == [6])
      try await a.close()
      try await b.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// The accept stream: `next()` with no client throws `.timedOut` at the
  /// scope's deadline; the multishot accept keeps running (one `ACCEPT`
  /// SQE), so a client that connects later is handed to the next call.
  /// A queued connection is returned past the deadline; with none queued, a
  /// passed deadline throws at once.
  @Test(.ownsProcess) func acceptStreamTimesOutAndStaysUsable() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      var connections = listener.connections.makeAsyncIterator()
      do {
        _ = try await IODeadline.withTimeout(.milliseconds(50)) {
          () async throws(IOError) -> SocketStream? in try await connections.next()
        }
        Issue.record("accepted with no client")
      } catch let error as IOError {
        #expect(error.kind == .timedOut)
        #expect(error.operation == .accept)
      }
      #expect(await inspect(reactor) { $0.timers.waitCount } == 0)
      let first = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      let acceptor = connections.handle.acceptor
      try await waitOnLoop(reactor) { _ in acceptor.queuedCount == 1 }
      let firstServer = try await IODeadline.withDeadline(.now - .seconds(1)) {
        () async throws(IOError) -> SocketStream? in try await connections.next()
      }
      #expect(try #require(firstServer).remoteAddress == (try await first.localAddress()))
      await #expect {
        try await IODeadline.withDeadline(.now - .seconds(1)) {
          () async throws(IOError) -> SocketStream? in try await connections.next()
        }
      } throws: { ($0 as? IOError)?.kind == .timedOut }
      // A client connecting after a timeout reaches the next call.
      let second = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      let secondServer = try #require(try await connections.next())
      #expect(secondServer.remoteAddress == (try await second.localAddress()))
      #expect(recorder.preparedCount(.accept) == 1)
      #expect(recorder.preparedCount(.linkTimeout) == 0)

      // Cancellation wins over a passed deadline.
      let cancelled = Task(executorPreference: reactor) { [connections] () async throws in
        var connections = connections
        withUnsafeCurrentTask { $0?.cancel() }
        _ = try await IODeadline.withDeadline(.now - .seconds(1)) {
          () async throws(IOError) -> SocketStream? in try await connections.next()
        }
      }
      await #expect {
        try await cancelled.value
      } throws: { ($0 as? IOError)?.kind == .cancelled }
      for stream in [first, try #require(firstServer), second, secondServer] {
        try await stream.close()
      }
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A zero-copy send past its deadline submits nothing and hands the
  /// buffer back at once; a cancelled task's throws `.cancelled` instead.
  @Test(.ownsProcess) func zeroCopySendPastItsDeadlineSubmitsNothing() async throws {
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let client = try await SocketStream.connect(to: listener.localAddress, on: reactor)
      let server = try await listener.accept()
      var buffer = OwnedBuffer([1, 2, 3])
      let result = await IODeadline.withDeadline(.now - .seconds(1)) {
        () async -> Result<Int, IOError> in
        let outcome = await client.sendZeroCopy(from: buffer)
        buffer = outcome.buffer
        return outcome.result
      }
      // Errors of a connected stream name both ends.
      var timedOut = IOError(.timedOut, operation: .sendZC, address: client.remoteAddress)
      timedOut.localAddress = try await client.localAddress()
      #expect(throws: timedOut) {
        try result.get()
      }
      #expect(buffer.count == 3)
      let cancelled = Task(executorPreference: reactor) { () async -> Result<Int, IOError> in
        withUnsafeCurrentTask { $0?.cancel() }
        return await IODeadline.withDeadline(.now - .seconds(1)) {
          await client.sendZeroCopy(from: OwnedBuffer([1, 2, 3])).result
        }
      }
      var cancelledError = timedOut
      cancelledError.kind = .cancelled
      await #expect(throws: cancelledError) {
        try await cancelled.value.get()
      }
      #expect(recorder.preparedCount(.sendZC) == 0)
      try await client.close()
      try await server.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// A zero-copy send into a full socket (a peer that does not read, small
  /// buffers) is linked to an `IORING_OP_LINK_TIMEOUT`; when it fires the
  /// kernel cancels the send: its first CQE is `-ECANCELED` and a
  /// notification CQE still follows, and the buffer comes back (alive all
  /// along) only after that notification, with `.timedOut`.
  @Test(.ownsProcess) func zeroCopySendIntoAFullSocketTimesOutAfterItsNotification() async throws {
    let descriptorsBefore = openDescriptorCount()
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
      let listener = try await SocketListener.listen(
        at: .loopbackIPv4(port: 0),
        options: SocketOptions(receiveBufferSize: 4096, reuseAddress: true), on: reactor)
      let client = try await SocketStream.connect(
        to: listener.localAddress, options: SocketOptions(sendBufferSize: 4096), on: reactor)
      let server = try await listener.accept()  // Never read.
      let fd = try #require(client.handle.descriptor)
      var buffer = OwnedBuffer([UInt8](repeating: 0x5A, count: 256 * 1024))
      // Until the deadline cancels a send that waits: a delayed ACK may free
      // room after the socket was filled, and a send then sends some bytes.
      var timedOut = false
      for _ in 0..<20 where !timedOut {
        Self.fill(fd)
        storageAlive.set(buffer.storage)
        let result = await IODeadline.withTimeout(.milliseconds(50)) {
          () async -> Result<Int, IOError> in
          let outcome = await client.sendZeroCopy(from: buffer)
          buffer = outcome.buffer
          return outcome.result
        }
        switch result {
        case .failure(let error):
          #expect(error.kind == .timedOut)
          #expect(error.operation == .sendZC)
          timedOut = true
        case .success(let count):
          #expect(count > 0 && count < 256 * 1024)
        }
      }
      #expect(timedOut)
      #expect(buffer.count == 256 * 1024)
      let seen = finals.withLock { $0 }
      #expect(!seen.isEmpty)
      #expect(seen.allSatisfy { $0.notification && $0.alive }, "\(seen)")
      #expect(recorder.preparedCount(.linkTimeout) == recorder.preparedCount(.sendZC))
      try await client.close()
      try await server.close()
      try await listener.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  private static func bytes(_ received: consuming ReceivedBytes) -> [UInt8] {
    received.withUnsafeBytes { Array($0) }
  }

  /// `receive()`'s bytes, copied (`nil` at end of stream).
  private static func receiveBytes(_ stream: SocketStream) async throws(IOError) -> [UInt8]? {
    guard let received = try await stream.receive() else { return nil }
    return bytes(received)
  }

  /// Sends with `MSG_DONTWAIT` until the socket's send buffer is full.
  private static func fill(_ fd: CInt) {
    let chunk = [UInt8](repeating: 0xA5, count: 65_536)
    while true {
      let sent = chunk.withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, CInt(MSG_DONTWAIT) | CInt(MSG_NOSIGNAL))
      }
      if sent <= 0 { return }
    }
  }
}
