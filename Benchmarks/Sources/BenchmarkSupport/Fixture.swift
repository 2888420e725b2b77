import Benchmark
import Glibc

/// Registers a benchmark with state: `setup` makes it before the iterations
/// (not measured), `run` measures one iteration with it, `teardown` releases
/// it after the last iteration.
public func benchmark<State: Sendable>(
  _ name: String,
  configuration: Benchmark.Configuration = Benchmark.defaultConfiguration,
  setup: @escaping @Sendable () async throws -> State,
  teardown: @escaping @Sendable (State) async throws -> Void = { _ in },
  run: @escaping @Sendable (Benchmark, State) async throws -> Void
) {
  let slot = StateSlot<State>()
  Benchmark(
    name, configuration: configuration,
    closure: { (benchmark: Benchmark) async throws in
      guard let state = slot.value else { throw BenchmarkFailure("\(name): setup did not run") }
      try await run(benchmark, state)
    },
    setup: { slot.value = try await setup() },
    teardown: {
      if let state = slot.take() { try await teardown(state) }
    })
}

/// The state between a benchmark's setup and teardown.
final class StateSlot<State: Sendable>: @unchecked Sendable {
  // @unchecked: guarded by `lock`; the framework runs setup, the iterations
  // and teardown one after the other anyway.
  private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private var state: State?

  init() { pthread_mutex_init(lock, nil) }
  deinit {
    pthread_mutex_destroy(lock)
    lock.deallocate()
  }

  var value: State? {
    get {
      pthread_mutex_lock(lock)
      defer { pthread_mutex_unlock(lock) }
      return state
    }
    set {
      pthread_mutex_lock(lock)
      state = newValue
      pthread_mutex_unlock(lock)
    }
  }

  func take() -> State? {
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    let taken = state
    state = nil
    return taken
  }
}
