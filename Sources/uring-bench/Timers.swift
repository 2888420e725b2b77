import Dispatch
import UringReactor

/// `sleep-100k`: 100,000 short sleeps per run (10,000 tasks, each sleeping
/// 1 ms ten times; more per run when calibration asks), all in flight at once.
///
/// - reactor: `Task.sleep(for:)` in tasks that prefer the reactor: every sleep
///   is a delayed job in the loop's timer heap, one `IORING_OP_TIMEOUT` armed
///   for the earliest deadline;
/// - default-executor: the same `Task.sleep(for:)` in tasks on Swift's default
///   executor (Dispatch timers underneath);
/// - dispatch: `DispatchQueue.global().asyncAfter` resuming a continuation, in
///   tasks on the default executor.
struct SleepTimers: Workload {
  let id = "sleep-100k"
  let unit = "sleeps/s"
  let summary = "100,000 concurrent 1 ms sleeps (10,000 tasks x 10) per run"
  let initialOperations = 100_000
  let granularity = 100_000
  static let tasks = 10_000
  static let interval = Duration.milliseconds(1)

  func footnote(for system: BenchSystem) -> String {
    switch system {
    case .reactor:
      "`Task.sleep(for: .milliseconds(1))` in 10,000 tasks that prefer the reactor "
        + "(io_uring timeouts, one armed at a time)"
    case .defaultExecutor:
      "`Task.sleep(for: .milliseconds(1))` in 10,000 tasks on the default executor"
    case .dispatch:
      "`DispatchQueue.global().asyncAfter(1 ms) { c.resume() }` awaited in 10,000 tasks"
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .cLiburing, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let perTask = max(1, operations / Self.tasks)
    let sample: Sample
    switch system {
    case .reactor:
      sample = await Task(executorPreference: reactor) {
        await Self.sleepers(perTask: perTask, preferring: reactor) {
          try? await Task.sleep(for: Self.interval)
        }
      }.value
    case .defaultExecutor:
      sample = await Task.detached {
        await Self.sleepers(perTask: perTask, preferring: nil) {
          try? await Task.sleep(for: Self.interval)
        }
      }.value
    case .dispatch:
      sample = await Task.detached {
        await Self.sleepers(perTask: perTask, preferring: nil) {
          unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(1)) {
              unsafe continuation.resume()
            }
          }
        }
      }.value
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .cLiburing, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
    guard sample.operations == perTask * Self.tasks else {
      throw BenchError(
        "\(id) \(system.id): expected \(perTask * Self.tasks) sleeps, counted \(sample.operations)")
    }
    return sample
  }

  /// `tasks` tasks (preferring `executor`, if given) each sleeping `perTask`
  /// times; counts the sleeps that ended.
  private static func sleepers(
    perTask: Int, preferring executor: (any TaskExecutor)?,
    _ sleep: @escaping @Sendable () async -> Void
  ) async -> Sample {
    let clock = ContinuousClock()
    let start = clock.now
    let total = await withTaskGroup(of: Int.self) { group in
      for _ in 0..<tasks {
        group.addTask(executorPreference: executor) {
          for _ in 0..<perTask { await sleep() }
          return perTask
        }
      }
      var total = 0
      for await done in group { total += done }
      return total
    }
    return Sample(operations: total, elapsed: start.duration(to: clock.now))
  }
}
