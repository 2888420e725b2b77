import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Every transfer on a `File` (shared and owned buffers, vectored, fixed,
/// registered file, splice) makes the same checks as `read(into:at:)` before
/// submitting: an offset past `Int64.max` (which the kernel would take for
/// "the file position", or a negative offset) and, for `O_DIRECT`, a
/// misaligned buffer, length or offset are refused, nothing reaches the ring,
/// and an owned buffer or lease comes back.
@Suite(.requiresUring, .sharesProcess)
struct TransferCheckTests {
  /// The opcodes of every transfer these tests try.
  static let transfers: [Opcode] = [
    .read, .write, .readv, .writev, .readFixed, .writeFixed, .splice,
  ]

  static func preparedTransfers(_ recorder: OperationRecorder) -> [Opcode: Int] {
    Dictionary(uniqueKeysWithValues: transfers.map { ($0, recorder.preparedCount($0)) })
  }

  @Test(.ownsProcess, arguments: [UInt64.max, UInt64(Int64.max) + 1])
  func offsetsPastInt64MaxAreRefusedBeforeSubmitting(offset: UInt64) async throws {
    let scratch = try ScratchDirectory("transfer-offset")
    defer { scratch.remove() }
    let path = scratch.path("f")
    try writeFileBlocking(path, patternBytes(64, seed: 1))
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let file = try await File.open(path, .readWrite, on: reactor)
      let pool = try await RegisteredBufferPool.register(count: 1, bufferSize: 4096, on: reactor)
      let table = try await RegisteredFileTable.register(capacity: 1, on: reactor)
      let registered = try await table.insert(file)
      let fds = try FileDescriptor.pipe()
      // A byte in the pipe: a splice from it that slipped through would
      // return instead of waiting for data forever.
      _ = try fds.writeEnd.writeAll([0])
      let pipeIn = File(adopting: fds.writeEnd, on: reactor)
      let pipeOut = File(adopting: fds.readEnd, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let before = Self.preparedTransfers(recorder)

      // What the shared-buffer read throws: every other transfer matches it.
      let reference: IOError
      do {
        _ = try await file.read(into: SharedBuffer(capacity: 8), at: offset)
        Issue.record("a shared-buffer read at \(offset) was not refused")
        return
      } catch let error as IOError {
        reference = error
      }
      guard case .invalidRequest = reference.kind else {
        Issue.record("unexpected \(reference)")
        return
      }
      func expected(_ operation: Opcode, _ errorPath: FilePath? = path) -> IOError {
        IOError(reference.kind, operation: operation, path: errorPath)
      }
      #expect(reference == expected(.read))
      await #expect(throws: expected(.write)) {
        try await file.write(from: SharedBuffer([1, 2, 3]), at: offset)
      }

      // Owned buffers: the error is in the result and the buffer comes back.
      let ownedRead = await file.read(into: OwnedBuffer([7, 7, 7, 7]), at: offset)
      #expect(ownedRead.error == expected(.read))
      #expect(ownedRead.buffer.capacity == 4 && ownedRead.buffer.count == 0)
      _ = consume ownedRead
      let ownedWrite = await file.write(from: OwnedBuffer([1, 2, 3]), at: offset)
      #expect(ownedWrite.error == expected(.write))
      #expect(ownedWrite.buffer.bytes == [1, 2, 3])
      _ = consume ownedWrite

      // Vectored: refused as an I/O error, and the memory is not left lent.
      let memory = SharedBuffer(capacity: 16)
      let regions = [MemoryRegion(0..<8), MemoryRegion(8..<16)]
      await #expect(throws: VectoredIOError.io(expected(.readv))) {
        try await file.read(into: memory, regions: regions, at: offset)
      }
      await #expect(throws: VectoredIOError.io(expected(.writev))) {
        try await file.write(from: memory, regions: regions, at: offset)
      }
      #expect(try memory.bytes().isEmpty)

      // Fixed buffers: the lease comes back, still lent to the caller.
      let readFixed = await file.readFixed(into: try await pool.next(), at: offset)
      #expect(readFixed.error == expected(.readFixed))
      #expect(readFixed.buffer.count == 0)
      var lease = readFixed.buffer
      #expect(pool.lentCount == 1)
      lease.withMutableBytes { span in
        span.storeBytes(of: 0x2A, toByteOffset: 0, as: UInt8.self)
        return 1
      }
      let writeFixed = await file.writeFixed(from: lease, at: offset)
      #expect(writeFixed.error == expected(.writeFixed))
      #expect(writeFixed.buffer.bytes == [0x2A])
      _ = consume writeFixed
      #expect(pool.lentCount == 0)

      // A registered file makes the same checks.
      await #expect(throws: expected(.read)) {
        try await registered.read(into: SharedBuffer(capacity: 8), at: offset)
      }
      await #expect(throws: expected(.write)) {
        try await registered.write(from: SharedBuffer([1]), at: offset)
      }

      // Splice: either offset, carried by the error of the file it belongs to.
      await #expect(throws: expected(.splice)) {
        try await file.splice(count: 8, from: offset, to: pipeIn)
      }
      await #expect(throws: expected(.splice)) {
        try await pipeOut.splice(count: 8, to: file, at: offset)
      }

      #expect(Self.preparedTransfers(recorder) == before, "nothing was submitted")

      // The file is unharmed: the same transfers at a valid offset run.
      let read = await file.read(into: OwnedBuffer(capacity: 64), at: 0)
      #expect(read.buffer.bytes == patternBytes(64, seed: 1))
      _ = consume read
      #expect(try await file.splice(count: 8, from: 0, to: pipeIn) == 8)
      #expect(recorder.preparedCount(.read) == before[.read]! + 1)
      #expect(recorder.preparedCount(.splice) == before[.splice]! + 1)

      _ = consume registered
      for each in [file, pipeIn, pipeOut] { try await each.close() }
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func ownedAndVectoredTransfersCheckDirectIOAlignment() async throws {
    let scratch = try ScratchDirectory("transfer-direct")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file: File
      do {
        file = try await File.open(
          scratch.path("f"), .readWrite, options: [.create, .directIO],
          permissions: .ownerReadWrite, on: reactor)
      } catch let error as IOError where error.errno == .invalidArgument {
        print("skipping O_DIRECT test: \(scratch.root) refuses O_DIRECT (tmpfs?): \(error)")
        return
      }
      let alignment = try #require(file.directIO)
      // Page-aligned buffers of a multiple of the block size fit.
      let block = max(4096, alignment.offset)
      guard SharedBuffer.alignment % alignment.memory == 0 else {
        print("skipping O_DIRECT test: memory alignment \(alignment.memory) > a page")
        return
      }
      let payload = patternBytes(2 * block, seed: 2)
      #expect(try await file.write(from: SharedBuffer(payload), at: 0) == 2 * block)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let before = Self.preparedTransfers(recorder)

      func expectMisaligned(_ error: IOError?, _ operation: Opcode) {
        guard let error, case .invalidRequest(let reason) = error.kind else {
          Issue.record("not refused as misaligned: \(String(describing: error))")
          return
        }
        #expect(reason.contains("O_DIRECT"))
        #expect(error.operation == operation)
        #expect(error.path == scratch.path("f"))
      }

      // Owned read: a length that is not a multiple of the block, then an
      // aligned buffer at an offset that is not.
      let shortLength = await file.read(into: OwnedBuffer(capacity: 100), at: 0)
      expectMisaligned(shortLength.error, .read)
      #expect(shortLength.buffer.capacity == 100 && shortLength.buffer.count == 0)
      _ = consume shortLength
      let badOffset = await file.read(into: OwnedBuffer(capacity: block), at: 100)
      expectMisaligned(badOffset.error, .read)
      #expect(badOffset.buffer.capacity == block)
      _ = consume badOffset
      let ownedWrite = await file.write(from: OwnedBuffer(payload[..<100]), at: 0)
      expectMisaligned(ownedWrite.error, .write)
      #expect(ownedWrite.buffer.count == 100)
      _ = consume ownedWrite

      // Vectored: every region must fit, not just their total.
      let memory = SharedBuffer(capacity: 2 * block)
      for regions in [
        [MemoryRegion(0..<100), MemoryRegion(block..<(block + block - 100))],
        [MemoryRegion(100..<(block + 100))],
      ] {
        do throws(VectoredIOError) {
          _ = try await file.read(into: memory, regions: regions, at: 0)
          Issue.record("a misaligned O_DIRECT vectored read of \(regions) was submitted")
        } catch {
          expectMisaligned(error.ioError, .readv)
        }
      }
      do throws(VectoredIOError) {
        _ = try await file.write(from: memory, regions: [MemoryRegion(0..<block)], at: 100)
        Issue.record("a vectored O_DIRECT write at offset 100 was submitted")
      } catch {
        expectMisaligned(error.ioError, .writev)
      }
      #expect(Self.preparedTransfers(recorder) == before, "nothing was submitted")

      // Aligned: submitted, and the bytes come back.
      let owned = await file.read(into: OwnedBuffer(capacity: block), at: UInt64(block))
      #expect(owned.bytesTransferred == block)
      #expect(owned.buffer.bytes == Array(payload[block...]))
      _ = consume owned
      let count = try await file.read(
        into: memory, regions: [MemoryRegion(block..<(2 * block)), MemoryRegion(0..<block)],
        at: 0)
      #expect(count == 2 * block)
      #expect(try memory.bytes().isEmpty)  // a vectored read leaves `count` alone
      #expect(
        memory.unsafeRegion.elementsEqual(Array(payload[block...]) + Array(payload[..<block])))
      #expect(recorder.preparedCount(.read) == before[.read]! + 1)
      #expect(recorder.preparedCount(.readv) == before[.readv]! + 1)
      try await file.close()
    }
  }
}
