import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Hands a move-only value from one task to another, under a pthread lock
/// (visible to TSan).
final class Parking<Value: ~Copyable>: @unchecked Sendable {
  // SAFETY: `stored` is read and written only while `lock` is held.
  private let lock = Locked(())
  private var stored: Value?

  func put(_ value: consuming Value) {
    var incoming: Value? = .some(value)
    lock.withLock { _ in swap(&self.stored, &incoming) }
  }

  func take() -> Value? {
    var outgoing: Value? = nil
    lock.withLock { _ in swap(&self.stored, &outgoing) }
    return outgoing
  }
}

/// Anonymous memory mapped for a test, standing in for memory the package
/// does not own.
func mapAnonymous(_ size: Int) -> UnsafeMutableRawPointer {
  let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  precondition(pointer != nil && pointer != UnsafeMutableRawPointer(bitPattern: -1), "mmap failed")
  return pointer!
}

@Suite(.requiresUring, .sharesProcess)
struct MemoryTests {
  static func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
  }

  // MARK: Owned buffers

  @Test func ownedBufferComesBackWithTheExactCountAfterSuccess() async throws {
    let path = FileTests.temporaryPath("owned-success")
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let file = try await File.open(
        path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
        on: reactor)
      let payload = Self.pattern(10_000)
      let written = await file.write(from: OwnedBuffer(payload), at: 0)
      #expect(written.result == .success(10_000))
      #expect(written.buffer.count == 10_000, "a write leaves the count alone")
      #expect(written.buffer.bytes == payload)

      // Reads fill from the start and set the count to exactly what was read.
      var outcome = await file.read(into: OwnedBuffer(capacity: 4096), at: 4096)
      #expect(outcome.bytesTransferred == 4096)
      #expect(outcome.buffer.count == 4096)
      #expect(outcome.buffer.bytes == Array(payload[4096..<8192]))
      // The same buffer again: a short read at the end...
      outcome = await file.read(into: outcome.buffer, at: 9_000)
      #expect(outcome.result == .success(1_000))
      #expect(outcome.buffer.count == 1_000)
      #expect(outcome.buffer.bytes == Array(payload[9_000...]))
      // ...and end of file.
      outcome = await file.read(into: outcome.buffer, at: 20_000)
      #expect(outcome.result == .success(0))
      #expect(outcome.buffer.count == 0)
      #expect(outcome.buffer.capacity == 4096)

      // From a task on the reactor, with the file position.
      let onLoop = await Task(executorPreference: reactor) { () -> [UInt8] in
        let result = await file.read(into: OwnedBuffer(capacity: 16))
        return result.buffer.bytes
      }.value
      #expect(onLoop == Array(payload[..<16]))
      try await file.close()
    }
  }

  @Test func ownedBufferComesBackAfterAnError() async throws {
    let path = FileTests.temporaryPath("owned-error")
    let fd = open(path.string, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
    _ = write(fd, "hello", 5)
    close(fd)
    defer { unlink(path.string) }
    try await withReactor { reactor in
      // The kernel refuses: writing to a read-only descriptor is EBADF.
      let readOnly = try await File.open(path, .readOnly, on: reactor)
      let refused = await readOnly.write(from: OwnedBuffer([1, 2, 3]), at: 0)
      #expect(refused.error == IOError(.system(.badFileDescriptor), operation: .write, path: path))
      #expect(refused.buffer.count == 3)
      #expect(refused.buffer.bytes == [1, 2, 3])

      // A failed read reports no bytes, whatever the buffer held before.
      let writeOnly = try await File.open(path, .writeOnly, on: reactor)
      let failedRead = await writeOnly.read(into: OwnedBuffer([7, 7, 7, 7]), at: 0)
      #expect(failedRead.error?.kind == .system(.badFileDescriptor))
      #expect(failedRead.buffer.count == 0)
      #expect(failedRead.buffer.capacity == 4)

      // Refused before submission: the file is closed.
      try await readOnly.close()
      let closedRead = await readOnly.read(into: OwnedBuffer(capacity: 8), at: 0)
      #expect(
        closedRead.error == IOError(.system(.badFileDescriptor), operation: .read, path: path))
      #expect(closedRead.buffer.count == 0)
      var buffer = closedRead.buffer
      // It is usable again at once.
      buffer.withMutableBytes { span in
        span.storeBytes(of: 0x2A, toByteOffset: 0, as: UInt8.self)
        return 1
      }
      let closedWrite = await readOnly.write(from: buffer, at: 0)
      #expect(closedWrite.error?.kind == .system(.badFileDescriptor))
      #expect(closedWrite.buffer.bytes == [0x2A])

      // And with a good file it works.
      let good = await writeOnly.write(from: closedWrite.buffer, at: 0)
      #expect(good.result == .success(1))
      try await writeOnly.close()
    }
  }

  @Test func ownedBufferComesBackAfterCancellationOnlyAfterTheCompletion() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let parking = Parking<OwnedBuffer>()
      // Nobody writes the pipe: only the cancellation ends this read.
      let reader = Task(executorPreference: reactor) { () -> Result<Int, IOError> in
        let outcome = await file.read(into: OwnedBuffer(capacity: 64))
        let result = outcome.result
        parking.put(outcome.buffer)
        return result
      }
      await recorder.waitUntilPrepared(.read, count: 1)
      reader.cancel()
      let result = await reader.value
      #expect(result == .failure(IOError(.cancelled, operation: .read)))
      // The read's own CQE had arrived before the buffer came back.
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(recorder.completedCount(.read) == 1)

      guard var buffer = parking.take() else {
        Issue.record("the buffer did not come back")
        return
      }
      #expect(buffer.count == 0)
      #expect(buffer.capacity == 64)
      buffer.withMutableBytes { span in
        for offset in 0..<8 { span.storeBytes(of: 0xEE, toByteOffset: offset, as: UInt8.self) }
        return 8
      }
      #expect(buffer.bytes == [UInt8](repeating: 0xEE, count: 8))
      // Usable for I/O again.
      _ = try writeEnd.writeAll([42, 43])
      let again = await file.read(into: buffer)
      #expect(again.result == .success(2))
      #expect(again.buffer.bytes == [42, 43])
    }
  }

  @Test func ownedBufferRefusedBeforeSubmissionWhenAlreadyCancelled() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let fds = try FileDescriptor.pipe()
      defer { try? fds.writeEnd.close() }
      let file = File(adopting: fds.readEnd, on: reactor)
      let (result, count) = await Task(executorPreference: reactor) {
        () -> (Result<Int, IOError>, Int) in
        withUnsafeCurrentTask { $0?.cancel() }
        let outcome = await file.read(into: OwnedBuffer([1, 2, 3]))
        return (outcome.result, outcome.buffer.count)
      }.value
      #expect(result == .failure(IOError(.cancelled, operation: .read)))
      #expect(count == 0)
      #expect(recorder.preparedCount(.read) == 0)
    }
  }

  // MARK: Vectored I/O

  @Test func vectoredWriteAndReadRoundTrip() async throws {
    let path = FileTests.temporaryPath("vectored")
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let file = try await File.open(
        path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
        on: reactor)
      let payload = Self.pattern(100)
      let source = SharedBuffer(payload)
      // Gathered in the order given, overlapping allowed for writes.
      let written = try await file.write(
        from: source,
        regions: [
          MemoryRegion(10..<20), MemoryRegion(offset: 50, length: 10), MemoryRegion(0..<5),
          MemoryRegion(2..<4),
        ],
        at: 0)
      #expect(written == 27)
      let expected = Array(payload[10..<20] + payload[50..<60] + payload[0..<5] + payload[2..<4])

      // Scattered in the order given.
      let target = SharedBuffer(capacity: 64)
      let read = try await file.read(
        into: target, regions: [MemoryRegion(40..<50), MemoryRegion(0..<7), MemoryRegion(20..<40)],
        at: 0)
      #expect(read == 27)
      let bytes = try #require(
        target.withUniqueBytes { span in span.withUnsafeBytes { Array($0) } })
      #expect(Array(bytes[40..<50]) == Array(expected[0..<10]))
      #expect(Array(bytes[0..<7]) == Array(expected[10..<17]))
      #expect(Array(bytes[20..<30]) == Array(expected[17..<27]))
      #expect(bytes[30..<40].allSatisfy { $0 == 0 }, "short read: the rest untouched")
      #expect(target.count == 0, "a SharedBuffer's count is not changed by a vectored read")
      #expect(!target.isKernelWriting && !source.isKernelReading)
      #expect(recorder.preparedCount(.writev) == 1)
      #expect(recorder.preparedCount(.readv) == 1)

      // From a task on the reactor, at the file position (end of file: 0).
      let atEnd = try await Task(executorPreference: reactor) {
        try await file.read(into: target, regions: [MemoryRegion(0..<64)], at: 1_000)
      }.value
      #expect(atEnd == 0)
      try await file.close()
    }
  }

  @Test func invalidRegionsAreRefusedBeforeSubmission() async throws {
    let path = FileTests.temporaryPath("vectored-invalid")
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let file = try await File.open(
        path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
        on: reactor)
      let memory = SharedBuffer(capacity: 64)

      func refusal(
        reading: Bool, _ regions: [MemoryRegion]
      ) async -> MemoryRegionError.Kind? {
        do throws(VectoredIOError) {
          if reading {
            _ = try await file.read(into: memory, regions: regions, at: 0)
          } else {
            _ = try await file.write(from: memory, regions: regions, at: 0)
          }
          return nil
        } catch {
          guard case .invalidRegions(let refusal) = error else {
            Issue.record("unexpected \(error)")
            return nil
          }
          #expect(refusal.memorySize == 64)
          return refusal.kind
        }
      }

      #expect(await refusal(reading: true, []) == .noRegions)
      #expect(
        await refusal(reading: true, [MemoryRegion(0..<8), MemoryRegion(60..<65)])
          == .outOfBounds(index: 1, region: MemoryRegion(offset: 60, length: 5)))
      #expect(
        await refusal(reading: false, [MemoryRegion(offset: 65, length: 0)])
          == .outOfBounds(index: 0, region: MemoryRegion(offset: 65, length: 0)))
      #expect(
        await refusal(reading: false, [MemoryRegion(offset: -1, length: 4)])
          == .invalid(index: 0, region: MemoryRegion(offset: -1, length: 4)))
      #expect(
        await refusal(reading: true, [MemoryRegion(offset: Int.max, length: 2)])
          == .invalid(index: 0, region: MemoryRegion(offset: Int.max, length: 2)))
      #expect(
        await refusal(
          reading: true, [MemoryRegion(0..<10), MemoryRegion(20..<30), MemoryRegion(5..<12)])
          == .overlapping(first: 0, second: 2))
      #expect(
        await refusal(reading: false, Array(repeating: MemoryRegion(0..<1), count: 1025))
          == .tooManyRegions(count: 1025, limit: 1024))
      // The same overlap is fine for a write (the kernel only reads).
      #expect(await refusal(reading: false, [MemoryRegion(0..<10), MemoryRegion(5..<12)]) == nil)

      #expect(recorder.preparedCount(.readv) == 0, "nothing invalid reached the kernel")
      #expect(recorder.preparedCount(.writev) == 1)
      let description =
        "\(MemoryRegionError(.outOfBounds(index: 1, region: MemoryRegion(60..<65)), memorySize: 64))"
      #expect(description.contains("region 1") && description.contains("64 bytes"))
      try await file.close()
    }
  }

  @Test func vectoredReadRefusesMemoryTheKernelIsWriting() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let memory = SharedBuffer(capacity: 32)
      let reader = Task(executorPreference: reactor) {
        try await file.read(into: memory, regions: [MemoryRegion(0..<16)])
      }
      await recorder.waitUntilPrepared(.readv, count: 1)
      #expect(memory.isKernelWriting)
      do throws(VectoredIOError) {
        _ = try await file.read(into: memory, regions: [MemoryRegion(16..<32)])
        Issue.record("a second read into memory the kernel writes was accepted")
      } catch {
        #expect(error.ioError?.kind == .memoryBusy(MemoryAccessError(.kernelWriting)))
      }
      _ = try writeEnd.writeAll([1, 2, 3])
      #expect(try await reader.value == 3)
      #expect(!memory.isKernelWriting)
    }
  }

  // MARK: Foreign memory

  @Test func foreignMemoryOverAnMmapRoundTripsAndIsReleasedOnce() async throws {
    let path = FileTests.temporaryPath("foreign")
    defer { unlink(path.string) }
    let size = 2 * SharedBuffer.alignment
    let released = Tally(2)
    try await withReactor { reactor in
      let file = try await File.open(
        path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
        on: reactor)
      let payload = Self.pattern(size, seed: 5)
      do {
        let source = UnsafeForeignMemory(
          unsafeStart: mapAnonymous(size), count: size,
          onRelease: { region in
            munmap(region.baseAddress, region.count)
            released.add(0)
          })
        try source.withMutableBytes { (span: inout MutableRawSpan) throws(Never) in
          for offset in 0..<size {
            span.storeBytes(of: payload[offset], toByteOffset: offset, as: UInt8.self)
          }
        }
        #expect(
          try await file.write(from: source, regions: [MemoryRegion(0..<size)], at: 0) == size)

        let target = UnsafeForeignMemory(
          unsafeBuffer: UnsafeMutableRawBufferPointer(start: mapAnonymous(size), count: size),
          onRelease: { region in
            munmap(region.baseAddress, region.count)
            released.add(1)
          })
        let read = try await file.read(
          into: target, regions: [MemoryRegion(size / 2..<size), MemoryRegion(0..<size / 2)], at: 0)
        #expect(read == size)
        let bytes = try target.withBytes { (span: RawSpan) throws(Never) in
          span.withUnsafeBytes { Array($0) }
        }
        let half = size / 2
        let firstHalf: [UInt8] = Array(payload[0..<half])
        let secondHalf: [UInt8] = Array(payload[half..<size])
        #expect(Array(bytes[half..<size]) == firstHalf)
        #expect(Array(bytes[0..<half]) == secondHalf)
        withExtendedLifetime((source, target)) {
          #expect(released.snapshot() == [0, 0], "not released while referenced")
        }
      }
      // Both objects are gone: each release closure ran exactly once.
      #expect(released.snapshot() == [1, 1])
      try await file.close()
    }
    #expect(released.snapshot() == [1, 1])
  }

  /// The in-flight slot alone keeps foreign memory (and its iovecs) alive:
  /// its release closure runs exactly once, after the final CQE.
  @Test func foreignMemoryIsReleasedOnlyAfterItsLastOperation() async throws {
    try await withReactor { reactor in
      let fds = try FileDescriptor.pipe()
      defer {
        try? fds.readEnd.close()
        try? fds.writeEnd.close()
      }
      let released = Tally(1)
      let releasedAtCompletion = Tally(2)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      recorder.onCompleting.withLock {
        $0 = { _, opcode in
          guard opcode == .readv else { return }
          releasedAtCompletion.add(released.snapshot()[0])
        }
      }
      let sink = CompletionSink()
      let loop = reactor.loop
      let readFD = fds.readEnd.rawValue
      let size = SharedBuffer.alignment
      let address = UInt(bitPattern: mapAnonymous(size))
      _ = await Task(executorPreference: reactor) { () -> UInt64 in
        let memory = UnsafeForeignMemory(
          unsafeStart: UnsafeMutableRawPointer(bitPattern: address)!, count: size,
          onRelease: { region in
            munmap(region.baseAddress, region.count)
            released.add(0)
          })
        let request = VectoredRequest(
          memory: memory, regions: [MemoryRegion(0..<8), MemoryRegion(100..<108)])
        return loop.start(
          .readv(fd: readFD, iovecs: request.iovecs, count: UInt32(request.count), offset: nil),
          handler: sink, retaining: (request, nil))!
      }.value
      // Only the in-flight slot holds the memory now.
      try await Task(executorPreference: reactor) { try await reactor.nop() }.value
      #expect(released.snapshot() == [0])
      let completion = await withUnsafeContinuation { continuation in
        Task(executorPreference: reactor) {
          sink.continuation = continuation
          _ = try? fds.writeEnd.writeAll((1...12).map { UInt8($0) })
        }
      }
      #expect(completion.result == 12)
      #expect(releasedAtCompletion.snapshot() == [1, 0], "alive when its CQE arrived")
      // The loop drops the slot as it finishes handling that CQE.
      try await Task(executorPreference: reactor) { try await reactor.nop() }.value
      #expect(released.snapshot() == [1], "released exactly once, after the final CQE")
    }
  }

  @Test func foreignMemoryRefusesUserAccessWhileTheKernelWrites() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let size = SharedBuffer.alignment
      let memory = UnsafeForeignMemory(
        unsafeStart: mapAnonymous(size), count: size,
        onRelease: { munmap($0.baseAddress, $0.count) })
      let reader = Task(executorPreference: reactor) {
        try await file.read(into: memory, regions: [MemoryRegion(0..<4)])
      }
      await recorder.waitUntilPrepared(.readv, count: 1)
      #expect(memory.isKernelWriting)
      #expect(throws: BufferAccessError<Never>.self) {
        try memory.withBytes { (_: RawSpan) throws(Never) in 0 }
      }
      _ = try writeEnd.writeAll([4, 3, 2, 1])
      #expect(try await reader.value == 4)
      let first = try memory.withBytes { (span: RawSpan) throws(Never) in
        span.withUnsafeBytes { Array($0.prefix(4)) }
      }
      #expect(first == [4, 3, 2, 1])
    }
  }
}
