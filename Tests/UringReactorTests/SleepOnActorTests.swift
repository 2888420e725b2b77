import TestSupport
import Testing

@testable import UringReactor

/// An actor pinned to a reactor, called from tasks with no executor
/// preference.
actor PinnedSleeper {
  let reactor: Reactor

  init(on reactor: Reactor) { self.reactor = reactor }

  nonisolated var unownedExecutor: UnownedSerialExecutor { reactor.asUnownedSerialExecutor() }

  /// Sleeps with `reactor.sleep(for:)`; whether it ran on the reactor's
  /// thread before, and after.
  func sleepOnTheRing(for duration: Duration) async throws -> (before: Bool, after: Bool) {
    let before = reactor.loop.isOnLoopThread
    try await reactor.sleep(for: duration)
    return (before, reactor.loop.isOnLoopThread)
  }

  /// Sleeps with plain `Task.sleep`.
  func plainSleep(for duration: Duration) async throws {
    try await Task.sleep(for: duration)
  }
}

@Suite(.requiresUring, .sharesProcess)
struct SleepOnActorTests {
  /// `reactor.sleep(for:)` from an actor pinned to the reactor, in a task
  /// with no executor preference: served by the ring (a delayed job in the
  /// loop's timer heap), on the reactor's thread before and after, and never
  /// early. Plain `Task.sleep` there goes to the default executor (Swift 6.3
  /// asks the task's preferred executor, not the actor's): the ring never
  /// sees it. That is the documented behaviour, checked so a toolchain that
  /// changes it is noticed.
  @Test func anActorPinnedToTheReactorSleepsOnTheRing() async throws {
    try await withReactor { reactor in
      let sleeper = PinnedSleeper(on: reactor)
      let start = ContinuousClock.now
      let placement = try await Task.detached {
        try await sleeper.sleepOnTheRing(for: .milliseconds(2))
      }.value
      #expect(ContinuousClock.now - start >= .milliseconds(2))
      #expect(placement.before && placement.after)
      #expect(await inspect(reactor) { $0.statistics.delayedJobs } == 1)

      try await Task.detached { try await sleeper.plainSleep(for: .milliseconds(1)) }.value
      #expect(await inspect(reactor) { $0.statistics.delayedJobs } == 1)
    }
  }

  /// A cancelled `reactor.sleep` on such an actor returns at once with
  /// `CancellationError` and leaves no kernel timeout armed.
  @Test func aCancelledSleepOnAPinnedActorReturnsPromptly() async throws {
    try await withReactor { reactor in
      let sleeper = PinnedSleeper(on: reactor)
      let task = Task.detached {
        try await sleeper.sleepOnTheRing(for: .seconds(3600))
      }
      try await waitOnLoop(reactor) { $0.statistics.delayedJobs == 1 }
      task.cancel()
      await #expect(throws: CancellationError.self) { try await task.value }
      // No wake-up job left, no timeout armed, and (once the removal's CQE
      // and the cancelled timeout's are back) only the eventfd read in flight.
      try await waitOnLoop(reactor) { loop in
        loop.timers.count == 0 && loop.timers.armed.allSatisfy { $0 == nil }
          && loop.table.count == 1
      }
      #expect(await inspect(reactor) { $0.statistics.sleepsCancelled } == 1)
    }
  }
}
