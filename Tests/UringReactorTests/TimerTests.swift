import Glibc
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Reads loop-confined state on the loop thread.
func inspect<T: Sendable>(_ reactor: Reactor, _ body: @escaping @Sendable (EventLoop) -> T) async
  -> T
{
  let loop = reactor.loop
  return await Task(executorPreference: reactor) { body(loop) }.value
}

/// Waits, on the loop thread, until `condition` holds: checks it once per loop
/// iteration (a nop round trip), no sleeping.
func waitOnLoop(_ reactor: Reactor, until condition: @escaping @Sendable (EventLoop) -> Bool)
  async throws
{
  let loop = reactor.loop
  try await Task(executorPreference: reactor) {
    while !condition(loop) { try await reactor.nop() }
  }.value
}

@Suite(.requiresUring, .sharesProcess)
struct TimerTests {
  /// 10,000 sleepers with scattered deadlines: each wakes at or after its
  /// deadline, and they wake in deadline order, with one kernel timeout armed
  /// at a time (far fewer arms than sleepers).
  @Test func tenThousandSleepsWakeInDeadlineOrderNoneEarly() async throws {
    try await withReactor { reactor in
      let count = 10_000
      let wakes = Locked<[(deadline: ContinuousClock.Instant, woke: ContinuousClock.Instant)]>([])
      try await Task(executorPreference: reactor) {
        // All children start in one loop iteration (this job spawns them
        // without suspending), so every sleep is scheduled before any fires.
        let base = ContinuousClock.now + .milliseconds(200)
        try await withThrowingTaskGroup(of: Void.self) { group in
          for index in 0..<count {
            // Scattered, with many equal deadlines.
            let offset = Duration.microseconds((index * 7919) % 250 * 1000)
            let deadline = base + offset
            group.addTask(executorPreference: reactor) {
              try await Task.sleep(until: deadline, clock: .continuous)
              let woke = ContinuousClock.now
              wakes.withLock { $0.append((deadline, woke)) }
            }
          }
          try await group.waitForAll()
        }
      }.value
      let recorded = wakes.withLock { $0 }
      #expect(recorded.count == count)
      #expect(recorded.allSatisfy { $0.woke >= $0.deadline }, "a sleep ended early")
      let inOrder = zip(recorded, recorded.dropFirst()).allSatisfy { $0.deadline <= $1.deadline }
      #expect(inOrder, "sleepers woke out of deadline order")
      let stats = await inspect(reactor) { $0.statistics }
      #expect(stats.timersFired == count)
      #expect(stats.timeoutsArmed >= 1 && stats.timeoutsArmed < 1_000)
      let pending = await inspect(reactor) {
        ($0.timers.count, $0.timers.armed.compactMap { $0 }.count)
      }
      #expect(pending == (0, 0), "nothing waits and nothing stays armed")
    }
  }

  /// A cancelled `Task.sleep` returns at once, its wake-up job runs (freeing
  /// the runtime's state) and the kernel timeout is removed: nothing armed is
  /// left behind.
  @Test func cancelledSleepsReturnPromptlyAndLeaveNoTimeoutArmed() async throws {
    try await withReactor { reactor in
      let recorder = TimeoutRecorder()
      try await recorder.install(on: reactor)
      let sleepers = 100
      let tasks = await Task(executorPreference: reactor) { () -> [Task<Bool, Never>] in
        (0..<sleepers).map { _ in
          Task(executorPreference: reactor) { () -> Bool in
            do {
              try await Task.sleep(for: .seconds(3600))
              return false
            } catch {
              return error is CancellationError
            }
          }
        }
      }.value
      // The sleepers run in one iteration; the timeout is armed after them.
      await recorder.waitUntilPrepared(.timeout, count: 1)
      #expect(await inspect(reactor) { $0.timers.count } == sleepers)
      for task in tasks { task.cancel() }
      for task in tasks { #expect(await task.value, "the sleep threw CancellationError") }
      // The removal's CQE and the cancelled timeout's CQE both come back.
      await recorder.waitUntilCompleted(.timeout, count: 1)
      let state = await inspect(reactor) { loop in
        (
          loop.timers.count, loop.timers.armed.compactMap { $0 }.count,
          loop.statistics.sleepsCancelled, loop.statistics.timeoutsRemoved
        )
      }
      #expect(state.0 == 0, "no wake-up job left waiting")
      #expect(state.1 == 0, "no timeout armed")
      #expect(state.2 == sleepers)
      #expect(state.3 == 1)
      #expect(recorder.lastTimeoutResult == -ECANCELED)
      // The in-flight table holds only the eventfd read again.
      try await waitOnLoop(reactor) { $0.table.count == 1 }
    }
  }

  /// An earlier deadline moves the armed timeout (`IORING_TIMEOUT_UPDATE`)
  /// instead of waiting behind a later one; `SuspendingClock` sleeps work too.
  @Test func earlierDeadlineUpdatesTheArmedTimeout() async throws {
    try await withReactor { reactor in
      let long = Task(executorPreference: reactor) {
        try await Task.sleep(for: .seconds(3600))
      }
      try await waitOnLoop(reactor) { $0.timers.armed[TimerClock.continuous.rawValue] != nil }
      let start = ContinuousClock.now
      try await Task(executorPreference: reactor) {
        try await Task.sleep(for: .milliseconds(5))
      }.value
      #expect(ContinuousClock.now - start >= .milliseconds(5))
      let suspendingStart = SuspendingClock.now
      try await Task(executorPreference: reactor) {
        try await Task.sleep(for: .milliseconds(5), clock: .suspending)
      }.value
      #expect(SuspendingClock.now - suspendingStart >= .milliseconds(5))
      let stats = await inspect(reactor) { $0.statistics }
      #expect(stats.timeoutsUpdated >= 1, "the 1-hour timeout was moved earlier")
      #expect(stats.timersFired == 2)
      long.cancel()
      await #expect(throws: CancellationError.self) { try await long.value }
    }
  }

  /// `reactor.sleep(for:)` from a task that does not run on the reactor waits
  /// on its ring and returns to the caller's executor; cancelled, it throws.
  @Test func reactorSleepFromElsewhere() async throws {
    try await withReactor { reactor in
      let start = ContinuousClock.now
      try await reactor.sleep(for: .milliseconds(3))
      #expect(ContinuousClock.now - start >= .milliseconds(3))
      #expect(!reactor.isCurrent)
      #expect(await inspect(reactor) { $0.statistics.delayedJobs } == 1)
      let sleeper = Task { try await reactor.sleep(for: .seconds(3600)) }
      try await waitOnLoop(reactor) { $0.timers.count == 1 }
      sleeper.cancel()
      await #expect(throws: CancellationError.self) { try await sleeper.value }
      try await waitOnLoop(reactor) {
        $0.timers.count == 0 && $0.timers.armed.allSatisfy { $0 == nil }
      }
    }
  }

  /// A sleep begun after the reactor terminated is not dropped and never
  /// ends early: it finishes on the fallback queue at its deadline. (Sleeps
  /// waiting when shutdown begins end at once: `ShutdownSleepTests`.)
  @Test func sleepsAfterTerminationStillNeverEndEarly() async throws {
    let reactor = try Reactor()
    await reactor.shutdown()
    let deadline = ContinuousClock.now + .milliseconds(30)
    let woke = try await Task(executorPreference: reactor) { () -> ContinuousClock.Instant in
      try await Task.sleep(until: deadline, clock: .continuous)
      return ContinuousClock.now
    }.value
    #expect(woke >= deadline)
  }
}

/// Counts timeout SQEs and CQEs on a reactor's loop and lets tests wait for them.
final class TimeoutRecorder: LoopObserver, @unchecked Sendable {
  // SAFETY: the observer methods run on the loop thread; what they share with
  // the test is behind `state`.
  private struct State {
    var prepared: [Opcode: Int] = [:]
    var completed: [Opcode: Int] = [:]
    var lastTimeoutResult: Int32?
    var waiters: [(Bool, Opcode, Int, UnsafeContinuation<Void, Never>)] = []
  }
  private let state = Locked(State())

  func install(on reactor: Reactor) async throws {
    let loop = reactor.loop
    await Task(executorPreference: reactor) { loop.observer = self }.value
  }

  func prepared(_ userData: UInt64, opcode: Opcode) {
    let ready = state.withLock { state in
      state.prepared[opcode, default: 0] += 1
      return Self.takeReady(&state)
    }
    for waiter in ready { waiter.resume() }
  }

  func completing(_ completion: Completion, opcode: Opcode) {
    let ready = state.withLock { state in
      state.completed[opcode, default: 0] += 1
      if opcode == .timeout { state.lastTimeoutResult = completion.result }
      return Self.takeReady(&state)
    }
    for waiter in ready { waiter.resume() }
  }

  var lastTimeoutResult: Int32? { state.withLock { $0.lastTimeoutResult } }
  func preparedCount(_ opcode: Opcode) -> Int { state.withLock { $0.prepared[opcode] ?? 0 } }
  func completedCount(_ opcode: Opcode) -> Int { state.withLock { $0.completed[opcode] ?? 0 } }

  func waitUntilPrepared(_ opcode: Opcode, count: Int) async {
    await wait(completed: false, opcode, count)
  }

  func waitUntilCompleted(_ opcode: Opcode, count: Int) async {
    await wait(completed: true, opcode, count)
  }

  private func wait(completed: Bool, _ opcode: Opcode, _ count: Int) async {
    await withUnsafeContinuation { continuation in
      let now = state.withLock { state -> Bool in
        let seen = (completed ? state.completed : state.prepared)[opcode] ?? 0
        if seen >= count { return true }
        state.waiters.append((completed, opcode, count, continuation))
        return false
      }
      if now { continuation.resume() }
    }
  }

  private static func takeReady(_ state: inout State) -> [UnsafeContinuation<Void, Never>] {
    var ready: [UnsafeContinuation<Void, Never>] = []
    state.waiters.removeAll { completed, opcode, count, continuation in
      let seen = (completed ? state.completed : state.prepared)[opcode] ?? 0
      guard seen >= count else { return false }
      ready.append(continuation)
      return true
    }
    return ready
  }
}
