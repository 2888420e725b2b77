import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct DeadlineTests {
  /// A read nobody can satisfy (an empty pipe) with a deadline: the linked
  /// `IORING_OP_LINK_TIMEOUT` fires, the kernel cancels the read, the call
  /// throws `.timedOut`, and the buffer stays lent to the kernel until the
  /// read's own CQE.
  @Test(.ownsProcess) func readOnAnEmptyPipeTimesOutAndKeepsItsBufferUntilItsCQE() async throws {
    try await withReactor { reactor in
      let before = openDescriptorCount()
      let fds = try FileDescriptor.pipe()
      defer { try? fds.writeEnd.close() }
      let file = File(adopting: fds.readEnd, on: reactor)
      let buffer = SharedBuffer(capacity: 64)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let atCompletion = Locked<[String]>([])
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          switch opcode {
          case .read:
            atCompletion.withLock {
              $0.append("read \(completion.result) lent=\(buffer.isKernelWriting)")
            }
          case .linkTimeout:
            atCompletion.withLock { $0.append("link-timeout \(completion.result)") }
          default: break
          }
        }
      }
      let error = await #expect(throws: IOError.self) {
        try await Task(executorPreference: reactor) {
          try await file.read(into: buffer, deadline: .now + .milliseconds(20))
        }.value
      }
      #expect(error?.kind == .timedOut)
      #expect(error?.operation == .read)
      #expect(error?.errno == .timedOut)
      let seen = atCompletion.withLock { $0 }.sorted()
      #expect(seen == ["link-timeout \(-ETIME)", "read \(-ECANCELED) lent=true"])
      #expect(recorder.preparedCount(.linkTimeout) == 1)
      #expect(!buffer.isKernelWriting, "returned to the user after the CQE")
      #expect(await inspect(reactor) { $0.table.count } == 1, "both slots released")
      // The file still works.
      _ = try fds.writeEnd.writeAll([7])
      #expect(try await file.read(into: buffer, timeout: .seconds(60)) == 1)
      try await file.close()
      try fds.writeEnd.close()
      #expect(openDescriptorCount() == before)
    }
  }

  /// An operation that completes before its deadline returns normally; its
  /// link timeout completes with `-ECANCELED` and both slots are released.
  @Test func operationFinishingInTimeIsNotAffected() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let results = Locked<[Int32]>([])
      recorder.onCompleting.withLock {
        $0 = { completion, opcode in
          if opcode == .linkTimeout { results.withLock { $0.append(completion.result) } }
        }
      }
      _ = try writeEnd.writeAll([1, 2, 3])
      let buffer = SharedBuffer(capacity: 16)
      let count = try await Task(executorPreference: reactor) {
        try await file.read(into: buffer, deadline: .now + .seconds(3600))
      }.value
      #expect(count == 3)
      #expect(try buffer.bytes() == [1, 2, 3])
      try await waitOnLoop(reactor) { $0.table.count == 1 }
      #expect(results.withLock { $0 } == [-ECANCELED])
      try await file.close()
    }
  }

  /// A deadline already past fails at once and submits nothing.
  @Test func expiredDeadlineSubmitsNothing() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let past = ContinuousClock.now - .milliseconds(1)
      await #expect(throws: IOError(.timedOut, operation: .read)) {
        try await file.read(into: SharedBuffer(capacity: 8), deadline: past)
      }
      await #expect(throws: IOError(.timedOut, operation: .nop)) {
        try await reactor.nop(deadline: past)
      }
      try await reactor.nop(deadline: .now + .seconds(60))
      #expect(recorder.preparedCount(.read) == 0)
      #expect(recorder.preparedCount(.linkTimeout) == 1, "only the nop in time was submitted")
      try await file.close()
    }
  }

  /// Task cancellation still wins over a distant deadline.
  @Test func taskCancellationWinsOverADeadline() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let reader = Task(executorPreference: reactor) {
        try await file.read(into: SharedBuffer(capacity: 8), deadline: .now + .seconds(3600))
      }
      await recorder.waitUntilPrepared(.read, count: 1)
      reader.cancel()
      await #expect(throws: IOError(.cancelled, operation: .read)) { try await reader.value }
      try await waitOnLoop(reactor) { $0.table.count == 1 }
      try await file.close()
    }
  }

  /// `IODeadline.withTimeout` applies to every operation started inside it,
  /// including those of functions it calls; nested scopes keep the earliest.
  @Test func scopedDeadlineAppliesToNestedOperations() async throws {
    try await withPipeReader { reactor, file, writeEnd, recorder in
      let error = await #expect(throws: IOError.self) {
        try await IODeadline.withTimeout(.seconds(3600)) { () async throws(IOError) in
          try await reactor.nop()
          try await IODeadline.withTimeout(.milliseconds(10)) { () async throws(IOError) in
            _ = try await file.read(into: SharedBuffer(capacity: 8))
          }
        }
      }
      #expect(error?.kind == .timedOut)
      #expect(await inspect(reactor) { $0.statistics.linkedTimeouts } == 2)
      try await file.close()
    }
  }
}
