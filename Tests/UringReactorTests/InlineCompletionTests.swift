import Glibc
import SystemPackage
import TestSupport
import Testing

@testable import UringReactor

/// The iteration's last job submits a lazily registered (or non-cancellable)
/// operation at once and takes its completion without suspending when
/// nothing else waits to run (`EventLoop.completeInline`); everything else
/// waits as before, and the slot still holds the memory until the final CQE.
@Suite(.requiresUring, .sharesProcess)
struct InlineCompletionTests {
  @Test func cachedReadsAndNopsCompleteWithoutSuspending() async throws {
    let bytes = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let path = FilePath(temporaryFile("inline-cached", bytes))
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let before = await inspect(reactor) { $0.statistics.inlineCompletions }
      try await Task(executorPreference: reactor) {
        let file = try await File.open(path, .readOnly, on: reactor)
        let shared = SharedBuffer(capacity: 4096)
        for offset in [0, 4096, 100] {
          #expect(try await file.read(into: shared, at: UInt64(offset)) == 4096)
          #expect(try shared.bytes() == Array(bytes[offset..<offset + 4096]))
        }
        let result = await file.read(into: OwnedBuffer(capacity: 16), at: 8190)
        #expect(try result.result.get() == 2)
        #expect(result.buffer.bytes == [bytes[8190], bytes[8191]])
        try await reactor.nop()
        try await file.close()
      }.value
      let inline = await inspect(reactor) { $0.statistics.inlineCompletions } - before
      #expect(inline >= 5, "four cached reads and a nop, each the only job ready")
    }
  }

  /// Of two reads that start in one iteration, the first is batched (armed
  /// lazily, prompted by `promptRegistrations`) and the last is submitted
  /// inline; on an empty pipe both register their handlers, keep their
  /// buffers lent and are cancelled through the loop (rule 3).
  @Test func batchedAndInlineReadsThatWaitAreCancelled() async throws {
    try await withPipeReader { reactor, file, _, recorder in
      let first = SharedBuffer(capacity: 64)
      let second = SharedBuffer(capacity: 64)
      let lateBefore = await inspect(reactor) { $0.statistics.lateRegistrations }
      let readers = await Task(executorPreference: reactor) {
        // Made on the loop thread: both run in the next iteration's batch.
        [
          Task(executorPreference: reactor) { try await file.read(into: first) },
          Task(executorPreference: reactor) { try await file.read(into: second) },
        ]
      }.value
      try await waitOnLoop(reactor) { $0.statistics.lateRegistrations == lateBefore + 2 }
      // (`waitOnLoop`'s own nops may complete inline: only the reads count.)
      #expect(recorder.completedCount(.read) == 0)
      #expect(first.isKernelWriting && second.isKernelWriting)
      for reader in readers { reader.cancel() }
      for reader in readers {
        await #expect(throws: IOError(.cancelled, operation: .read)) { try await reader.value }
      }
      #expect(recorder.preparedCount(.asyncCancel) == 2)
      #expect(recorder.completedCount(.read) == 2)
      #expect(!first.isKernelWriting && !second.isKernelWriting)
    }
  }

  /// A task reading in a loop yields as soon as another job is ready: it
  /// completes inline only while nothing else waits to run.
  @Test func aReadingTaskDoesNotStarveAReadyJob() async throws {
    let path = FilePath(temporaryFile("inline-fair", [UInt8](repeating: 3, count: 4096)))
    defer { unlink(path.string) }
    try await withReactor { reactor in
      let otherRan = Locked(false)
      let readsBeforeOtherRan = try await Task(executorPreference: reactor) {
        let file = try await File.open(path, .readOnly, on: reactor)
        let buffer = SharedBuffer(capacity: 4096)
        // Made on the loop thread: ready before the reads start.
        let other = Task(executorPreference: reactor) {
          otherRan.withLock { $0 = true }
        }
        var reads = 0
        while !otherRan.withLock({ $0 }), reads < 10 * EventLoop.inlineBudgetPerJob {
          #expect(try await file.read(into: buffer, at: 0) == 4096)
          reads += 1
        }
        await other.value
        try await file.close()
        return reads
      }.value
      #expect(readsBeforeOtherRan == 1, "the first read suspends: another job is ready")
    }
  }

  /// A job alone completes at most `inlineBudgetPerJob` operations in a row,
  /// then suspends like any other, so the loop takes its inbox and timers.
  @Test func inlineCompletionsAreBoundedPerJob() async throws {
    try await withReactor { reactor in
      let before = await inspect(reactor) { $0.statistics.jobsRun }
      let nops = 4 * EventLoop.inlineBudgetPerJob
      try await Task(executorPreference: reactor) {
        for _ in 0..<nops { try await reactor.nop() }
      }.value
      let jobs = await inspect(reactor) { $0.statistics.jobsRun } - before
      #expect(jobs >= 4, "the task is resumed at least once per budget")
    }
  }
}
