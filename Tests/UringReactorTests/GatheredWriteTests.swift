import Glibc
import TestSupport
import Testing

@testable import UringReactor

/// `SocketStream.writeAll(from: [SharedBuffer])`: one `IORING_OP_SENDMSG`
/// gathering every buffer, resubmitted after partial sends; the buffers and
/// the iovecs stay lent until each send's CQE.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct GatheredWriteTests {
  /// 64 buffers of odd sizes, some empty, to a reader that reads 777 bytes
  /// at a time through a small send buffer: the sends are partial, stop in
  /// the middle of buffers, and the bytes arrive exactly.
  @Test func manyOddBuffersArriveExactlyThroughPartialSends() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let sent = Locked<[Int32]>([])
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          if opcode == .sendmsg { sent.withLock { $0.append(completion.result) } }
        }
      }
      let (a, b) = try SocketStream.pair(on: reactor)
      try await a.apply(SocketOptions(sendBufferSize: 4096))
      var random = SeededRandom(seed: 15)
      let chunks = (0..<64).map { index in
        random.bytes(index % 9 == 4 ? 0 : 1 + 2 * Int(random.next() % 2_500))
      }
      let buffers = chunks.map { SharedBuffer($0) }
      let expected = chunks.flatMap { $0 }
      let reader = Task(executorPreference: reactor) { () async throws -> [UInt8] in
        let piece = SharedBuffer(capacity: 777)
        var received: [UInt8] = []
        while received.count < expected.count {
          guard try await b.read(into: piece) > 0 else { break }
          received += try piece.bytes()
        }
        return received
      }
      try await a.writeAll(from: buffers)
      #expect(try await reader.value == expected)
      let counts = sent.withLock { $0 }.filter { $0 > 0 }.map { Int($0) }
      #expect(counts.count > 1, "the sends were partial")
      #expect(counts.reduce(0, +) == expected.count)
      #expect(buffers.allSatisfy { !$0.isKernelReading })
      try await a.close()
      try await b.close()
    }
  }

  /// More buffers than one `sendmsg` takes (`UIO_MAXIOV`, 1024): they go in
  /// several sends, in order.
  @Test func moreBuffersThanOneMessageTakesGoInOrder() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      var random = SeededRandom(seed: 16)
      let chunks = (0..<1_500).map { index in random.bytes(index % 7) }
      try await a.writeAll(from: chunks.map { SharedBuffer($0) })
      try await a.shutdown(.write)
      #expect(try await b.receiveAll() == chunks.flatMap { $0 })
      #expect(recorder.completedCount(.sendmsg) >= 2)
      try await a.close()
      try await b.close()
    }
  }

  /// The same buffer twice is sent twice, and lent until both are sent.
  @Test func theSameBufferTwiceIsSentTwice() async throws {
    try await withReactor { reactor in
      let (a, b) = try SocketStream.pair(on: reactor)
      let twice = SharedBuffer(Array("twice ".utf8))
      try await a.writeAll(from: [twice, SharedBuffer(Array("and ".utf8)), twice])
      #expect(!twice.isKernelReading)
      try await a.shutdown(.write)
      #expect(try await b.receiveAll() == Array("twice and twice ".utf8))
      try await a.close()
      try await b.close()
    }
  }

  /// No bytes at all: nothing is submitted.
  @Test func emptyBuffersSubmitNothing() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      try await a.writeAll(from: [])
      try await a.writeAll(from: [SharedBuffer(capacity: 8), SharedBuffer([])])
      #expect(recorder.preparedCount(.sendmsg) == 0)
      try await a.close()
      try await b.close()
    }
  }

  /// A buffer the kernel is writing (a read in flight) refuses the loan:
  /// nothing is sent, and no other buffer stays lent.
  @Test func aBusyBufferRefusesTheWholeWrite() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      let busy = SharedBuffer(capacity: 16)
      let reading = Task(executorPreference: reactor) { try await b.read(into: busy) }
      await recorder.waitUntilPrepared(.recv, count: 1)
      let free = SharedBuffer(Array("free".utf8))
      do {
        try await a.writeAll(from: [free, busy])
        Issue.record("the write was accepted")
      } catch let error as IOError {
        guard case .memoryBusy = error.kind else {
          Issue.record("unexpected \(error)")
          return
        }
        #expect(error.operation == .sendmsg)
      }
      #expect(!free.isKernelReading)
      #expect(recorder.preparedCount(.sendmsg) == 0)
      try await b.writeAll(copying: [1])
      try await a.writeAll(copying: [2])
      #expect(try await reading.value == 1)
      try await a.close()
      try await b.close()
    }
  }

  /// The reader resets the connection midway: the write fails with
  /// `ECONNRESET` or `EPIPE`, the buffers are released once the last CQE
  /// came, and no descriptor is left open.
  @Test(.ownsProcess) func aPeerResetMidwayFailsTheWriteAndLeaksNothing() async throws {
    let descriptorsBefore = openDescriptorCount()
    let alive = (0..<64).map { _ in WeakBox<SharedBuffer>() }
    try await withReactor { reactor in
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let address = listener.localAddress
      let peer = Task {
        try await onThread { () throws -> Int in
          let socket = try RawSocket(connectingTo: address)
          let received = try socket.receive(20_000).count
          socket.resetOnClose()
          return received
        }
      }
      let writer = try await listener.accept()
      try await writer.apply(SocketOptions(sendBufferSize: 4096))
      var random = SeededRandom(seed: 17)
      let buffers = (0..<64).map { index in SharedBuffer(random.bytes(index % 5 == 0 ? 0 : 65_537))
      }
      for (box, buffer) in zip(alive, buffers) { box.set(buffer) }
      do {
        try await writer.writeAll(from: buffers)
        Issue.record("the write outlived the reset")
      } catch let error as IOError {
        #expect(error.isConnectionReset || error.isBrokenPipe, "\(error)")
        #expect(error.operation == .sendmsg)
      }
      #expect(try await peer.value == 20_000)
      #expect(buffers.allSatisfy { !$0.isKernelReading })
      try await writer.close()
      try await listener.close()
    }
    #expect(alive.allSatisfy { !$0.isAlive }, "every buffer released")
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Cancelled while a send waits for room: exactly one
  /// `IORING_OP_ASYNC_CANCEL`, the buffers stay lent until that send's own
  /// CQE, then the call throws `.cancelled`.
  @Test func cancellingMidwayKeepsTheBuffersLentUntilTheCompletion() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      try await a.apply(SocketOptions(sendBufferSize: 4096))
      var random = SeededRandom(seed: 18)
      let buffers = (0..<16).map { _ in SharedBuffer(random.bytes(16_385)) }
      let lentAtCompletion = Locked<[Bool]>([])
      recorder.onCompleting.withLock {
        $0 = { _, opcode in
          guard opcode == .sendmsg else { return }
          lentAtCompletion.withLock { $0.append(buffers.allSatisfy(\.isKernelReading)) }
        }
      }
      let writer = Task(executorPreference: reactor) { try await a.writeAll(from: buffers) }
      // A partial send without waiting, `EAGAIN`, then a send that waits.
      await recorder.waitUntilPrepared(.sendmsg, count: 3)
      #expect(recorder.completedCount(.sendmsg) == 2)
      #expect(buffers.allSatisfy { $0.isKernelReading })
      writer.cancel()
      do {
        try await writer.value
        Issue.record("the write completed")
      } catch let error as IOError {
        #expect(error.kind == .cancelled)
        #expect(error.operation == .sendmsg)
      }
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(lentAtCompletion.withLock { $0 } == [true, true, true], "lent until each CQE")
      #expect(buffers.allSatisfy { !$0.isKernelReading })
      try await a.close()
      try await b.close()
    }
  }

  /// A deadline passes while the write waits for room: `.timedOut`, the
  /// buffers no longer lent.
  @Test func aDeadlineEndsAWriteThatCannotFinish() async throws {
    try await withReactor { reactor in
      let (a, b) = try SocketStream.pair(on: reactor)
      try await a.apply(SocketOptions(sendBufferSize: 4096))
      var random = SeededRandom(seed: 19)
      let buffers = (0..<16).map { _ in SharedBuffer(random.bytes(16_385)) }
      await #expect(throws: IOError(.timedOut, operation: .sendmsg, address: a.remoteAddress)) {
        try await IODeadline.withDeadline(.now + .milliseconds(50)) { () async throws(IOError) in
          try await a.writeAll(from: buffers)
        }
      }
      #expect(buffers.allSatisfy { !$0.isKernelReading })
      try await a.close()
      try await b.close()
    }
  }
}
