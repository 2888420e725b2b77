import Dispatch
import Testing

@testable import UringReactor

/// `Reactor.execute(_:)`: closure jobs on the loop thread, without tasks.
@Suite(.requiresUring, .sharesProcess)
struct ExecuteTests {
  /// Closures pushed from two other threads each run once, on the loop
  /// thread, in the order each thread pushed them.
  @Test func closuresFromOtherThreadsRunOnceInOrderOnTheLoop() async throws {
    try await withReactor { reactor in
      let perThread = 10_000
      let log = Locked<[[Int]]>([[], []])
      let offLoop = Counter()
      let done = DispatchSemaphore(value: 0)
      let finished = Counter()
      DispatchQueue.concurrentPerform(iterations: 2) { thread in
        for index in 0..<perThread {
          reactor.execute {
            if !reactor.isCurrent { offLoop.increment() }
            log.withLock { $0[thread].append(index) }
            if finished.increment() == 2 * perThread { done.signal() }
          }
        }
      }
      await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
          done.wait()
          continuation.resume()
        }
      }
      let runs = log.withLock { $0 }
      #expect(runs[0] == Array(0..<perThread))
      #expect(runs[1] == Array(0..<perThread))
      #expect(offLoop.value == 0)
    }
  }

  /// From the loop thread, a closure runs after the current job, not inside
  /// it.
  @Test func aClosureFromTheLoopRunsAfterTheCurrentJob() async throws {
    try await withReactor { reactor in
      let order = Locked<[String]>([])
      await Task(executorPreference: reactor) {
        reactor.execute { order.withLock { $0.append("closure") } }
        order.withLock { $0.append("job") }
      }.value
      try await reactor.nop()
      #expect(order.withLock { $0 } == ["job", "closure"])
    }
  }

  /// After shutdown a closure still runs, exactly once.
  @Test func aClosureAfterShutdownStillRunsOnce() async throws {
    let reactor = try Reactor()
    await reactor.shutdown()
    let ran = Counter()
    await withCheckedContinuation { continuation in
      reactor.execute {
        ran.increment()
        continuation.resume()
      }
    }
    #expect(ran.value == 1)
  }
}
