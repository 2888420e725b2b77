import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct RegisteredBufferTests {
  // MARK: Ring layer

  @Test func ringRegistersOneBufferSetAtATime() throws {
    var ring = try Ring(options: .minimal)
    let size = 4096
    let memory = UnsafeMutableRawPointer.allocate(byteCount: 2 * size, alignment: size)
    defer { memory.deallocate() }
    let iovecs = [
      iovec(iov_base: memory, iov_len: size), iovec(iov_base: memory + size, iov_len: size),
    ]
    try ring.registerBuffers(iovecs)
    #expect(throws: RingRegistrationError(cause: .alreadyRegistered, errno: .resourceBusy)) {
      try ring.registerBuffers(iovecs)
    }
    try ring.unregisterBuffers()
    #expect(throws: RingRegistrationError(cause: .notRegistered, errno: .noSuchAddressOrDevice)) {
      try ring.unregisterBuffers()
    }
    #expect(throws: RingRegistrationError(cause: .invalidBuffers, errno: .invalidArgument)) {
      try ring.registerBuffers([])
    }
    // Registered again once the first set is gone.
    try ring.registerBuffers(iovecs)
    try ring.unregisterBuffers()
  }

  // MARK: Fixed I/O

  @Test func fixedWritesAndReadsRoundTrip() async throws {
    let path = FileTests.temporaryPath("fixed")
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let file = try await File.open(
        path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
        on: reactor)
      let pool = try await RegisteredBufferPool.register(count: 2, bufferSize: 4096, on: reactor)
      #expect(pool.isRegistered && pool.availableCount == 2 && pool.lentCount == 0)
      let payload = MemoryTests.pattern(3_000, seed: 9)

      var lease = try await pool.next()
      #expect(lease.count == 0 && lease.capacity == 4096)
      lease.withMutableBytes { span in
        for offset in payload.indices {
          span.storeBytes(of: payload[offset], toByteOffset: offset, as: UInt8.self)
        }
        return payload.count
      }
      #expect(pool.lentCount == 1)
      let written = await file.writeFixed(from: lease, at: 0)
      #expect(written.result == .success(3_000))
      #expect(written.buffer.count == 3_000)
      _ = consume written
      #expect(pool.lentCount == 0, "releasing the result returns the lease")

      let fresh = try await pool.next()
      var read = await file.readFixed(into: fresh, at: 0)
      #expect(read.result == .success(3_000))
      #expect(read.buffer.bytes == payload)
      read = await file.readFixed(into: read.buffer, at: 1_000)
      #expect(read.bytesTransferred == 2_000)
      #expect(read.buffer.bytes == Array(payload[1_000...]))
      read = await file.readFixed(into: read.buffer, at: 10_000)
      #expect(read.result == .success(0))
      #expect(read.buffer.count == 0)
      _ = consume read

      // From a task on the reactor.
      let onLoop = try await Task(executorPreference: reactor) { () throws -> [UInt8] in
        let outcome = await file.readFixed(into: try await pool.next(), at: 2_990)
        return outcome.buffer.bytes
      }.value
      #expect(onLoop == Array(payload[2_990...]))

      #expect(recorder.preparedCount(.writeFixed) == 1)
      #expect(recorder.preparedCount(.readFixed) == 4)
      try await pool.unregister()
      #expect(!pool.isRegistered)
      try await file.close()
    }
  }

  @Test func fixedOperationsReportErrorsAndReturnTheLease() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 64, on: reactor)
      // Closed: refused before submission.
      try await file.close()
      var lease = try await pool.next()
      lease.withMutableBytes { span in
        span.storeBytes(of: 7, toByteOffset: 0, as: UInt8.self)
        return 1
      }
      let outcome = await file.writeFixed(from: lease, at: nil)
      #expect(outcome.error?.kind == .system(.badFileDescriptor))
      #expect(outcome.error?.operation == .writeFixed)
      #expect(outcome.buffer.bytes == [7])
      _ = consume outcome

      // A lease of another reactor's pool names no buffer of this ring.
      try await withReactor { other in
        let foreignPool = try await RegisteredBufferPool.register(
          count: 1, bufferSize: 64, on: other)
        let otherFile = File(adopting: try writeEnd.duplicate(), on: reactor)
        let wrong = await otherFile.writeFixed(from: try await foreignPool.next())
        #expect(wrong.error?.kind == .system(.invalidArgument))
        _ = consume wrong
        try await foreignPool.unregister()
      }
      try await pool.unregister()
    }
  }

  // MARK: One set per ring

  @Test func onlyOneRegisteredSetPerRing() async throws {
    try await withReactor { reactor in
      let first = try await RegisteredBufferPool.register(count: 2, bufferSize: 4096, on: reactor)
      await #expect(throws: RegisteredBufferError(.alreadyRegistered)) {
        _ = try await RegisteredBufferPool.register(count: 1, bufferSize: 512, on: reactor)
      }
      // Another reactor (another ring) has its own.
      try await withReactor { other in
        let elsewhere = try await RegisteredBufferPool.register(
          count: 1, bufferSize: 512, on: other)
        try await elsewhere.unregister()
      }
      try await first.unregister()
      await #expect(throws: RegisteredBufferError(.notRegistered)) { try await first.unregister() }
      let second = try await RegisteredBufferPool.register(count: 1, bufferSize: 512, on: reactor)
      try await second.unregister()
      await #expect(throws: RegisteredBufferError(.invalidLayout(count: 0, bufferSize: 512))) {
        _ = try await RegisteredBufferPool.register(count: 0, bufferSize: 512, on: reactor)
      }
    }
  }

  @Test func droppingARegisteredPoolUnregistersIt() async throws {
    try await withReactor { reactor in
      do {
        let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 512, on: reactor)
        #expect(pool.isRegistered)
      }
      // The unregistration job went to the loop before this registration's.
      let next = try await RegisteredBufferPool.register(count: 1, bufferSize: 512, on: reactor)
      try await next.unregister()
    }
  }

  // MARK: Unregistering

  @Test func unregisteringWhileLentOrInFlightIsRefused() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 64, on: reactor)

      let lease = try await pool.next()
      await #expect(throws: RegisteredBufferError(.buffersInUse(lent: 1))) {
        try await pool.unregister()
      }
      // In flight: a fixed read from a pipe nobody writes yet.
      let parking = Parking<RegisteredBuffer>()
      parking.put(lease)
      let reader = Task(executorPreference: reactor) { () -> Result<Int, IOError> in
        let outcome = await file.readFixed(into: parking.take()!)
        return outcome.result
      }
      await recorder.waitUntilPrepared(.readFixed, count: 1)
      await #expect(throws: RegisteredBufferError(.buffersInUse(lent: 1))) {
        try await pool.unregister()
      }
      #expect(pool.isRegistered)
      _ = try writeEnd.writeAll([1, 2, 3])
      #expect(await reader.value == .success(3))
      #expect(pool.lentCount == 0)

      // Cancelled while in flight: the lease comes back after the CQE.
      let cancelled = Task(executorPreference: reactor) { () -> (Result<Int, IOError>, Int) in
        let outcome = await file.readFixed(into: try! await pool.next())
        return (outcome.result, pool.lentCount)
      }
      await recorder.waitUntilPrepared(.readFixed, count: 2)
      await #expect(throws: RegisteredBufferError(.buffersInUse(lent: 1))) {
        try await pool.unregister()
      }
      cancelled.cancel()
      let (result, lentWhenBack) = await cancelled.value
      #expect(result == .failure(IOError(.cancelled, operation: .readFixed)))
      #expect(lentWhenBack == 1, "still lent until the result is dropped")
      #expect(recorder.completedCount(.readFixed) == 2)
      #expect(pool.lentCount == 0)

      try await pool.unregister()
      await #expect(throws: RegisteredBufferError(.notRegistered)) { _ = try await pool.next() }
      #expect(throws: RegisteredBufferError(.notRegistered)) { _ = try pool.tryNext() }
    }
  }

  // MARK: Lending

  @Test func poolLendsAndWaitsForAReleasedLease() async throws {
    try await withReactor { reactor in
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 128, on: reactor)
      let lease = try await pool.next()
      #expect(lease.index == 0)
      let none = try pool.tryNext()
      let nothingFree = none == nil
      #expect(nothingFree, "all lent")
      _ = consume none

      let waiter = Task { () throws -> UInt16 in
        let next = try await pool.next()
        return next.index
      }
      let second = Task { () throws -> UInt16 in
        // Queued behind `waiter` once it is suspended.
        await pool.waitUntilWaiting(1)
        let next = try await pool.next()
        return next.index
      }
      await pool.waitUntilWaiting(2)
      #expect(pool.availableCount == 0 && pool.lentCount == 1)
      // Releasing the lease hands the buffer to the first waiter, whose lease
      // (dropped when its task ends) then goes to the second.
      _ = consume lease
      #expect(try await waiter.value == 0)
      #expect(try await second.value == 0)
      #expect(pool.availableCount == 1 && pool.lentCount == 0)
      try await pool.unregister()
    }
  }

  @Test func cancellingAWaiterLeavesThePoolIntact() async throws {
    try await withReactor { reactor in
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 128, on: reactor)
      let lease = try await pool.next()
      let waiter = Task { () async throws(RegisteredBufferError) -> UInt16 in
        try await pool.next().index
      }
      await pool.waitUntilWaiting(1)
      waiter.cancel()
      await #expect(throws: RegisteredBufferError(.cancelled)) { _ = try await waiter.value }
      // An already-cancelled task does not wait either.
      let early = Task { () async throws(RegisteredBufferError) -> UInt16 in
        withUnsafeCurrentTask { $0?.cancel() }
        return try await pool.next().index
      }
      await #expect(throws: RegisteredBufferError(.cancelled)) { _ = try await early.value }
      _ = consume lease
      #expect(pool.availableCount == 1 && pool.lentCount == 0)
      guard let again = try pool.tryNext() else {
        Issue.record("the buffer was not returned")
        return
      }
      #expect(again.index == 0)
      _ = consume again
      try await pool.unregister()
    }
  }
}
