import TestSupport
import Testing
import Uring
import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct RingPressureTests {
  /// More SQEs than the SQ holds and more CQEs than the CQ holds, through the
  /// reactor: a full SQ is flushed, the CQ overflow backlog is reaped, and
  /// every waiter gets its own completion.
  @Test func tinyRingLosesNothing() async throws {
    var options = ReactorOptions()
    options.ring.submissionQueueEntries = 4
    options.ring.completionQueueEntries = 8
    try await withReactor(options) { reactor in
      #expect(reactor.setup.submissionQueueEntries == 4)
      #expect(reactor.setup.completionQueueEntries == 8)
      let tasks = 512
      let rounds = 20
      let done = Tally(tasks)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<tasks {
          group.addTask(executorPreference: reactor) {
            for _ in 0..<rounds { try await reactor.nop() }
            done.add(index)
          }
        }
        try await group.waitForAll()
      }
      #expect(done.snapshot().allSatisfy { $0 == 1 })
    }
  }

  /// Rule 5: only the loop thread touches the SQ. The ring is SINGLE_ISSUER,
  /// so the kernel itself would refuse (EEXIST) a submission from any other
  /// thread; tasks on many foreign threads still get their I/O done.
  @Test func foreignThreadsSubmitOnlyThroughTheLoop() async throws {
    try await withReactor { reactor in
      #expect(reactor.setup.singleIssuer)
      let done = Tally(16)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<16 {
          group.addTask {
            #expect(!reactor.isCurrent)
            for _ in 0..<200 { try await reactor.nop() }
            done.add(index)
          }
        }
        try await group.waitForAll()
      }
      #expect(done.snapshot().allSatisfy { $0 == 1 })
    }
  }
}
