import Glibc
import SystemPackage
import TestSupport
import Testing

@testable import UringReactor

/// File reads and writes register their task's cancellation handler only if
/// they are still in flight after their submission
/// (`CancellationRegistration.lazy`): cached data costs no registration, and
/// an operation that waits is still cancelled through the loop, keeping its
/// memory until its own CQE (rules 1-3).
@Suite(.requiresUring, .sharesProcess)
struct LazyCancellationTests {
  @Test func cachedReadRegistersNoHandler() async throws {
    let path = FilePath(temporaryFile("lazy-cached", [UInt8](repeating: 1, count: 8192)))
    defer { unlink(path.string) }
    try await withReactor { reactor in
      try await Task(executorPreference: reactor) {
        let file = try await File.open(path, .readOnly, on: reactor)
        let shared = SharedBuffer(capacity: 4096)
        for _ in 0..<8 {
          #expect(try await file.read(into: shared, at: 4096) == 4096)
        }
        var owned = OwnedBuffer(capacity: 4096)
        let result = await file.read(into: owned, at: 0)
        owned = result.buffer
        #expect(owned.count == 4096)
        #expect(try await file.readAll(into: shared, at: 0) == 4096)
        try await file.close()
      }.value
      // Page-cached reads complete inside their submission.
      #expect(await inspect(reactor) { $0.statistics.lateRegistrations } == 0)
    }
  }

  @Test func waitingReadRegistersItsHandlerAndIsCancelled() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let buffer = SharedBuffer(capacity: 64)
      let reader = Task(executorPreference: reactor) { try await file.read(into: buffer) }
      await recorder.waitUntilPrepared(.read, count: 1)
      // The read stays in flight: its task is resumed once to register its
      // handler, and waits again.
      try await waitOnLoop(reactor) { $0.statistics.lateRegistrations == 1 }
      #expect(buffer.isKernelWriting)
      reader.cancel()
      await #expect(throws: IOError(.cancelled, operation: .read)) { try await reader.value }
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(recorder.completedCount(.read) == 1)
      #expect(!buffer.isKernelWriting)
      // A later read that waits completes with its data.
      let second = Task(executorPreference: reactor) { try await file.read(into: buffer) }
      await recorder.waitUntilPrepared(.read, count: 2)
      try await waitOnLoop(reactor) { $0.statistics.lateRegistrations == 2 }
      _ = try writeEnd.writeAll([7, 8])
      #expect(try await second.value == 2)
    }
  }

  /// The task is cancelled after its read was prepared but before its
  /// handler exists: registering it runs the handler at once.
  @Test func cancellationBeforeTheLateRegistrationIsNotLost() async throws {
    try await withPipeReader { reactor, file, _, recorder in
      // The hook runs in the reading task, as it prepares the SQE.
      recorder.onPrepared.withLock {
        $0 = { _, opcode, _ in
          guard opcode == .read else { return }
          withUnsafeCurrentTask { $0?.cancel() }
        }
      }
      let reader = Task(executorPreference: reactor) { () async -> (Int, IOError.Kind?) in
        let result = await file.read(into: OwnedBuffer(capacity: 16), at: nil)
        guard case .failure(let error) = result.result else { return (result.buffer.capacity, nil) }
        return (result.buffer.capacity, error.kind)
      }
      let (capacity, kind) = await reader.value
      #expect(capacity == 16, "the buffer comes back")
      #expect(kind == .cancelled)
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(recorder.completedCount(.read) == 1)
      #expect(await inspect(reactor) { $0.statistics.lateRegistrations } == 1)
    }
  }

  /// A registered file's read (`IOSQE_FIXED_FILE`, through the same
  /// `perform`) that waits is cancelled the same way.
  @Test func waitingRegisteredFileReadIsCancelled() async throws {
    try await withPipeReader { reactor, file, _, recorder in
      let table = try await RegisteredFileTable.register(capacity: 1, on: reactor)
      do {
        let fixed = try await table.insert(file)
        let buffer = SharedBuffer(capacity: 64)
        let reader = Task(executorPreference: reactor) { try await fixed.read(into: buffer) }
        await recorder.waitUntilPrepared(.read, count: 1)
        try await waitOnLoop(reactor) { $0.statistics.lateRegistrations == 1 }
        reader.cancel()
        await #expect(throws: IOError(.cancelled, operation: .read)) { try await reader.value }
        #expect(recorder.preparedCount(.asyncCancel) == 1)
        #expect(!buffer.isKernelWriting)
      }
      // The last handle is gone: its table slot is emptied on the loop.
      var spins = 0
      while table.count > 0, spins < 1000 {
        try await reactor.nop()
        spins += 1
      }
      #expect(table.count == 0)
      try await table.unregister()
    }
  }

  /// A caller isolated to an actor pinned to the reactor takes the same path.
  @Test func actorIsolatedWaitingReadIsCancelled() async throws {
    try await withPipeReader { reactor, file, _, recorder in
      let owner = PinnedReader(reactor: reactor, file: file)
      let reader = Task(executorPreference: reactor) { await owner.read() }
      await recorder.waitUntilPrepared(.read, count: 1)
      try await waitOnLoop(reactor) { $0.statistics.lateRegistrations == 1 }
      reader.cancel()
      #expect(await reader.value == .cancelled)
      #expect(recorder.preparedCount(.asyncCancel) == 1)
    }
  }
}

/// An actor pinned to a reactor that reads a file.
private actor PinnedReader {
  let reactor: Reactor
  let file: File
  nonisolated var unownedExecutor: UnownedSerialExecutor { reactor.asUnownedSerialExecutor() }

  init(reactor: Reactor, file: File) {
    self.reactor = reactor
    self.file = file
  }

  func read() async -> IOError.Kind? {
    let result = await file.read(into: OwnedBuffer(capacity: 16), at: nil)
    guard case .failure(let error) = result.result else { return nil }
    return error.kind
  }
}
