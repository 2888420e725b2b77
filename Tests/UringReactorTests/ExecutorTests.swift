import Synchronization
import TestSupport
import Testing
import UringReactor

actor PinnedCounter {
  let reactor: Reactor
  var value = 0
  init(on reactor: Reactor) { self.reactor = reactor }
  nonisolated var unownedExecutor: UnownedSerialExecutor { reactor.asUnownedSerialExecutor() }

  func increment() -> (Int, Bool) {
    value += 1
    return (value, reactor.isCurrent)
  }

  /// I/O from an actor pinned to the reactor: no task-executor preference.
  func nops(_ count: Int) async throws -> Bool {
    for _ in 0..<count {
      try await reactor.nop()
      guard reactor.isCurrent else { return false }
    }
    return true
  }

  func assertIsolated() -> Bool {
    reactor.preconditionIsolated()
    return reactor.isCurrent
  }
}

@Suite(.requiresUring, .sharesProcess)
struct ExecutorTests {
  @Test func taskWithPreferenceRunsOnLoopThread() async throws {
    try await withReactor { reactor in
      let onLoop = await Task(executorPreference: reactor) { reactor.isCurrent }.value
      #expect(onLoop)
      #expect(!reactor.isCurrent)
      let inScope = await withTaskExecutorPreference(reactor) { @concurrent () async -> Bool in
        reactor.isCurrent
      }
      #expect(inScope)
      let fromGroup = await withTaskGroup(of: Bool.self) { group in
        for _ in 0..<8 { group.addTask(executorPreference: reactor) { reactor.isCurrent } }
        return await group.reduce(true) { $0 && $1 }
      }
      #expect(fromGroup)
    }
  }

  @Test func pinnedActorIsIsolatedToLoopThread() async throws {
    try await withReactor { reactor in
      let counter = PinnedCounter(on: reactor)
      for expected in 1...100 {
        let (value, onLoop) = await counter.increment()
        #expect(value == expected)
        #expect(onLoop)
      }
      #expect(await counter.assertIsolated())
      let stayedOnLoop = try await counter.nops(1000)
      #expect(stayedOnLoop)
      #expect(reactor.isIsolatingCurrentContext() == false)
    }
  }

  @Test func concurrentEnqueueRunsEachJobExactlyOnce() async throws {
    try await withReactor { reactor in
      let producers = 8
      let jobsPerProducer = 2_000
      let counts = Tally(producers * jobsPerProducer)
      await withTaskGroup(of: Void.self) { outer in
        for producer in 0..<producers {
          outer.addTask {
            await withTaskGroup(of: Void.self) { group in
              for job in 0..<jobsPerProducer {
                group.addTask(executorPreference: reactor) {
                  precondition(reactor.isCurrent)
                  counts.add(producer * jobsPerProducer + job)
                }
              }
            }
          }
        }
      }
      let all = counts.snapshot()
      #expect(all.allSatisfy { $0 == 1 })
    }
  }

  @Test func nopRoundTripsFromLoopAndFromElsewhere() async throws {
    try await withReactor { reactor in
      try await reactor.nop()
      try await Task(executorPreference: reactor) {
        for _ in 0..<1000 { try await reactor.nop() }
      }.value
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<256 {
          group.addTask(executorPreference: reactor) {
            for _ in 0..<50 { try await reactor.nop() }
          }
        }
        try await group.waitForAll()
      }
      let counter = PinnedCounter(on: reactor)
      _ = await counter.increment()
    }
  }
}
