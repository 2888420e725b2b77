import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Registered buffers through registered files: `IORING_OP_READ_FIXED` /
/// `WRITE_FIXED` with `IOSQE_FIXED_FILE` (``RegisteredFile/readFixed(into:at:)``).
@Suite(.requiresUring, .sharesProcess)
struct RegisteredFixedTests {
  @Test func fixedReadsAndWritesGoThroughTheTableSlot() async throws {
    let scratch = try ScratchDirectory("registered-fixed")
    defer { scratch.remove() }
    let payload = patternBytes(4096, seed: 5)
    // A hole, then bytes that the fixed read below overwrites.
    try writeFileBlocking(scratch.path("f"), [UInt8](repeating: 0, count: 8192) + [1, 2])
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let file = try await File.open(scratch.path("f"), .readWrite, on: reactor)
      let table = try await RegisteredFileTable.register(capacity: 1, on: reactor)
      let pool = try await RegisteredBufferPool.register(count: 2, bufferSize: 4096, on: reactor)
      do {
        let registered = try await table.insert(file)
        var lease = try await pool.next()
        lease.withMutableBytes { span in
          for (offset, byte) in payload.enumerated() {
            span.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
          }
          return payload.count
        }
        let written = await registered.writeFixed(from: lease, at: 8192)
        #expect(written.result == .success(4096))
        _ = consume written
        #expect(pool.lentCount == 0)

        // The slot holds the kernel's own reference: with the descriptor
        // closed, the plain fixed read is refused and the slot's still reads.
        try await file.close()
        let plain = await file.readFixed(into: try await pool.next(), at: 8192)
        #expect(plain.error?.kind == .system(.badFileDescriptor))
        _ = consume plain

        var read = await registered.readFixed(into: try await pool.next(), at: 8192)
        #expect(read.result == .success(4096))
        #expect(read.buffer.bytes == payload)
        read = await registered.readFixed(into: read.buffer, at: 8192 + 1000)
        #expect(read.bytesTransferred == 3096)
        #expect(read.buffer.bytes == Array(payload[1000...]))
        read = await registered.readFixed(into: read.buffer, at: 1 << 20)
        #expect(read.result == .success(0) && read.buffer.count == 0)
        // A hole reads as zeros.
        read = await registered.readFixed(into: read.buffer, at: 0)
        #expect(read.buffer.bytes == [UInt8](repeating: 0, count: 4096))
        _ = consume read
        #expect(recorder.preparedCount(.readFixed) == 4)
        #expect(recorder.preparedCount(.writeFixed) == 1)
      }
      try await drainTable(table, reactor)
      try await table.unregister()
      try await pool.unregister()
    }
  }

  @Test func leaseStaysLentUntilTheCompletionAndComesBackOnCancellation() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let table = try await RegisteredFileTable.register(capacity: 1, on: reactor)
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 64, on: reactor)
      do {
        let registered = try await table.insert(file)
        // In flight: a fixed read from a pipe nobody writes yet.
        let reader = Task(executorPreference: reactor) { () -> (Result<Int, IOError>, [UInt8]) in
          let outcome = await registered.readFixed(into: try! await pool.next())
          return (outcome.result, outcome.buffer.bytes)
        }
        await recorder.waitUntilPrepared(.readFixed, count: 1)
        #expect(pool.lentCount == 1 && pool.availableCount == 0)
        await #expect(throws: RegisteredBufferError(.buffersInUse(lent: 1))) {
          try await pool.unregister()
        }
        _ = try writeEnd.writeAll([4, 5, 6])
        let (result, bytes) = await reader.value
        #expect(result == .success(3) && bytes == [4, 5, 6])
        #expect(pool.lentCount == 0)

        // Cancelled in flight: ASYNC_CANCEL, and the lease comes back only
        // after the read's own CQE, still lent until the result is dropped.
        let cancelled = Task(executorPreference: reactor) { () -> (Result<Int, IOError>, Int) in
          let outcome = await registered.readFixed(into: try! await pool.next())
          return (outcome.result, pool.lentCount)
        }
        await recorder.waitUntilPrepared(.readFixed, count: 2)
        cancelled.cancel()
        let (cancelledResult, lentWhenBack) = await cancelled.value
        #expect(cancelledResult == .failure(IOError(.cancelled, operation: .readFixed)))
        #expect(lentWhenBack == 1)
        #expect(recorder.preparedCount(.asyncCancel) == 1)
        #expect(recorder.completedCount(.readFixed) == 2)
        #expect(pool.lentCount == 0 && pool.availableCount == 1)

        // Cancelled before it starts: nothing submitted, the lease returned.
        let early = Task(executorPreference: reactor) { () -> Result<Int, IOError> in
          let lease = try! await pool.next()
          unsafe withUnsafeCurrentTask { unsafe $0?.cancel() }
          return await registered.readFixed(into: lease).result
        }
        #expect(await early.value == .failure(IOError(.cancelled, operation: .readFixed)))
        #expect(recorder.preparedCount(.readFixed) == 2)
        #expect(pool.lentCount == 0)
      }
      try await drainTable(table, reactor)
      try await table.unregister()
      try await pool.unregister()
    }
  }

  @Test(.needsDirectIO) func misalignedAndForeignBuffersAreRefusedBeforeSubmission()
    async throws
  {
    let scratch = try ScratchDirectory("registered-fixed-direct")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let directFile = try await File.open(
        scratch.path("f"), .readWrite, options: [.create, .directIO], on: reactor)
      let table = try await RegisteredFileTable.register(capacity: 1, on: reactor)
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 4096, on: reactor)
      do {
        let registered = try await table.insert(directFile)
        let misaligned = await registered.readFixed(into: try await pool.next(), at: 100)
        #expect(misaligned.error?.operation == .readFixed)
        if case .invalidRequest = misaligned.error?.kind {
        } else {
          Issue.record("expected invalidRequest, got \(String(describing: misaligned.error))")
        }
        _ = consume misaligned
        try await withReactor { other in
          let foreign = try await RegisteredBufferPool.register(
            count: 1, bufferSize: 4096, on: other)
          let wrong = await registered.readFixed(into: try await foreign.next(), at: 0)
          #expect(wrong.error?.kind == .system(.invalidArgument))
          _ = consume wrong
          try await foreign.unregister()
        }
        #expect(recorder.preparedCount(.readFixed) == 0)
      }
      try await directFile.close()
      try await drainTable(table, reactor)
      try await table.unregister()
      try await pool.unregister()
    }
  }

  /// Waits until the table's slots are emptied (on the loop, after the last
  /// handle went).
  private func drainTable(_ table: RegisteredFileTable, _ reactor: Reactor) async throws {
    var spins = 0
    while table.count > 0, spins < 1000 {
      try await reactor.nop()
      spins += 1
    }
    #expect(table.count == 0)
  }
}
