import TestSupport
import Testing
import Uring

/// Checks that `completions` holds each of `1...count` as user data exactly once,
/// every one a successful nop.
private func expectEachNopOnce(_ completions: [Completion], count: Int) {
  #expect(completions.count == count)
  var seen = [Int](repeating: 0, count: count + 1)
  for completion in completions {
    guard completion.userData >= 1, completion.userData <= UInt64(count) else {
      Issue.record("unexpected user data \(completion.userData)")
      continue
    }
    seen[Int(completion.userData)] += 1
  }
  let missing = (1...count).filter { seen[$0] == 0 }
  let repeated = (1...count).filter { seen[$0] > 1 }
  #expect(missing.isEmpty, "\(missing.count) lost, first \(missing.prefix(10))")
  #expect(repeated.isEmpty, "\(repeated.count) repeated, first \(repeated.prefix(10))")
  #expect(completions.allSatisfy { $0.result == 0 && $0.flags == 0 })
}

// Nops complete inline while they are submitted, so after a submit every one of
// them is in the CQ ring or in the kernel's overflow backlog: no waiting needed.
@Suite(.enabled(if: UringSupport.isAvailable, UringSupport.skipReason), .sharesProcess)
struct RingSubmitTests {
  @Test func moreSubmissionsThanTheSQHolds() throws {
    var options = RingOptions()
    options.submissionQueueEntries = 4
    var ring = try Ring(options: options)
    #expect(ring.setup.submissionQueueEntries == 4)
    #expect(ring.setup.completionQueueEntries >= 1000)

    // `prepare` flushes the SQ whenever it is full: 1000 prepares, no drain.
    for index in 1...1000 {
      ring.prepare(.nop, userData: UInt64(index))
      #expect(ring.pendingSubmissions <= 4)
    }
    #expect(ring.pendingSubmissions == 4)
    #expect(ring.submit() == 4)
    #expect(ring.pendingSubmissions == 0)

    var completions: [Completion] = []
    ring.drainCompletions(into: &completions)
    expectEachNopOnce(completions, count: 1000)
    #expect(ring.readyCompletions == 0)
  }

  @Test func moreCompletionsThanTheCQHolds() throws {
    var options = RingOptions()
    options.submissionQueueEntries = 4
    options.completionQueueEntries = 8
    var ring = try Ring(options: options)
    #expect(ring.setup.submissionQueueEntries == 4)
    #expect(ring.setup.completionQueueEntries == 8)

    let total = 10_000
    let batch = 100
    var sawOverflowBacklog = false
    var userData: UInt64 = 0
    for _ in 0..<(total / batch) {
      for _ in 0..<batch {
        userData += 1
        ring.prepare(.nop, userData: userData)
      }
      ring.submit()
      #expect(ring.readyCompletions <= 8)
      sawOverflowBacklog = sawOverflowBacklog || ring.hasOverflowBacklog
    }
    #expect(ring.pendingSubmissions == 0)

    var completions: [Completion] = []
    completions.reserveCapacity(total)
    let drained = ring.drainCompletions(into: &completions)
    #expect(drained == total)
    expectEachNopOnce(completions, count: total)
    let backlogLeft = ring.hasOverflowBacklog
    #expect(!backlogLeft)
    #expect(ring.readyCompletions == 0)
    // Not a requirement (the kernel may move the backlog in at any enter), only
    // what this kernel does with a CQ that nobody drains: shown, never failing.
    withKnownIssue("hasOverflowBacklog was never observed true", isIntermittent: true) {
      #expect(sawOverflowBacklog)
    }

    // The ring is still usable afterwards.
    ring.prepare(.nop, userData: 99_999)
    ring.submitAndWait(1)
    completions.removeAll()
    ring.drainCompletions(into: &completions)
    #expect(completions.map(\.userData) == [99_999])
  }

  @Test func submitAndFlushCompletionsThenDrainInterleaved() throws {
    // Drains between submits with a CQ smaller than each batch: the path a loop
    // thread takes, with the backlog flushed in repeatedly.
    var options = RingOptions()
    options.submissionQueueEntries = 8
    options.completionQueueEntries = 16
    var ring = try Ring(options: options)
    var completions: [Completion] = []
    var userData: UInt64 = 0
    for _ in 0..<50 {
      for _ in 0..<40 {
        userData += 1
        ring.prepare(.nop, userData: userData)
      }
      ring.submitAndFlushCompletions()
      ring.drainCompletions(into: &completions)
    }
    expectEachNopOnce(completions, count: 2000)
  }
}
