import Dispatch
import UringReactor

/// `nop-1`, `nop-256`: async round trips through each system's completion
/// mechanism, from `concurrency` tasks at once.
///
/// Only the reactor has an io_uring nop. The other systems do the closest
/// honest equivalent, an `await` that suspends the task and is resumed by the
/// system's own machinery:
/// - reactor: `try await reactor.nop()` (SQE, `io_uring_enter`, CQE, resume)
///   from tasks that all run on the reactor;
/// - dispatch: `withUnsafeContinuation { DispatchQueue.global().async { resume } }`
///   from tasks on the default executor: what wrapping blocking work in
///   Dispatch costs per operation, minus the work;
/// - default-executor: `withUnsafeContinuation { Task.detached { resume } }`
///   from tasks on the default executor: a round trip through a new
///   unstructured task.
struct NopRoundTrip: Workload {
  let concurrency: Int

  var id: String { "nop-\(concurrency)" }
  /// With the C limit of the same trip: `concurrency` nops per `io_uring_enter`.
  var systems: [BenchSystem] { BenchSystem.swiftSystems + [.cLiburing] }
  let unit = "ops/s"
  var summary: String {
    "await reactor.nop() round trips from \(concurrency) concurrent task"
      + (concurrency == 1 ? "" : "s") + " (others: equivalent async round trip)"
  }
  var initialOperations: Int { max(2_000, concurrency * 8) }
  var granularity: Int { concurrency }

  func footnote(for system: BenchSystem) -> String {
    let tasks = "\(concurrency) task" + (concurrency == 1 ? "" : "s")
    switch system {
    case .reactor:
      return "`try await reactor.nop()` (IORING_OP_NOP) in \(tasks) added with "
        + "addTask(executorPreference: reactor)"
    case .defaultExecutor:
      return "continuation resumed by a new `Task.detached { c.resume() }`, "
        + "awaited in \(tasks) on the default executor"
    case .dispatch:
      return "continuation resumed by `DispatchQueue.global().async { c.resume() }`, "
        + "awaited in \(tasks) on the default executor"
    case .cLiburing:
      return "C loop (Sources/CBaselines/cb_nop.c): \(concurrency) IORING_OP_NOP per "
        + "io_uring_enter (submit, wait for all), SINGLE_ISSUER | DEFER_TASKRUN"
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let perTask = max(1, operations / concurrency)
    let expected = perTask * concurrency
    let outcome: Result<Sample, BenchError>
    switch system {
    case .reactor:
      outcome = await runOnReactor(reactor, perTask: perTask)
    case .defaultExecutor:
      outcome = .success(await runOnDefaultExecutor(perTask: perTask))
    case .dispatch:
      outcome = .success(await runOnDispatch(perTask: perTask))
    case .cLiburing:
      outcome = Result { () throws(BenchError) -> Sample in
        try CLiburing.nop(batch: concurrency, operations: expected).sample
      }
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
    let sample = try outcome.get()
    guard sample.operations == expected else {
      throw BenchError(
        "\(id) \(system.id): expected \(expected) completed operations, counted \(sample.operations)"
      )
    }
    return sample
  }

  private func runOnReactor(_ reactor: Reactor, perTask: Int) async -> Result<Sample, BenchError> {
    let concurrency = self.concurrency
    return await Task(executorPreference: reactor) { () async -> Result<Sample, BenchError> in
      let clock = ContinuousClock()
      let start = clock.now
      do {
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
          for _ in 0..<concurrency {
            group.addTask(executorPreference: reactor) {
              var done = 0
              for _ in 0..<perTask {
                try await reactor.nop()
                done += 1
              }
              return done
            }
          }
          var total = 0
          for try await done in group { total += done }
          return total
        }
        return .success(Sample(operations: total, elapsed: start.duration(to: clock.now)))
      } catch {
        return .failure(BenchError("nop-\(concurrency) reactor: nop failed: \(error)"))
      }
    }.value
  }

  @concurrent
  private func runOnDefaultExecutor(perTask: Int) async -> Sample {
    await concurrently(perTask: perTask) {
      unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
        Task.detached { unsafe continuation.resume() }
      }
    }
  }

  @concurrent
  private func runOnDispatch(perTask: Int) async -> Sample {
    await concurrently(perTask: perTask) {
      unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
        DispatchQueue.global().async { unsafe continuation.resume() }
      }
    }
  }

  /// Runs `operation` `perTask` times in each of `concurrency` child tasks on
  /// the default executor, and counts the completed operations.
  private func concurrently(
    perTask: Int,
    _ operation: @escaping @Sendable () async -> Void
  ) async -> Sample {
    let clock = ContinuousClock()
    let start = clock.now
    let total = await withTaskGroup(of: Int.self) { group in
      for _ in 0..<concurrency {
        group.addTask {
          var done = 0
          for _ in 0..<perTask {
            await operation()
            done += 1
          }
          return done
        }
      }
      var total = 0
      for await done in group { total += done }
      return total
    }
    return Sample(operations: total, elapsed: start.duration(to: clock.now))
  }
}
