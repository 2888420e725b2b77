import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Receives the completion of an operation nobody awaits.
final class CompletionSink: CompletionHandler, @unchecked Sendable {
  // SAFETY: `complete` runs on the loop thread; `result` is read only after
  // the continuation it resumes, which orders the accesses.
  var result: Completion?
  var continuation: UnsafeContinuation<Completion, Never>?

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    continuation?.resume(returning: completion)
  }
}

@Suite(.requiresUring, .sharesProcess)
struct CancellationTests {
  /// Rules 1-3: the in-flight slot is the only owner of the buffer; it stays
  /// alive through the cancellation request and is released right after the
  /// final CQE, exactly once.
  @Test func cancelledOperationKeepsMemoryUntilItsCompletion() async throws {
    try await withReactor { reactor in
      let fds = try FileDescriptor.pipe()
      defer {
        try? fds.readEnd.close()
        try? fds.writeEnd.close()
      }
      let weakBuffer = WeakBox<SharedBuffer>()
      let aliveAtCompletion = Tally(2)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          guard opcode == .read, completion.result == -ECANCELED else { return }
          aliveAtCompletion.add(weakBuffer.isAlive ? 0 : 1)
        }
      }
      let sink = CompletionSink()
      let loop = reactor.loop
      let readFD = fds.readEnd.rawValue
      let userData = await Task(executorPreference: reactor) { () -> UInt64 in
        let buffer = SharedBuffer(capacity: 4096)
        weakBuffer.set(buffer)
        return loop.start(
          .read(fd: readFD, buffer: buffer.unsafeRegion, offset: nil), handler: sink,
          retaining: (buffer, nil))!
      }.value
      // Nobody but the in-flight slot holds the buffer, and nothing completes
      // a read from a pipe nobody writes.
      #expect(weakBuffer.isAlive)
      let completion = await withUnsafeContinuation { continuation in
        Task(executorPreference: reactor) {
          sink.continuation = continuation
          loop.requestCancel(userData, reason: .task)
        }
      }
      #expect(completion.result == -ECANCELED)
      #expect(aliveAtCompletion.snapshot() == [1, 0], "alive when its CQE arrived")
      // The loop drops the slot as it finishes handling that CQE: one more
      // round trip through the loop orders this check after it.
      try await Task(executorPreference: reactor) { try await reactor.nop() }.value
      #expect(!weakBuffer.isAlive, "released once the final CQE was handled")
    }
  }

  @Test func cancellingATaskCancelsItsReadAndReturnsTheBuffer() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let buffer = SharedBuffer(capacity: 64)
      let reader = Task(executorPreference: reactor) { try await file.read(into: buffer) }
      await recorder.waitUntilPrepared(.read, count: 1)
      #expect(buffer.isKernelWriting)
      reader.cancel()
      do {
        _ = try await reader.value
        Issue.record("the read completed")
      } catch let error as IOError {
        #expect(error.kind == .cancelled)
        #expect(error.operation == .read)
      }
      #expect(recorder.completedCount(.read) == 1)
      #expect(recorder.preparedCount(.asyncCancel) == 1)
      #expect(!buffer.isKernelWriting)
      // The file still works.
      _ = try writeEnd.writeAll([42])
      #expect(try await file.read(into: buffer) == 1)
    }
  }

  @Test func alreadyCancelledTaskSubmitsNothing() async throws {
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let task = Task(executorPreference: reactor) {
        withUnsafeCurrentTask { $0?.cancel() }
        try await reactor.nop()
      }
      await #expect(throws: IOError(.cancelled, operation: .nop)) { try await task.value }
      #expect(recorder.preparedCount(.nop) == 0)
    }
  }

  /// Rule 4: an open that succeeds after its caller gave up is closed by the
  /// reactor, and the caller sees the cancellation.
  @Test(.ownsProcess) func abandonedOpenClosesItsDescriptor() async throws {
    let path = FileTests.temporaryPath("abandoned-open")
    let fd = open(path.string, O_CREAT | O_WRONLY, 0o600)
    close(fd)
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      // The caller gives up after the SQE is prepared, as if its cancellation
      // request lost the race with the kernel: the open completes with an fd.
      recorder.onPrepared.withLock {
        $0 = { userData, opcode, loop in
          guard opcode == .openat else { return }
          _ = loop.table.withEntry(userData) { $0.cancellation = .task }
        }
      }
      let before = openDescriptorCount()
      await #expect(throws: IOError(.cancelled, operation: .openat, path: path)) {
        try await Task(executorPreference: reactor) {
          try await File.open(path, .readOnly, on: reactor)
        }.value
      }
      // The close it submitted has completed once a later op round-trips.
      try await Task(executorPreference: reactor) { try await reactor.nop() }.value
      #expect(recorder.completedCount(.close) == 1)
      #expect(openDescriptorCount() == before)
    }
  }
}
