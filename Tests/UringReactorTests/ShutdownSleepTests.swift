import TestSupport
import Testing

@testable import UringReactor

/// Shutdown ends the sleeps waiting on a reactor: each `Task.sleep` in
/// progress returns at once, early and without throwing.
@Suite(.requiresUring, .sharesProcess)
struct ShutdownSleepTests {
  /// Tasks that prefer the reactor sleep for an hour; shutdown returns and
  /// every sleep returns (does not throw) long before its deadline.
  @Test func reactorShutdownEndsHourLongSleeps() async throws {
    let reactor = try Reactor()
    let sleepers = hourLongSleepers(8, on: reactor)
    try await waitOnLoop(reactor) { $0.timers.count == sleepers.count }
    let ends = try await endsOf(sleepers) { await reactor.shutdown() }
    #expect(ends == Array(repeating: .returnedEarly, count: sleepers.count))
  }

  /// The same for a group: tasks that prefer it sleep on its reactors;
  /// `ReactorGroup.shutdown()` ends every sleep.
  @Test func groupShutdownEndsHourLongSleeps() async throws {
    let group = try ReactorGroup(reactorCount: 2)
    let sleepers = hourLongSleepers(8, on: group)
    // Every sleep is in some reactor's heap before the shutdown is asked for.
    while true {
      var waiting = 0
      for reactor in group.reactors { waiting += await inspect(reactor) { $0.timers.count } }
      if waiting == sleepers.count { break }
      await Task.yield()
    }
    let ends = try await endsOf(sleepers) { await group.shutdown() }
    #expect(ends == Array(repeating: .returnedEarly, count: sleepers.count))
  }

  /// A sleep begun after the reactor terminated waits for its deadline (off
  /// the reactor); cancelling its task ends it at once with
  /// `CancellationError`, as anywhere.
  @Test func sleepAfterShutdownWaitsUntilCancelled() async throws {
    let reactor = try Reactor()
    await reactor.shutdown()
    let (started, starting) = AsyncStream.makeStream(of: Void.self)
    let sleeper = Task(executorPreference: reactor) { () -> SleepEnd in
      starting.yield()
      do {
        try await Task.sleep(for: .seconds(3600))
        return .returnedEarly
      } catch {
        return error is CancellationError ? .threw : .returnedAtDeadline
      }
    }
    for await _ in started { break }
    sleeper.cancel()
    let end = try await withinTimeLimit { await sleeper.value }
    #expect(end == .threw)
  }
}

/// How a sleep ended.
enum SleepEnd: Sendable, Equatable {
  case returnedEarly, returnedAtDeadline, threw
}

/// `count` tasks that prefer `executor`, each sleeping until an hour from now.
private func hourLongSleepers(
  _ count: Int, on executor: some TaskExecutor
) -> [Task<SleepEnd, Never>] {
  let deadline = ContinuousClock.now + .seconds(3600)
  return (0..<count).map { _ in
    Task(executorPreference: executor) { () -> SleepEnd in
      do {
        try await Task.sleep(until: deadline, clock: .continuous)
        return ContinuousClock.now < deadline ? .returnedEarly : .returnedAtDeadline
      } catch {
        return .threw
      }
    }
  }
}

/// Runs `shutdown`, then returns how each sleeper ended (within the time limit).
private func endsOf(
  _ sleepers: [Task<SleepEnd, Never>], after shutdown: @escaping @Sendable () async -> Void
) async throws -> [SleepEnd] {
  try await withinTimeLimit {
    await shutdown()
    var ends: [SleepEnd] = []
    for sleeper in sleepers { ends.append(await sleeper.value) }
    return ends
  }
}

struct TimeLimitExceeded: Error {}

/// Runs `body` in a task and returns its result, or throws if it has not
/// finished within a generous bound (30 s, where this takes milliseconds):
/// a regression fails the test instead of hanging it for an hour. `body`
/// is left running if it overruns.
func withinTimeLimit<T: Sendable>(
  _ body: @escaping @Sendable () async -> T
) async throws -> T {
  let outcome = Locked<CheckedContinuation<T?, Never>?>(nil)
  let result = await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
    outcome.withLock { $0 = continuation }
    Task {
      let value = await body()
      outcome.withLock { $0.take() }?.resume(returning: value)
    }
    Task {
      try? await Task.sleep(for: .seconds(30))
      outcome.withLock { $0.take() }?.resume(returning: nil)
    }
  }
  guard let result else { throw TimeLimitExceeded() }
  return result
}
