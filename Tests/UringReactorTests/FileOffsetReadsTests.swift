import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// ``FileOffsetReads``: `File.reads(at:size:depth:)` reads `size` bytes at
/// each offset of a sequence, the chunks in the sequence's order, with at
/// most `depth` reads in flight or waiting. Deterministic: reads that must
/// stay in flight read an empty pipe (a pipe ignores the offset and waits
/// for data); the rest waits on CQEs counted by an ``OperationRecorder``.
@Suite(.requiresUring, .sharesProcess)
struct FileOffsetReadsTests {
  /// Differential against `pread(2)`: the same offsets (inside the file,
  /// straddling its end, at it, past it, far past it) give the same bytes,
  /// at depth 1, 7 and 64, with a size that does not divide the file.
  @Test(.ownsProcess, arguments: [1, 7, 64]) func readsMatchPreadAtRandomOffsets(depth: Int)
    async throws
  {
    let scratch = try ScratchDirectory("offset-reads-pread")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let fileSize = 256 << 10 + 777
    try writeFileBlocking(path, patternBytes(fileSize, seed: 51))
    let size = 3000
    var generator = SeededGenerator(seed: 52)
    var offsets = (0..<500).map { _ in generator.next() % UInt64(fileSize + 2 * size) }
    offsets += [
      0, UInt64(fileSize - 1), UInt64(fileSize - size), UInt64(fileSize), UInt64(fileSize + 1),
      1 << 40, UInt64(Int64.max) - UInt64(size), 0,
    ]
    let expected = try preadAll(path, offsets: offsets, size: size)
    let before = openDescriptorCount()
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      var index = 0
      for try await chunk in file.reads(at: offsets, size: size, depth: depth) {
        #expect(chunk.offset == offsets[index])
        #expect(chunk.bytes == expected[index], "offset \(offsets[index])")
        index += 1
      }
      #expect(index == offsets.count)
      try await file.close()
    }
    #expect(openDescriptorCount() == before)
  }

  /// Chunks come in the order of the offsets, whatever that order is
  /// (descending, repeated), and each carries its offset.
  @Test func chunksComeInTheOrderOfTheOffsets() async throws {
    let scratch = try ScratchDirectory("offset-reads-order")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let payload = patternBytes(64 * 512, seed: 53)
    try writeFileBlocking(path, payload)
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      let offsets = (0..<64).reversed().map { UInt64($0 * 512) } + [0, 0, 512, 0]
      var seen: [UInt64?] = []
      for try await chunk in file.reads(at: offsets, size: 512, depth: 16) {
        seen.append(chunk.offset)
        let start = Int(chunk.offset!)
        #expect(chunk.bytes == Array(payload[start..<start + 512]))
      }
      #expect(seen == offsets)
      try await file.close()
    }
  }

  /// An empty sequence: no chunk, no read, every time it is iterated.
  @Test func anEmptySequenceReadsNothing() async throws {
    try await withPipeReader { reactor, file, _, recorder in
      let stream = file.reads(at: [UInt64](), size: 4096)
      var iterator = stream.makeAsyncIterator()
      #expect(try await iterator.next() == nil)
      #expect(try await iterator.next() == nil)
      for try await _ in stream { Issue.record("no offsets, no chunk") }
      #expect(recorder.preparedCount(.read) == 0)
      try await file.close()
    }
  }

  /// A slow consumer: after it has taken `k` chunks, at most `k + depth`
  /// reads were ever issued, and the loop going round issues none. The
  /// offsets are endless (`0...`): they are drawn as reads are issued.
  @Test func readsAreBoundedByDepthWhenTheConsumerIsSlow() async throws {
    let scratch = try ScratchDirectory("offset-reads-backpressure")
    defer { scratch.remove() }
    let path = scratch.path("f")
    try writeFileBlocking(path, patternBytes(1 << 20, seed: 54))
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let inFlight = InFlightWatch()
      recorder.onPrepared.withLock {
        $0 = { _, opcode, _ in if opcode == .read { inFlight.began() } }
      }
      recorder.onCompleting.withLock {
        $0 = { _, opcode in if opcode == .read { inFlight.ended() } }
      }
      let depth = 5
      var iterator = file.reads(at: UInt64(0)..., size: 4096, depth: depth).makeAsyncIterator()
      for taken in 1...40 {
        let chunk = try #require(try await iterator.next())
        #expect(chunk.offset == UInt64(taken - 1))
        #expect(recorder.preparedCount(.read) <= taken + depth)
        if taken == 3 {
          // The reads issued meanwhile all complete; nothing more is read
          // until the consumer asks.
          for _ in 0..<20 { try await reactor.nop() }
          #expect(recorder.preparedCount(.read) == taken + depth)
          #expect(recorder.completedCount(.read) == taken + depth)
        }
      }
      #expect(inFlight.maximum <= depth)
      #expect(iterator.consumer.reader.idleBufferCount <= depth + 1)
      try await file.close()
    }
  }

  /// A read that cannot be submitted (an offset past `Int64.max`) is thrown
  /// in its turn, after the chunks of the offsets before it; no read is
  /// issued after it; the stream then ends.
  @Test func aRefusedReadIsThrownInItsTurn() async throws {
    let scratch = try ScratchDirectory("offset-reads-refused")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let payload = patternBytes(16 << 10, seed: 55)
    try writeFileBlocking(path, payload)
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let baseline = await inspect(reactor) { $0.table.count }
      let offsets: [UInt64] = [4096, 0, UInt64(Int64.max) + 1, 8192, 0]
      var iterator = file.reads(at: offsets, size: 4096, depth: 8).makeAsyncIterator()
      #expect(try await iterator.next()?.bytes == Array(payload[4096..<8192]))
      #expect(try await iterator.next()?.bytes == Array(payload[0..<4096]))
      let error = await #expect(throws: IOError.self) { _ = try await iterator.next() }
      guard case .invalidRequest = error?.kind else {
        Issue.record("expected .invalidRequest, got \(String(describing: error))")
        return
      }
      #expect(error?.operation == .read)
      #expect(try await iterator.next() == nil, "the stream ends after its error")
      #expect(recorder.preparedCount(.read) == 2, "nothing is issued after the refused read")
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      try await file.close()
    }
  }

  /// A deadline already past submits nothing: the first `next()` throws
  /// `.timedOut`, whether the deadline was passed in or came from the
  /// ``IODeadline`` scope the stream was created in.
  @Test func aDeadlinePastSubmitsNothing() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      _ = try writeEnd.writeAll([1, 2, 3])  // data is there, yet too late
      let past = ContinuousClock.now - .milliseconds(1)
      var iterator = file.reads(at: [0, 0], size: 16, deadline: past).makeAsyncIterator()
      await #expect(throws: IOError(.timedOut, operation: .read)) {
        _ = try await iterator.next()
      }
      #expect(try await iterator.next() == nil)
      let scoped = await IODeadline.withDeadline(past) { file.reads(at: [0], size: 16) }
      var second = scoped.makeAsyncIterator()
      await #expect(throws: IOError(.timedOut, operation: .read)) { _ = try await second.next() }
      #expect(recorder.preparedCount(.read) == 0)
      #expect(recorder.preparedCount(.linkTimeout) == 0)
      try await file.close()
    }
  }

  /// A deadline still ahead changes nothing but the linking: every read the
  /// stream submits goes with an `IORING_OP_LINK_TIMEOUT`, and every chunk
  /// comes as without it.
  @Test func aDistantDeadlineLinksEveryRead() async throws {
    let scratch = try ScratchDirectory("offset-reads-deadline")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let payload = patternBytes(64 << 10, seed: 60)
    try writeFileBlocking(path, payload)
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let offsets = (0..<40).map { UInt64(($0 * 7919) % 60_000) }
      var index = 0
      let stream = file.reads(at: offsets, size: 1000, depth: 8, deadline: .now + .seconds(3600))
      for try await chunk in stream {
        let start = Int(offsets[index])
        #expect(chunk.bytes == Array(payload[start..<start + 1000]))
        index += 1
      }
      #expect(index == offsets.count)
      #expect(recorder.preparedCount(.read) == offsets.count)
      #expect(recorder.preparedCount(.linkTimeout) == offsets.count)
      try await file.close()
    }
  }

  /// The consuming task is cancelled while four reads wait in the kernel
  /// (an empty pipe): every one is cancelled (`IORING_OP_ASYNC_CANCEL`),
  /// its buffer lives until its CQE, `next()` throws `.cancelled` after the
  /// chunk already read, and nothing leaks.
  @Test(.ownsProcess) func cancellingTheConsumerMidwayKeepsBuffersUntilTheirCQEs() async throws {
    let before = openDescriptorCount()
    let buffers = BufferWatch()
    try await withPipeReader { reactor, file, writeEnd, recorder in
      watch(buffers, with: recorder)
      let baseline = await inspect(reactor) { $0.table.count }
      // The first read, submitted first, takes these bytes at once; the
      // three after it, and the one issued when the chunk is taken, wait.
      _ = try writeEnd.writeAll(patternBytes(4096, seed: 56))
      let stream = file.reads(at: Array(repeating: 0, count: 100), size: 4096, depth: 4)
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
      await recorder.waitUntilPrepared(.read, count: 5)
      consumer.cancel()
      let (received, error) = await consumer.value
      #expect(received == 4096)
      #expect(error?.kind == .cancelled)
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      #expect(recorder.preparedCount(.read) == 5)
      #expect(recorder.preparedCount(.asyncCancel) == 4)
      #expect(buffers.cancelledWhileAlive == 4)
      #expect(buffers.completedWhileDead == 0)
      try await file.close()
    }
    #expect(buffers.allReleased)
    #expect(openDescriptorCount() == before)
  }

  /// Breaking out of the loop drops the iterator: the reads waiting in the
  /// kernel are cancelled, their buffers kept until their CQEs, and the
  /// file (which the stream does not own) stays open and usable.
  @Test(.ownsProcess) func droppingTheIteratorCancelsTheReadsInFlight() async throws {
    let before = openDescriptorCount()
    let buffers = BufferWatch()
    try await withPipeReader { reactor, file, writeEnd, recorder in
      watch(buffers, with: recorder)
      let baseline = await inspect(reactor) { $0.table.count }
      _ = try writeEnd.writeAll(patternBytes(100, seed: 57))
      var seen = 0
      for try await chunk in file.reads(at: [0, 0, 0, 0, 0, 0], size: 4096, depth: 3) {
        #expect(chunk.count == 100, "a short read is a short chunk")
        seen += 1
        break
      }
      #expect(seen == 1)
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      #expect(recorder.preparedCount(.read) == 4)
      #expect(recorder.preparedCount(.asyncCancel) == 3)
      #expect(buffers.cancelledWhileAlive == 3)
      #expect(buffers.completedWhileDead == 0)
      // The file is still the caller's.
      _ = try writeEnd.writeAll([7, 8, 9])
      var more = file.reads(at: [0], size: 16).makeAsyncIterator()
      #expect(try await more.next()?.bytes == [7, 8, 9])
      try await file.close()
    }
    #expect(buffers.allReleased)
    #expect(openDescriptorCount() == before)
  }

  /// With `O_DIRECT`, a misaligned offset is refused with
  /// `.invalidRequest` in its turn, after the aligned reads before it.
  @Test(.ownsProcess, .needsDirectIO) func aMisalignedDirectOffsetIsRefusedInItsTurn() async throws
  {
    let scratch = try ScratchDirectory("offset-reads-direct")
    defer { scratch.remove() }
    let path = scratch.path("f")
    let before = openDescriptorCount()
    try await withReactor { reactor in
      let probe = try await File.open(path, .readWrite, options: [.create, .directIO], on: reactor)
      let block = try #require(probe.directIO).offset
      try await probe.close()
      let size = (4096 + block - 1) / block * block
      let payload = patternBytes(4 * size, seed: 58)
      try writeFileBlocking(path, payload)
      let file = try await File.open(path, .readOnly, options: [.directIO], on: reactor)
      let offsets = [UInt64(2 * size), 0, UInt64(size + block / 2), 0]
      var iterator = file.reads(at: offsets, size: size, depth: 4).makeAsyncIterator()
      #expect(try await iterator.next()?.bytes == Array(payload[2 * size..<3 * size]))
      #expect(try await iterator.next()?.bytes == Array(payload[0..<size]))
      let error = await #expect(throws: IOError.self) { _ = try await iterator.next() }
      guard case .invalidRequest(let reason) = error?.kind else {
        Issue.record("expected .invalidRequest, got \(String(describing: error))")
        return
      }
      #expect(reason.contains("O_DIRECT"))
      #expect(try await iterator.next() == nil)
      // Aligned reads at and past the end give a short and an empty chunk.
      var counts: [Int] = []
      for try await chunk in file.reads(at: [UInt64(3 * size), UInt64(8 * size)], size: 2 * size) {
        counts.append(chunk.count)
      }
      #expect(counts == [size, 0])
      try await file.close()
    }
    #expect(openDescriptorCount() == before)
  }
}

/// The ring the chunk streams keep their reads in, against an array doing
/// the same random operations (growth, wrapping, prepending, searching,
/// removing) in the same order.
@Suite(.sharesProcess) struct ReadQueueTests {
  @Test func behavesLikeAnArray() {
    var generator = SeededGenerator(seed: 59)
    var queue = ReadQueue<Int>(capacity: 3)
    var model: [Int] = []
    var next = 0
    for _ in 0..<5_000 {
      switch generator.next() % 6 {
      case 0, 1:
        queue.append(next)
        model.append(next)
        next += 1
      case 2:
        queue.prepend(next)
        model.insert(next, at: 0)
        next += 1
      case 3:
        if !model.isEmpty { #expect(queue.removeFirst() == model.removeFirst()) }
      case 4:
        let target = model.isEmpty ? -1 : model[Int(generator.next() % UInt64(model.count))]
        #expect(queue.firstPosition { $0 == target } == model.firstIndex(of: target))
        if let position = model.firstIndex(of: target) { queue[position] += 1_000_000 }
        if let position = model.firstIndex(of: target) { model[position] += 1_000_000 }
      default:
        let modulus = Int(generator.next() % 7) + 2
        queue.removeAll { $0 % modulus == 0 }
        model.removeAll { $0 % modulus == 0 }
      }
      #expect(queue.count == model.count)
      #expect(queue.first == model.first)
    }
    #expect((0..<queue.count).map { queue[$0] } == model)
  }
}

/// `pread(2)` of `size` bytes at each offset, blocking: the bytes read.
private func preadAll(_ path: FilePath, offsets: [UInt64], size: Int) throws -> [[UInt8]] {
  let fd = try FileDescriptor.open(path, .readOnly)
  defer { try? fd.close() }
  var buffer = [UInt8](repeating: 0, count: size)
  return try offsets.map { offset in
    let count = buffer.withUnsafeMutableBytes {
      pread(fd.rawValue, $0.baseAddress, size, off_t(offset))
    }
    guard count >= 0 else { throw Errno(rawValue: errno) }
    return Array(buffer[..<count])
  }
}

/// Records, for every read, whether its buffer is alive at its CQE.
private func watch(_ buffers: BufferWatch, with recorder: OperationRecorder) {
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
}
