import Uring

@testable import UringReactor

/// Observes a reactor's loop (on its thread) and lets tests wait for events
/// instead of sleeping.
final class OperationRecorder: LoopObserver, @unchecked Sendable {
  // SAFETY: `prepared`/`completing` run on the loop thread; everything they
  // share with test code is behind `state`.
  private struct State {
    var prepared: [Opcode: Int] = [:]
    var completed: [Opcode: Int] = [:]
    var waiters: [(Opcode, Int, UnsafeContinuation<Void, Never>)] = []
    var lastPrepared: [Opcode: UInt64] = [:]
  }
  private let state = Locked(State())
  /// Called on the loop thread when a final CQE arrives, before the slot is
  /// released.
  let onCompleting = Locked<(@Sendable (Completion, Opcode) -> Void)?>(nil)
  /// Called on the loop thread right after an SQE is prepared.
  let onPrepared = Locked<(@Sendable (UInt64, Opcode, EventLoop) -> Void)?>(nil)
  private weak var loop: EventLoop?

  func install(on reactor: Reactor) async throws {
    let loop = reactor.loop
    self.loop = loop
    await Task(executorPreference: reactor) { loop.observer = self }.value
  }

  func prepared(_ userData: UInt64, opcode: Opcode) {
    let ready = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
      state.prepared[opcode, default: 0] += 1
      state.lastPrepared[opcode] = userData
      return Self.takeReady(&state)
    }
    if let hook = onPrepared.withLock({ $0 }), let loop { hook(userData, opcode, loop) }
    for waiter in ready { waiter.resume() }
  }

  func completing(_ completion: Completion, opcode: Opcode) {
    state.withLock { $0.completed[opcode, default: 0] += 1 }
    if let hook = onCompleting.withLock({ $0 }) { hook(completion, opcode) }
  }

  func preparedCount(_ opcode: Opcode) -> Int { state.withLock { $0.prepared[opcode] ?? 0 } }
  func completedCount(_ opcode: Opcode) -> Int { state.withLock { $0.completed[opcode] ?? 0 } }
  func lastPrepared(_ opcode: Opcode) -> UInt64? { state.withLock { $0.lastPrepared[opcode] } }

  /// Returns once `count` SQEs of `opcode` have been prepared in all.
  func waitUntilPrepared(_ opcode: Opcode, count: Int) async {
    await withUnsafeContinuation { continuation in
      let now = state.withLock { state -> Bool in
        if (state.prepared[opcode] ?? 0) >= count { return true }
        state.waiters.append((opcode, count, continuation))
        return false
      }
      if now { continuation.resume() }
    }
  }

  private static func takeReady(_ state: inout State) -> [UnsafeContinuation<Void, Never>] {
    var ready: [UnsafeContinuation<Void, Never>] = []
    state.waiters.removeAll { opcode, count, continuation in
      guard (state.prepared[opcode] ?? 0) >= count else { return false }
      ready.append(continuation)
      return true
    }
    return ready
  }
}

/// Holds a weak reference that tests can read from any thread.
final class WeakBox<T: AnyObject & Sendable>: Sendable {
  private let storage = Locked<Weak>(Weak())
  private struct Weak { weak var value: T? }
  func set(_ value: T) { storage.withLock { $0.value = value } }
  var isAlive: Bool { storage.withLock { $0.value != nil } }
}
