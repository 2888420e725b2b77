import Dispatch
import UringReactor

/// `actor-hop`, `actor-hop-no-preference`: ping-pong between two actors on
/// the same executor.
///
/// The two ids differ only in the reactor's driving task: `actor-hop` starts
/// it with `Task(executorPreference: reactor)` (the configuration for tasks
/// that do I/O), `actor-hop-no-preference` with `Task.detached` (no task
/// executor preference). The runtime treats a hop as "same executor" only if
/// the serial executor AND the task executor both match, so the two can differ
/// widely. Default executor and Dispatch run the same code under both ids.
///
/// One call `await ponger.pong()` from the pinger is two hops: into the ponger
/// and back into the pinger. Every hop does observable work so the optimizer
/// cannot fold it away (see FIELD-NOTES, "benchmarking pitfalls"): the callee
/// increments its own counter and returns it, the caller adds the returned
/// value to its own state, and the run checks both totals afterwards.
struct ActorHop: Workload {
  /// Whether the reactor's driving task prefers the reactor as task executor.
  let reactorTaskPreference: Bool

  var id: String { reactorTaskPreference ? "actor-hop" : "actor-hop-no-preference" }
  let unit = "hops/s"
  var summary: String {
    "same-executor actor ping-pong, 2 hops per call; reactor task "
      + (reactorTaskPreference ? "with" : "without") + " executor preference"
  }
  let initialOperations = 20_000
  let granularity = 2

  func footnote(for system: BenchSystem) -> String {
    switch system {
    case .reactor:
      "two actors pinned to the reactor (unownedExecutor = reactor), loop in one of them, "
        + (reactorTaskPreference
          ? "driving task created with Task(executorPreference: reactor)"
          : "driving task created with Task.detached (no executor preference)")
    case .defaultExecutor:
      "two default actors, loop in one of them, driving task created with Task.detached"
    case .dispatch:
      "two serial DispatchQueues: A does queueB.async, B answers with queueA.async"
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .cLiburing, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let calls = max(1, operations / 2)
    let result: PingPongResult
    switch system {
    case .reactor:
      let ponger = ReactorPonger(reactor: reactor)
      let pinger = ReactorPinger(reactor: reactor)
      if reactorTaskPreference {
        result = await Task(executorPreference: reactor) {
          await pinger.run(against: ponger, calls: calls)
        }.value
      } else {
        result = await Task.detached {
          await pinger.run(against: ponger, calls: calls)
        }.value
      }
    case .defaultExecutor:
      let ponger = DefaultPonger()
      let pinger = DefaultPinger()
      result = await Task.detached {
        await pinger.run(against: ponger, calls: calls)
      }.value
    case .dispatch:
      result = await DispatchPingPong().run(calls: calls)
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .reactorGroup, .cLiburing, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
    try result.verify(calls: calls)
    return Sample(operations: 2 * calls, elapsed: result.elapsed)
  }
}

/// What a ping-pong run reports, for verification.
struct PingPongResult: Sendable {
  /// Sum of every value the pinger received (1 + 2 + ... + calls).
  var received: Int
  /// How many times the ponger ran.
  var pongs: Int
  var elapsed: Duration

  func verify(calls: Int) throws(BenchError) {
    let expected = calls * (calls + 1) / 2
    guard pongs == calls, received == expected else {
      throw BenchError(
        "actor ping-pong: expected \(calls) pongs summing to \(expected), got \(pongs) summing to "
          + "\(received): hops were lost or folded away")
    }
  }
}

// MARK: - Reactor: both actors pinned to one reactor

actor ReactorPonger {
  let reactor: Reactor
  private(set) var count = 0

  init(reactor: Reactor) { self.reactor = reactor }

  nonisolated var unownedExecutor: UnownedSerialExecutor {
    unsafe reactor.asUnownedSerialExecutor()
  }

  func pong() -> Int {
    count += 1
    return count
  }
}

actor ReactorPinger {
  let reactor: Reactor
  private var received = 0

  init(reactor: Reactor) { self.reactor = reactor }

  nonisolated var unownedExecutor: UnownedSerialExecutor {
    unsafe reactor.asUnownedSerialExecutor()
  }

  func run(against ponger: ReactorPonger, calls: Int) async -> PingPongResult {
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<calls {
      received &+= await ponger.pong()
    }
    let elapsed = start.duration(to: clock.now)
    return PingPongResult(received: received, pongs: await ponger.count, elapsed: elapsed)
  }
}

// MARK: - Default executor: two default actors

actor DefaultPonger {
  private(set) var count = 0

  func pong() -> Int {
    count += 1
    return count
  }
}

actor DefaultPinger {
  private var received = 0

  func run(against ponger: DefaultPonger, calls: Int) async -> PingPongResult {
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<calls {
      received &+= await ponger.pong()
    }
    let elapsed = start.duration(to: clock.now)
    return PingPongResult(received: received, pongs: await ponger.count, elapsed: elapsed)
  }
}

// MARK: - Dispatch: two serial queues answering each other

/// Ping-pong of async blocks between two serial queues.
///
/// Thread-safety: `@unchecked Sendable`; `received`, `remaining` and `done` are
/// touched only on `queueA` (and `done` is set before the first block is
/// queued), `pongs` only on `queueB`. The queues order the hand-offs.
@safe
final class DispatchPingPong: @unchecked Sendable {
  // @safe: its unsafe storage is owned here and freed once; see the SAFETY notes on its fields.
  private let queueA = DispatchQueue(label: "uring-bench.ping")
  private let queueB = DispatchQueue(label: "uring-bench.pong")
  private var received = 0
  private var remaining = 0
  private var pongs = 0
  private var done: UnsafeContinuation<Void, Never>?

  @concurrent
  func run(calls: Int) async -> PingPongResult {
    remaining = calls
    let clock = ContinuousClock()
    let start = clock.now
    unsafe await withUnsafeContinuation { continuation in
      unsafe done = unsafe continuation
      queueA.async { self.ping() }
    }
    let elapsed = start.duration(to: clock.now)
    let (received, pongs) = queueA.sync { (self.received, queueB.sync { self.pongs }) }
    return PingPongResult(received: received, pongs: pongs, elapsed: elapsed)
  }

  /// On `queueA`.
  private func ping() {
    queueB.async {
      self.pongs += 1
      let value = self.pongs
      self.queueA.async {
        self.received &+= value
        self.remaining -= 1
        if self.remaining == 0 {
          unsafe self.done!.resume()
        } else {
          self.ping()
        }
      }
    }
  }
}
