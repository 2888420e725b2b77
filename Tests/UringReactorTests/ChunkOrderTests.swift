import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// A ``FileChunks`` stream hands out its reads in file order, errors
/// included: a read that fails, or that cannot even be submitted (refused:
/// `O_DIRECT` misalignment, a closed file, a deadline already past), is
/// thrown by `next()` after the chunks of the reads before it, never
/// instead of them; the stream then ends. Deterministic: each refusal is
/// provoked on purpose, and the tests wait on CQEs, not on time (one waits
/// for a deadline, as the kernel's linked timeout reports it).
@Suite(.requiresUring, .sharesProcess)
struct ChunkOrderTests {
  /// An owned `O_DIRECT` stream whose `length` ends off a block: the last
  /// read is refused as misaligned when the stream issues its read-ahead,
  /// while the two reads before it are in flight. `next()` hands out both
  /// chunks, then throws `.invalidRequest`, then ends; the refused read
  /// submitted nothing, and the file is closed once, after the last CQE.
  @Test(.ownsProcess, .needsDirectIO) func aMisalignedDirectReadIsThrownAfterTheChunksBeforeIt()
    async throws
  {
    let scratch = try ScratchDirectory("chunk-order-direct")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let before = openDescriptorCount()
    try await withReactor { reactor in
      let probe = try await File.open(path, .readWrite, options: [.create, .directIO], on: reactor)
      let block = try #require(probe.directIO).offset
      try await probe.close()
      let chunkSize = (4096 + block - 1) / block * block
      let payload = patternBytes(3 * chunkSize, seed: 31)
      try writeFileBlocking(path, payload)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let baseline = await inspect(reactor) { $0.table.count }
      let file = try await File.open(path, .readOnly, options: [.directIO], on: reactor)
      let closesBefore = recorder.preparedCount(.close)
      // Two whole chunks, then half a block: the third read is misaligned.
      let stream = FileChunks(
        file: file, ownsFile: true, start: 0, length: UInt64(2 * chunkSize + block / 2),
        chunkSize: chunkSize, readAhead: 4, deadline: nil)
      var iterator = stream.makeAsyncIterator()
      let first = try #require(try await iterator.next())
      #expect(first.offset == 0)
      #expect(first.bytes == Array(payload[0..<chunkSize]))
      let second = try #require(try await iterator.next())
      #expect(second.offset == UInt64(chunkSize))
      #expect(second.bytes == Array(payload[chunkSize..<2 * chunkSize]))
      let error = await #expect(throws: IOError.self) { _ = try await iterator.next() }
      guard case .invalidRequest(let reason) = error?.kind else {
        Issue.record("expected .invalidRequest, got \(String(describing: error))")
        return
      }
      #expect(reason.contains("O_DIRECT"))
      #expect(error?.operation == .read)
      #expect(error?.path == path)
      #expect(try await iterator.next() == nil, "the stream ends after its error")
      #expect(try await iterator.next() == nil)
      #expect(recorder.preparedCount(.read) == 2, "the refused read submitted nothing")
      await recorder.waitUntilPrepared(.close, count: closesBefore + 1)
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      #expect(recorder.preparedCount(.close) == closesBefore + 1, "closed once")
      #expect(iterator.consumer.reader.idleBufferCount <= 5)

      // Without a `length`, the same file read to its end: the last read
      // comes back short at a count off a block (the end of the file), is
      // handed out as it is (no read of the rest), and the stream ends.
      try writeFileBlocking(path, Array(payload[0..<(2 * chunkSize + block / 2)]))
      let whole = try await File.open(path, .readOnly, options: [.directIO], on: reactor)
      var counts: [Int] = []
      var collected: [UInt8] = []
      for try await chunk in whole.chunks(chunkSize: chunkSize, readAhead: 2) {
        counts.append(chunk.count)
        collected += chunk.bytes
      }
      #expect(counts == [chunkSize, chunkSize, block / 2])
      #expect(collected == Array(payload[0..<(2 * chunkSize + block / 2)]))
      try await whole.close()
    }
    #expect(openDescriptorCount() == before)
  }

  /// The file is closed under a stream with `readAhead` 3, once the stream
  /// has three reads done ahead of the consumer: the next read it issues
  /// is refused with `EBADF`. The three chunks come first, then `EBADF`,
  /// then the end. The stream owns the file, found closed already: it does
  /// not close it again (one close in all), and nothing leaks.
  @Test(.ownsProcess) func aReadRefusedForAClosedFileIsThrownAfterTheChunksBeforeIt() async throws {
    let scratch = try ScratchDirectory("chunk-order-ebadf")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let chunkSize = 4096
    let payload = patternBytes(8 * chunkSize, seed: 32)
    try writeFileBlocking(path, payload)
    let before = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let baseline = await inspect(reactor) { $0.table.count }
      let file = try await File.open(path, .readOnly, on: reactor)
      let stream = FileChunks(
        file: file, ownsFile: true, start: 0, length: nil, chunkSize: chunkSize, readAhead: 3,
        deadline: nil)
      var iterator = stream.makeAsyncIterator()
      #expect(try await iterator.next()?.offset == 0)
      // The first call issued three reads and, handing one out, a fourth.
      #expect(recorder.preparedCount(.read) == 4)
      try await waitOnLoop(reactor) { _ in recorder.completedCount(.read) == 4 }
      try await file.close()
      #expect(recorder.preparedCount(.close) == 1)
      var offsets: [UInt64?] = []
      for _ in 0..<3 {
        let chunk = try #require(try await iterator.next())
        offsets.append(chunk.offset)
        #expect(chunk.bytes == Array(payload[Int(chunk.offset!)..<Int(chunk.offset!) + chunkSize]))
      }
      #expect(offsets == [4096, 8192, 12288])
      await #expect(throws: IOError(.system(.badFileDescriptor), operation: .read, path: path)) {
        _ = try await iterator.next()
      }
      #expect(try await iterator.next() == nil, "the stream ends after its error")
      #expect(recorder.preparedCount(.read) == 4, "the refused read submitted nothing")
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      for _ in 0..<3 { try await reactor.nop() }
      #expect(recorder.preparedCount(.close) == 1, "the stream does not close it again")
    }
    #expect(openDescriptorCount() == before)
  }

  /// A deadline that passes between two reads of a stream: the reads
  /// submitted before it completed with their data, so their chunks come
  /// first; the next read is refused as late (it submits nothing), and
  /// `next()` throws `.timedOut` in its turn, then the stream ends. The
  /// test knows the deadline has passed because a pipe stream with the
  /// same deadline, which read its data and then waited in the kernel,
  /// timed out: the same order there (its chunk, then `.timedOut`).
  ///
  /// The deadline is 2 s ahead, for the stream's first three reads of
  /// cached data (microseconds each) to complete before it.
  @Test(.ownsProcess) func chunksBeforeAPassedDeadlineComeBeforeTimedOut() async throws {
    let scratch = try ScratchDirectory("chunk-order-deadline")
    defer { scratch.remove() }
    let chunkSize = 4096
    let payload = patternBytes(8 * chunkSize, seed: 33)
    try writeFileBlocking(scratch.path("f"), payload)
    let before = openDescriptorCount()
    try await withPipeReader { reactor, pipe, writeEnd, recorder in
      let baseline = await inspect(reactor) { $0.table.count }
      let file = try await File.open(scratch.path("f"), .readOnly, on: reactor)
      let deadline = ContinuousClock.now + .seconds(2)
      var iterator = file.chunks(chunkSize: chunkSize, readAhead: 2, deadline: deadline)
        .makeAsyncIterator()
      #expect(try await iterator.next()?.offset == 0)
      #expect(recorder.preparedCount(.read) == 3)
      try await waitOnLoop(reactor) { _ in recorder.completedCount(.read) == 3 }

      // Wait for the deadline: the pipe's data comes at once, its next read
      // waits until the kernel's linked timeout fires at the deadline.
      _ = try writeEnd.writeAll([1, 2, 3])
      var waiting = pipe.chunks(from: nil, chunkSize: 64, deadline: deadline).makeAsyncIterator()
      #expect(try await waiting.next()?.bytes == [1, 2, 3])
      await #expect(throws: IOError(.timedOut, operation: .read)) {
        _ = try await waiting.next()
      }
      #expect(try await waiting.next() == nil)
      let readsBefore = recorder.preparedCount(.read)

      // The file stream: the two chunks read before the deadline, then the
      // refused read's `.timedOut`.
      let second = try #require(try await iterator.next())
      #expect(second.offset == 4096)
      #expect(second.bytes == Array(payload[4096..<8192]))
      let third = try #require(try await iterator.next())
      #expect(third.offset == 8192)
      #expect(third.bytes == Array(payload[8192..<12288]))
      let error = await #expect(throws: IOError.self) { _ = try await iterator.next() }
      #expect(error?.kind == .timedOut)
      #expect(error?.operation == .read)
      #expect(error?.path == scratch.path("f"))
      #expect(try await iterator.next() == nil, "the stream ends after its error")
      #expect(recorder.preparedCount(.read) == readsBefore, "the late read submitted nothing")
      #expect(recorder.preparedCount(.linkTimeout) == recorder.preparedCount(.read))
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      try await file.close()
      try await pipe.close()
    }
    #expect(openDescriptorCount() == before)
  }
}
