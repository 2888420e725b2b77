import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// `IODeadline` applied to the operations a ``FileChunks`` stream or a
/// ``FileWriter`` submits on the caller's behalf. Expiry is kernel-driven
/// (`IORING_OP_LINK_TIMEOUT`): deadlines are in the past or a few ms ahead,
/// and no test asserts a timing.
@Suite(.requiresUring, .sharesProcess)
struct StreamDeadlineTests {
  /// A stream created inside a short scope over a pipe nobody writes: its
  /// read is linked to a timeout, times out in the kernel, and `next()`
  /// throws `.timedOut` even though it is called outside the scope (the
  /// stream took the deadline when it was created). The buffer stays with
  /// the kernel until the read's CQE; the stream then ends cleanly.
  @Test(.ownsProcess) func chunksOfAPipeThatNeverDeliversTimeOut() async throws {
    let before = openDescriptorCount()
    let buffers = BufferWatch()
    try await withPipeReader { reactor, file, _, recorder in
      let baseline = await inspect(reactor) { $0.table.count }
      watchBuffers(of: .read, with: recorder, in: buffers)
      let stream = await IODeadline.withTimeout(.milliseconds(5)) {
        file.chunks(from: nil, chunkSize: 64)
      }
      var iterator = stream.makeAsyncIterator()
      let error = await #expect(throws: IOError.self) { _ = try await iterator.next() }
      #expect(error?.kind == .timedOut)
      #expect(error?.operation == .read)
      #expect(error?.errno == .timedOut)
      #expect(try await iterator.next() == nil, "the stream ends after its error")
      #expect(try await iterator.next() == nil)
      #expect(recorder.preparedCount(.linkTimeout) == recorder.preparedCount(.read))
      #expect(recorder.preparedCount(.read) <= 1, "one read at a time at the file position")
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      #expect(buffers.completedWhileDead == 0)
      try await file.close()
    }
    #expect(buffers.allReleased)
    #expect(openDescriptorCount() == before)
  }

  /// `readChunks(of:)` inside a scope, over a FIFO nobody writes: the loop
  /// throws `.timedOut` and the stream closes the file it owns, once.
  @Test(.ownsProcess) func aStreamThatOwnsItsFileClosesItOnceAfterTimingOut() async throws {
    let scratch = try ScratchDirectory("stream-deadline")
    defer { scratch.remove() }
    let fifo = scratch.path("fifo")
    #expect(mkfifo(fifo.string, 0o600) == 0)
    // O_RDWR on a FIFO does not wait for a reader; it keeps the FIFO open.
    let keeper = try FileDescriptor.open(fifo, .readWrite)
    defer { try? keeper.close() }
    let before = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let fs = FileSystem(on: reactor)
      // The open and the statx are due by the deadline too: leave them room.
      let error = await #expect(throws: IOError.self) {
        try await IODeadline.withTimeout(.milliseconds(250)) { () async throws(IOError) in
          for try await _ in try await fs.readChunks(of: fifo, chunkSize: 4096) {
            Issue.record("nothing was written to the FIFO")
          }
        }
      }
      #expect(error?.kind == .timedOut)
      #expect(error?.operation == .read)
      #expect(error?.path == fifo)
      await recorder.waitUntilPrepared(.close, count: 1)
      for _ in 0..<3 { try await reactor.nop() }
      #expect(recorder.preparedCount(.close) == 1)
    }
    #expect(openDescriptorCount() == before)
  }

  /// A far deadline changes nothing: the data read and written are the
  /// same, each read and each write carries its linked timeout, and every
  /// slot is released.
  @Test func aDistantDeadlineChangesNothing() async throws {
    let scratch = try ScratchDirectory("stream-deadline-far")
    defer { scratch.remove() }
    let payload = patternBytes(3 << 20 + 777, seed: 21)
    try writeFileBlocking(scratch.path("in"), payload)
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let baseline = await inspect(reactor) { $0.table.count }
      let input = try await File.open(scratch.path("in"), .readOnly, on: reactor)
      let output = try await File.open(
        scratch.path("out"), .writeOnly, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      let linkTimeoutsBefore = recorder.preparedCount(.linkTimeout)
      // Reading in a scope, writing with an explicit deadline.
      let written = try await IODeadline.withTimeout(.seconds(3600)) {
        () async throws(IOError) -> UInt64 in
        let writer = output.writer(
          maxInFlight: 3, bufferSize: 128 << 10, deadline: .now + .seconds(3600))
        var collected: [UInt8] = []
        for try await chunk in input.chunks(chunkSize: 256 << 10, readAhead: 3) {
          collected += chunk.bytes
          try await writer.write(chunk)
        }
        #expect(collected == payload)
        return try await writer.finish()
      }
      #expect(written == UInt64(payload.count))
      let operations = recorder.preparedCount(.read) + recorder.preparedCount(.write)
      #expect(recorder.preparedCount(.write) >= 13)
      #expect(recorder.preparedCount(.linkTimeout) - linkTimeoutsBefore == operations)
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      try await output.close()
      try await input.close()
      #expect(try readFileBlocking(scratch.path("out")) == payload)
    }
  }

  /// A writer created inside a short scope, writing into a full pipe: its
  /// write waits in the kernel until its linked timeout cancels it; the
  /// writer fails with `.timedOut`, and its buffer was kept until the CQE.
  @Test(.ownsProcess) func aWriterIntoAFullPipeTimesOut() async throws {
    let before = openDescriptorCount()
    let buffers = BufferWatch()
    try await withReactor { reactor in
      let fds = try FileDescriptor.pipe()
      try fill(fds.writeEnd)
      let file = File(adopting: fds.writeEnd, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let baseline = await inspect(reactor) { $0.table.count }
      watchBuffers(of: .write, with: recorder, in: buffers)
      let writer = await IODeadline.withTimeout(.milliseconds(5)) {
        file.writer(startingAt: nil)
      }
      let error = await #expect(throws: IOError.self) {
        try await writer.write(contentsOf: [1, 2, 3])
        try await writer.finish()
      }
      #expect(error?.kind == .timedOut)
      #expect(error?.operation == .write)
      #expect(error?.errno == .timedOut)
      // The writer has failed: nothing more is written.
      await #expect(throws: IOError(.timedOut, operation: .write)) {
        try await writer.write(contentsOf: [4])
      }
      await #expect(throws: IOError(.timedOut, operation: .write)) { try await writer.finish() }
      #expect(recorder.preparedCount(.write) <= 1)
      #expect(recorder.preparedCount(.linkTimeout) == recorder.preparedCount(.write))
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      #expect(buffers.completedWhileDead == 0)
      try await file.close()
      try fds.readEnd.close()
    }
    #expect(buffers.allReleased)
    #expect(openDescriptorCount() == before)
  }

  /// A deadline already past submits nothing: the stream's first `next()`
  /// and the writer's first write throw `.timedOut` at once.
  @Test func anExpiredDeadlineSubmitsNothing() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let past = ContinuousClock.now - .milliseconds(1)
      _ = try writeEnd.writeAll([1, 2, 3])  // data is there, yet too late
      var iterator = file.chunks(from: nil, deadline: past).makeAsyncIterator()
      await #expect(throws: IOError(.timedOut, operation: .read)) {
        _ = try await iterator.next()
      }
      #expect(try await iterator.next() == nil)
      let pipe = try FileDescriptor.pipe()
      let output = File(adopting: pipe.writeEnd, on: reactor)
      let writer = output.writer(startingAt: nil, deadline: past)
      await #expect(throws: IOError(.timedOut, operation: .write)) {
        try await writer.write(contentsOf: [4, 5, 6])
      }
      await #expect(throws: IOError(.timedOut, operation: .write)) { try await writer.finish() }
      #expect(recorder.preparedCount(.read) == 0)
      #expect(recorder.preparedCount(.write) == 0)
      #expect(recorder.preparedCount(.linkTimeout) == 0)
      try await output.close()
      try pipe.readEnd.close()
      try await file.close()
    }
  }

  /// Task cancellation still wins over a distant deadline, for a stream's
  /// read and for a writer's write, each waiting in the kernel.
  @Test(.ownsProcess) func cancellationWinsOverADeadline() async throws {
    let before = openDescriptorCount()
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let baseline = await inspect(reactor) { $0.table.count }
      // A stream over a pipe nobody writes.
      let empty = try FileDescriptor.pipe()
      let input = File(adopting: empty.readEnd, on: reactor)
      let consumer = Task(executorPreference: reactor) {
        try await IODeadline.withTimeout(.seconds(3600)) { () async throws(IOError) in
          for try await _ in input.chunks(from: nil) { Issue.record("nothing was written") }
        }
      }
      await recorder.waitUntilPrepared(.read, count: 1)
      consumer.cancel()
      await #expect(throws: IOError(.cancelled, operation: .read)) { try await consumer.value }
      // A writer into a full pipe.
      let full = try FileDescriptor.pipe()
      try fill(full.writeEnd)
      let output = File(adopting: full.writeEnd, on: reactor)
      let producer = Task(executorPreference: reactor) {
        let writer = output.writer(startingAt: nil, deadline: .now + .seconds(3600))
        try await writer.write(contentsOf: [1, 2, 3])
        try await writer.finish()
      }
      await recorder.waitUntilPrepared(.write, count: 1)
      producer.cancel()
      await #expect(throws: IOError(.cancelled, operation: .write)) { try await producer.value }
      #expect(recorder.preparedCount(.linkTimeout) == 2)
      try await waitOnLoop(reactor) { $0.table.count == baseline }
      try await input.close()
      try await output.close()
      try empty.writeEnd.close()
      try full.readEnd.close()
    }
    #expect(openDescriptorCount() == before)
  }
}

/// `F_SETPIPE_SZ` (`<fcntl.h>`, `_GNU_SOURCE` only): not imported.
private let setPipeSize: CInt = 1031

/// Shrinks the pipe to one page and fills it, so that a write to it waits
/// in the kernel until someone reads. Leaves the descriptor blocking (a
/// non-blocking one would make io_uring answer `EAGAIN` instead of waiting).
private func fill(_ writeEnd: FileDescriptor) throws {
  let fd = writeEnd.rawValue
  #expect(fcntl(fd, setPipeSize, CInt(getpagesize())) >= 0)
  let flags = fcntl(fd, F_GETFL)
  #expect(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
  let page = [UInt8](repeating: 0xAB, count: Int(getpagesize()))
  while true {
    let count = page.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    if count < 0 {
      #expect(errno == EAGAIN)
      break
    }
  }
  #expect(fcntl(fd, F_SETFL, flags) == 0)
}

/// Records the buffers of `opcode`'s operations in `buffers`: whether each
/// is alive at its CQE, and released afterwards.
private func watchBuffers(
  of opcode: Opcode, with recorder: OperationRecorder, in buffers: BufferWatch
) {
  recorder.onPrepared.withLock {
    $0 = { userData, prepared, loop in
      guard prepared == opcode else { return }
      let retained = loop.table.withEntry(userData) { $0.retained.0 }
      if let storage = retained as? ChunkStorage { buffers.prepared(userData, storage) }
    }
  }
  recorder.onCompleting.withLock {
    $0 = { completion, completed in
      guard completed == opcode else { return }
      buffers.completing(completion.userData, cancelled: completion.result == -ECANCELED)
    }
  }
}
