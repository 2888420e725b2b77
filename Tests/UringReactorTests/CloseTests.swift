import Glibc
import SystemPackage
import TestSupport
import Testing

@testable import UringReactor

/// A close is never cancelled: the owner has taken its descriptor out, so a
/// close refused for a cancelled task or a passed deadline would leak it.
@Suite(.requiresUring, .sharesProcess, .serialized)
struct CloseTests {
  @Test(.ownsProcess) func aCancelledTaskClosesItsFileAndSockets() async throws {
    let path = temporaryFile("close-cancelled", [1, 2, 3])
    defer { unlink(path) }
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let file = try await File.open(FilePath(path), .readOnly, on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let closing = Task(executorPreference: reactor) {
        withUnsafeCurrentTask { $0?.cancel() }
        #expect(Task.isCancelled)
        try await file.close()
        try await a.close()
        try await listener.close()
      }
      try await closing.value
      try await b.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test(.ownsProcess) func aCloseAfterTheDeadlineStillCloses() async throws {
    let path = temporaryFile("close-deadline", [1, 2, 3])
    defer { unlink(path) }
    let descriptorsBefore = openDescriptorCount()
    try await withReactor { reactor in
      let file = try await File.open(FilePath(path), .readOnly, on: reactor)
      let (a, b) = try SocketStream.pair(on: reactor)
      let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
      let buffer = SharedBuffer(capacity: 3)
      try await IODeadline.withDeadline(.now - .seconds(1)) {
        // A read is late, the closes are not refused.
        do {
          _ = try await file.read(into: buffer, at: 0)
          Issue.record("a read after its deadline was submitted")
        } catch {
          #expect((error as? IOError)?.kind == .timedOut)
        }
        try await file.close()
        try await a.close()
        try await listener.close()
      }
      try await b.close()
    }
    #expect(openDescriptorCount() == descriptorsBefore)
  }
}
