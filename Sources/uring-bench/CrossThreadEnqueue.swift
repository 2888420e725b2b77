import Dispatch
import Synchronization
import UringReactor

/// `enqueue-cross-thread`: one producer thread (a task on the default
/// executor, so never the reactor's thread) submits many tiny jobs to the
/// system, which runs them; the run ends when the last one has run.
///
/// - reactor: `Task(executorPreference: reactor) { tick }`: each job is a new
///   task whose first job crosses into the loop through its locked inbox;
/// - default-executor: `Task { tick }`, a new task on the global pool;
/// - dispatch: `queue.async { tick }` on one serial queue.
/// Each job decrements one shared atomic countdown (the same cost on every
/// system); the one that reaches zero resumes the waiting producer.
struct CrossThreadEnqueue: Workload {
  let id = "enqueue-cross-thread"
  let unit = "jobs/s"
  let summary = "jobs submitted from another thread until all have run"
  let initialOperations = 5_000
  let granularity = 1
  let systems: [BenchSystem] = [.reactor, .reactorExecute, .defaultExecutor, .dispatch]

  func footnote(for system: BenchSystem) -> String {
    switch system {
    case .reactor:
      "a task on the default executor creates `Task(executorPreference: reactor) { tick }` per job"
    case .reactorExecute:
      "a task on the default executor does `reactor.execute { tick }` per job (a closure job, no task)"
    case .defaultExecutor:
      "a task on the default executor creates `Task { tick }` per job (global pool)"
    case .dispatch:
      "a task on the default executor does `serialQueue.async { tick }` per job"
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorGroup, .cLiburing,
      .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let (sample, left) = await produce(system: system, jobs: operations, reactor: reactor)
    guard left == 0 else {
      throw BenchError(
        "\(id) \(system.id): \(operations) jobs submitted, countdown ended at \(left)")
    }
    return sample
  }

  /// Runs on the default executor: the producer is a cooperative-pool thread.
  @concurrent
  private func produce(system: BenchSystem, jobs: Int, reactor: Reactor) async -> (Sample, Int) {
    let queue = DispatchQueue(label: "uring-bench.enqueue")
    let clock = ContinuousClock()
    let start = clock.now
    let countdown = unsafe await withUnsafeContinuation {
      (continuation: UnsafeContinuation<Countdown, Never>) in
      let countdown = unsafe Countdown(jobs, continuation)
      switch system {
      case .reactor:
        for _ in 0..<jobs { Task(executorPreference: reactor) { countdown.tick() } }
      case .reactorExecute:
        for _ in 0..<jobs { reactor.execute { countdown.tick() } }
      case .defaultExecutor:
        for _ in 0..<jobs { Task { countdown.tick() } }
      case .dispatch:
        for _ in 0..<jobs { queue.async { countdown.tick() } }
      case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorGroup,
        .cLiburing, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
        preconditionFailure("\(id) does not run \(system.id)")
      }
    }
    let elapsed = start.duration(to: clock.now)
    return (Sample(operations: jobs, elapsed: elapsed), countdown.left)
  }
}

/// Counts jobs down; the job that reaches zero resumes the producer.
@safe
final class Countdown: Sendable {
  // @safe: its unsafe storage is owned here and freed once; see the SAFETY notes on its fields.
  private let remaining: Atomic<Int>
  private let continuation: UnsafeContinuation<Countdown, Never>

  init(_ count: Int, _ continuation: UnsafeContinuation<Countdown, Never>) {
    remaining = Atomic(count)
    unsafe self.continuation = unsafe continuation
  }

  func tick() {
    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
      unsafe continuation.resume(returning: self)
    }
  }

  var left: Int { remaining.load(ordering: .acquiring) }
}
