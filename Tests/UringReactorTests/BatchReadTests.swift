import Glibc
import SystemPackage
import Testing

@testable import UringReactor

/// `File.read(batch:)`: many reads, one submission, one suspension; each
/// read's result (or error) its own; buffers lent until their own CQE.
@Suite(.requiresUring, .sharesProcess)
struct BatchReadTests {
  private static func fixture(_ name: String, size: Int) throws -> (FilePath, [UInt8]) {
    let path = FilePath("/tmp/uring-reactor-test-\(getpid())-batch-\(name)")
    let bytes = (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 7) ^ ($0 >> 9)) }
    let fd = try FileDescriptor.open(
      path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
    defer { try? fd.close() }
    _ = try fd.writeAll(bytes)
    return (path, bytes)
  }

  /// Random offsets and sizes, some past the end of the file: each result
  /// equals what `pread` returns for the same request.
  @Test func resultsEqualPreadForRandomRequests() async throws {
    let (path, _) = try Self.fixture("random", size: 300_000)
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      var generator = SystemRandomNumberGenerator()
      let requests = (0..<200).map { _ in
        FileReadRequest(
          into: SharedBuffer(capacity: Int.random(in: 1...9000, using: &generator)),
          at: UInt64.random(in: 0...310_000, using: &generator))
      }
      let results = await Task(executorPreference: reactor) {
        await file.read(batch: requests)
      }.value
      let fd = try FileDescriptor.open(path, .readOnly)
      defer { try? fd.close() }
      #expect(results.count == requests.count)
      for (request, result) in zip(requests, results) {
        var expected = [UInt8](repeating: 0, count: request.buffer.capacity)
        let count = try expected.withUnsafeMutableBytes {
          try fd.read(fromAbsoluteOffset: Int64(request.offset), into: $0)
        }
        #expect(try result.get() == count)
        #expect(try request.buffer.bytes() == Array(expected[..<count]))
      }
      try await file.close()
    }
  }

  /// A request that cannot be submitted (its buffer is already lent for an
  /// earlier request of the batch) fails alone; the others succeed. The
  /// batch also works from a task on another thread (one hop for it all).
  @Test func aFailedRequestLeavesTheOthersAlone() async throws {
    let (path, bytes) = try Self.fixture("partial", size: 16_384)
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let file = try await File.open(path, .readOnly, on: reactor)
      let shared = SharedBuffer(capacity: 4096)
      let other = SharedBuffer(capacity: 4096)
      let results = await file.read(batch: [
        FileReadRequest(into: shared, at: 0),
        FileReadRequest(into: shared, at: 4096),
        FileReadRequest(into: other, at: 12_288),
      ])
      #expect(try results[0].get() == 4096)
      if case .failure(let error) = results[1] {
        #expect(error.operation == .read)
        guard case .memoryBusy = error.kind else {
          Issue.record("expected memoryBusy, got \(error)")
          return
        }
      } else {
        Issue.record("a buffer was lent twice")
      }
      #expect(try results[2].get() == 4096)
      #expect(try shared.bytes() == Array(bytes[0..<4096]))
      #expect(try other.bytes() == Array(bytes[12_288..<16_384]))
      try await file.close()
    }
  }

  /// Cancelling the task midway: the reads still in flight (on an empty
  /// pipe) are cancelled through the ring, each buffer stays lent until its
  /// own CQE, and every request reports its own outcome: the one whose data
  /// came first succeeds, the rest end cancelled.
  @Test func cancellingMidwayWaitsForEveryCompletion() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let buffers = (0..<4).map { _ in SharedBuffer(capacity: 64) }
      let reader = Task(executorPreference: reactor) {
        await file.read(batch: buffers.map { FileReadRequest(into: $0, at: 0) })
      }
      await recorder.waitUntilPrepared(.read, count: 4)
      #expect(buffers.allSatisfy { $0.isKernelWriting })
      _ = try writeEnd.writeAll([1, 2, 3])
      reader.cancel()
      let results = await reader.value
      #expect(buffers.allSatisfy { !$0.isKernelWriting })
      let succeeded = results.filter { (try? $0.get()) != nil }
      let cancelled = results.filter {
        if case .failure(let error) = $0 { return error.kind == .cancelled }
        return false
      }
      #expect(succeeded.count <= 1)
      #expect(succeeded.count + cancelled.count == 4)
      try await file.close()
    }
  }

  /// An already cancelled task submits nothing.
  @Test func anAlreadyCancelledTaskSubmitsNothing() async throws {
    try await withPipeReader { reactor, file, _, recorder in
      let buffer = SharedBuffer(capacity: 64)
      let results = await Task(executorPreference: reactor) { () -> [Result<Int, IOError>] in
        withUnsafeCurrentTask { $0?.cancel() }
        return await file.read(batch: [FileReadRequest(into: buffer, at: 0)])
      }.value
      guard case .failure(let error) = results[0] else {
        Issue.record("the read ran")
        return
      }
      #expect(error.kind == .cancelled)
      #expect(recorder.preparedCount(.read) == 0)
      try await file.close()
    }
  }
}
