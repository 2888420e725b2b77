import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct FileStreamTests {
  @Test func chunksComeInOrderAndEndAtTheEnd() async throws {
    let scratch = try ScratchDirectory("chunks")
    defer { scratch.remove() }
    let payload = patternBytes(5 << 20 + 777, seed: 11)
    try writeFileBlocking(scratch.path("f"), payload)
    try await withReactor { reactor in
      let file = try await File.open(scratch.path("f"), .readOnly, on: reactor)
      var collected: [UInt8] = []
      var offsets: [UInt64?] = []
      for try await chunk in file.chunks(chunkSize: 1 << 20, readAhead: 3) {
        offsets.append(chunk.offset)
        collected += chunk.bytes
      }
      #expect(collected == payload)
      #expect(offsets == (0...5).map { UInt64($0) << 20 })
      // A range: from an offset, for a length, in chunks that do not divide it.
      var ranged: [UInt8] = []
      for try await chunk in file.chunks(from: 1000, length: 100_000, chunkSize: 30_000) {
        chunk.withBytes { span in span.withUnsafeBytes { ranged += $0 } }
      }
      #expect(ranged == Array(payload[1000..<101_000]))
      // An empty file: no chunk at all.
      try writeFileBlocking(scratch.path("empty"), [])
      let empty = try await File.open(scratch.path("empty"), .readOnly, on: reactor)
      var count = 0
      for try await _ in empty.chunks() { count += 1 }
      #expect(count == 0)
      try await empty.close()
      try await file.close()
    }
  }

  /// With a consumer that stops taking chunks, at most `readAhead` reads are
  /// issued beyond what it took, and the stream's buffers stay bounded.
  @Test func readAheadIsBoundedWhenTheConsumerIsSlow() async throws {
    let scratch = try ScratchDirectory("backpressure")
    defer { scratch.remove() }
    try writeFileBlocking(scratch.path("f"), patternBytes(1 << 20, seed: 12))
    try await withReactor { reactor in
      let file = try await File.open(scratch.path("f"), .readOnly, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let readAhead = 3
      var iterator = file.chunks(chunkSize: 64 << 10, readAhead: readAhead).makeAsyncIterator()
      let first = try await iterator.next()
      #expect(first?.count == 64 << 10)
      // The first call issued `readAhead` reads and, taking one, one more.
      #expect(recorder.preparedCount(.read) == readAhead + 1)
      // The loop goes round (every read completes meanwhile), but nothing
      // more is read until the consumer asks.
      for _ in 0..<20 { try await reactor.nop() }
      #expect(recorder.preparedCount(.read) == readAhead + 1)
      #expect(recorder.completedCount(.read) == readAhead + 1)
      var total = first?.count ?? 0
      while let chunk = try await iterator.next() { total += chunk.count }
      #expect(total == 1 << 20)
      // 16 chunks, then reads at and past the end (at most `readAhead`).
      #expect(recorder.preparedCount(.read) <= 16 + readAhead)
      #expect(iterator.consumer.reader.idleBufferCount <= readAhead + 1)
      try await file.close()
    }
  }

  /// The consuming task is cancelled while a read waits in the kernel (a
  /// FIFO nobody writes): the read is cancelled, its buffer lives until its
  /// CQE, the stream's file is closed exactly once, nothing leaks.
  @Test(.ownsProcess) func cancellingAStreamMidwayKeepsMemoryAndClosesOnce() async throws {
    let scratch = try ScratchDirectory("cancel")
    defer { scratch.remove() }
    let fifo = scratch.path("fifo")
    #expect(mkfifo(fifo.string, 0o600) == 0)
    // O_RDWR on a FIFO does not wait for a reader; it keeps the FIFO open.
    let writer = try FileDescriptor.open(fifo, .readWrite)
    defer { try? writer.close() }
    let descriptorsBefore = openDescriptorCount()
    let buffers = BufferWatch()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      recorder.onPrepared.withLock {
        $0 = { userData, opcode, loop in
          guard opcode == .read else { return }
          let retained = loop.table.withEntry(userData) { $0.retained.0 }
          if let storage = retained as? ChunkStorage { buffers.prepared(userData, storage) }
        }
      }
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          guard opcode == .read else { return }
          buffers.completing(completion.userData, cancelled: completion.result == -ECANCELED)
        }
      }
      let fs = FileSystem(on: reactor)
      let stream = try await fs.readChunks(of: fifo, chunkSize: 4096)
      let closesBefore = recorder.preparedCount(.close)
      let consumer = Task(executorPreference: reactor) { () async -> (Int, IOError?) in
        var received = 0
        do {
          for try await chunk in stream { received += chunk.count }
          return (received, nil)
        } catch let error as IOError {
          return (received, error)
        } catch {
          return (received, nil)
        }
      }
      // The first read gets data; the second waits in the kernel.
      await recorder.waitUntilPrepared(.read, count: 1)
      _ = try writer.writeAll(patternBytes(4096, seed: 13))
      await recorder.waitUntilPrepared(.read, count: 2)
      consumer.cancel()
      let (received, error) = await consumer.value
      #expect(received == 4096)
      #expect(error?.kind == .cancelled)
      // Wait until the stream has closed its file (after the read's CQE).
      await recorder.waitUntilPrepared(.close, count: closesBefore + 1)
      for _ in 0..<3 { try await reactor.nop() }
      #expect(recorder.preparedCount(.close) == closesBefore + 1)
      #expect(buffers.cancelledWhileAlive == 1)
      #expect(buffers.completedWhileDead == 0)
    }
    #expect(buffers.allReleased)
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  /// Breaking out of the loop drops the iterator: the reads in flight are
  /// cancelled or drained and the owned file is closed once.
  @Test(.ownsProcess) func droppingTheIteratorClosesAnOwnedFileOnce() async throws {
    let scratch = try ScratchDirectory("drop")
    defer { scratch.remove() }
    try writeFileBlocking(scratch.path("f"), patternBytes(4 << 20, seed: 14))
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let withReactor = openDescriptorCount()
      let fs = FileSystem(on: reactor)
      let stream = try await fs.readChunks(
        of: scratch.path("f"), chunkSize: 256 << 10, readAhead: 4)
      var seen = 0
      for try await _ in stream {
        seen += 1
        if seen == 2 { break }
      }
      await recorder.waitUntilPrepared(.close, count: 1)
      try await reactor.nop()  // the close (prepared) has been submitted and reaped
      #expect(recorder.completedCount(.close) == 1)
      #expect(openDescriptorCount() == withReactor)
      // Reading to the end also closes it, once.
      var total = 0
      for try await chunk in try await fs.readChunks(of: scratch.path("f")) { total += chunk.count }
      #expect(total == 4 << 20)
      await recorder.waitUntilPrepared(.close, count: 2)
      for _ in 0..<3 { try await reactor.nop() }
      #expect(recorder.preparedCount(.close) == 2)
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test(.ownsProcess) func theReactorShuttingDownEndsAStreamWithAnError() async throws {
    let scratch = try ScratchDirectory("shutdown")
    defer { scratch.remove() }
    let fifo = scratch.path("fifo")
    #expect(mkfifo(fifo.string, 0o600) == 0)
    let writer = try FileDescriptor.open(fifo, .readWrite)
    defer { try? writer.close() }
    let descriptorsBefore = openDescriptorCount()
    let reactor = try Reactor()
    let recorder = OperationRecorder()
    try await recorder.install(on: reactor)
    let stream = try await FileSystem(on: reactor).readChunks(of: fifo)
    let consumer = Task(executorPreference: reactor) { () async -> IOError? in
      do {
        for try await _ in stream {}
        return nil
      } catch let error as IOError {
        return error
      } catch {
        return nil
      }
    }
    await recorder.waitUntilPrepared(.read, count: 1)
    await reactor.shutdown()
    #expect(await consumer.value?.kind == .reactorShutDown)
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func writerKeepsABoundedNumberOfWritesInFlight() async throws {
    let scratch = try ScratchDirectory("writer")
    defer { scratch.remove() }
    let payload = patternBytes(3 << 20 + 5, seed: 15)
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let inFlight = InFlightWatch()
      recorder.onPrepared.withLock {
        $0 = { _, opcode, _ in if opcode == .write { inFlight.began() } }
      }
      recorder.onCompleting.withLock {
        $0 = { _, opcode in if opcode == .write { inFlight.ended() } }
      }
      let file = try await File.open(
        scratch.path("f"), .writeOnly, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      let writer = file.writer(maxInFlight: 2, bufferSize: 256 << 10)
      // Pieces of odd sizes, copied into the writer's buffers.
      var offset = 0
      var size = 1
      while offset < payload.count {
        let end = min(payload.count, offset + size)
        try await writer.write(contentsOf: payload[offset..<end])
        offset = end
        size = size * 3 + 7
      }
      #expect(try await writer.finish() == UInt64(payload.count))
      #expect(inFlight.maximum <= 2)
      #expect(inFlight.maximum >= 1)
      try await file.close()
      #expect(try readFileBlocking(scratch.path("f")) == payload)
    }
  }

  /// Chunks go from the reader to the writer without a copy, and come back
  /// to the reader's buffers after each write's CQE.
  @Test func copyingWithChunksAndAWriter() async throws {
    let scratch = try ScratchDirectory("copy")
    defer { scratch.remove() }
    let payload = patternBytes(7 << 20 + 3, seed: 16)
    try writeFileBlocking(scratch.path("in"), payload)
    try await withReactor { reactor in
      let input = try await File.open(scratch.path("in"), .readOnly, on: reactor)
      let output = try await File.open(
        scratch.path("out"), .writeOnly, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      let writer = output.writer(maxInFlight: 3)
      let chunks = input.chunks(chunkSize: 512 << 10, readAhead: 3)
      var iterator = chunks.makeAsyncIterator()
      while let chunk = try await iterator.next() { try await writer.write(chunk) }
      #expect(try await writer.finish() == UInt64(payload.count))
      // Every buffer went back: readAhead + 1 kept, none lost.
      #expect(iterator.consumer.reader.idleBufferCount <= 4)
      #expect(iterator.consumer.reader.idleBufferCount >= 1)
      try await output.close()
      try await input.close()
      #expect(try readFileBlocking(scratch.path("out")) == payload)
    }
  }

  @Test func aFailedWriteFailsTheWriter() async throws {
    let scratch = try ScratchDirectory("writer-error")
    defer { scratch.remove() }
    try writeFileBlocking(scratch.path("f"), [1])
    try await withReactor { reactor in
      // Opened read-only: every write fails with EBADF.
      let file = try await File.open(scratch.path("f"), .readOnly, on: reactor)
      let writer = file.writer(maxInFlight: 1)
      try await writer.write(contentsOf: [1, 2, 3])  // submitted; fails later
      await #expect(
        throws: IOError(.system(.badFileDescriptor), operation: .write, path: scratch.path("f"))
      ) {
        try await writer.write(contentsOf: [4, 5, 6])
      }
      await #expect(throws: IOError.self) { try await writer.finish() }
      try await file.close()
    }
  }
}

/// Tracks the buffers of reads: alive at their CQE, released afterwards.
final class BufferWatch: Sendable {
  private struct State {
    var buffers: [UInt64: WeakStorage] = [:]
    var cancelledWhileAlive = 0
    var completedWhileDead = 0
  }
  private struct WeakStorage { weak var storage: ChunkStorage? }
  private let state = Locked(State())

  func prepared(_ userData: UInt64, _ storage: ChunkStorage) {
    state.withLock { $0.buffers[userData] = WeakStorage(storage: storage) }
  }

  func completing(_ userData: UInt64, cancelled: Bool) {
    state.withLock { state in
      let alive = state.buffers[userData]?.storage != nil
      if !alive { state.completedWhileDead += 1 }
      if cancelled && alive { state.cancelledWhileAlive += 1 }
    }
  }

  var cancelledWhileAlive: Int { state.withLock { $0.cancelledWhileAlive } }
  var completedWhileDead: Int { state.withLock { $0.completedWhileDead } }
  var allReleased: Bool { state.withLock { $0.buffers.values.allSatisfy { $0.storage == nil } } }
}

/// Counts operations in flight and remembers the most at once.
final class InFlightWatch: Sendable {
  private let state = Locked((current: 0, maximum: 0))
  func began() {
    state.withLock { state in
      state.current += 1
      state.maximum = max(state.maximum, state.current)
    }
  }
  func ended() { state.withLock { $0.current -= 1 } }
  var maximum: Int { state.withLock { $0.maximum } }
}
