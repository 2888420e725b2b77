import Glibc
import SystemPackage
import TestSupport
import Testing
import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct FileTests {
  static func temporaryPath(_ name: String) -> FilePath {
    FilePath("/tmp/uring-reactor-test-\(getpid())-\(name)")
  }

  @Test func openWriteReadCloseRoundTrip() async throws {
    let path = Self.temporaryPath("roundtrip")
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let file = try await File.open(
        path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite,
        on: reactor)
      let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      let written = try await file.write(from: SharedBuffer(payload), at: 0)
      #expect(written == payload.count)
      // At an offset, from another thread's task and from the loop.
      #expect(try await file.write(from: SharedBuffer([1, 2, 3]), at: 20_000) == 3)
      let buffer = SharedBuffer(capacity: 4096)
      let read = try await Task(executorPreference: reactor) {
        try await file.read(into: buffer, at: 4096)
      }.value
      #expect(read == 4096)
      #expect(try buffer.bytes() == Array(payload[4096..<8192]))
      // A short read at the end, then end of file.
      #expect(try await file.read(into: buffer, at: 19_998) == 5)
      #expect(try buffer.bytes() == [0, 0, 1, 2, 3])
      #expect(try await file.read(into: buffer, at: 30_000) == 0)
      try await file.close()
      await #expect(throws: IOError.self) { try await file.close() }
      await #expect(throws: IOError.self) { try await file.read(into: buffer) }
    }
  }

  @Test func errorsCarryErrnoOperationAndPath() async throws {
    try await withReactor { reactor in
      let missing = FilePath("/nonexistent-\(getpid())/file")
      do {
        _ = try await File.open(missing, .readOnly, on: reactor)
        Issue.record("opened a file that does not exist")
      } catch let error as IOError {
        #expect(error.kind == .system(.noSuchFileOrDirectory))
        #expect(error.operation == .openat)
        #expect(error.path == missing)
        #expect("\(error)".contains("openat"))
      }
    }
  }

  @Test func bufferIsLentToTheKernelOnlyDuringTheOperation() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let buffer = SharedBuffer(capacity: 16)
      let reader = Task(executorPreference: reactor) { try await file.read(into: buffer) }
      await recorder.waitUntilPrepared(.read, count: 1)
      // The kernel may write it: user access is refused.
      #expect(buffer.isKernelWriting)
      #expect(throws: MemoryAccessError.self) { try buffer.bytes() }
      #expect(buffer.withUniqueBytes { _ in 0 } == nil)
      await #expect(throws: IOError.self) { try await file.read(into: buffer) }
      _ = try writeEnd.writeAll([9, 8, 7])
      #expect(try await reader.value == 3)
      #expect(!buffer.isKernelWriting)
      #expect(try buffer.bytes() == [9, 8, 7])
      #expect(buffer.withUniqueBytes { _ in 1 } == 1)
    }
  }
}
