import Testing

/// Lets the tests run in parallel (Swift Testing's default) although some of
/// them look at or change what the whole process shares: they count its open
/// descriptors (a leak check), or set a resource limit or a signal
/// disposition. Such a test is marked ``Testing/Trait/ownsProcess`` and runs
/// alone; every other test is marked ``Testing/Trait/sharesProcess`` (on its
/// suite) and runs alongside the others, never beside an owning test.
/// `.serialized` would not do: it orders the tests of one suite, while the
/// other suites keep running.
///
/// Every suite of both test targets carries one of the two (a test that
/// carries neither could open descriptors while an owning test counts them).
public struct ProcessGate: SuiteTrait, TestTrait, TestScoping {
  /// Whether the test runs alone.
  public let exclusive: Bool

  public var isRecursive: Bool { true }

  public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
    testCase == nil ? nil : self
  }

  public func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    // A test gets this scope once per gate trait it inherits or carries:
    // the outermost takes the gate, in the mode any of them asks for.
    if ProcessGate.held {
      try await function()
      return
    }
    let exclusive = test.traits.contains { ($0 as? ProcessGate)?.exclusive == true }
    await gate.acquire(exclusive: exclusive)
    defer { gate.release(exclusive: exclusive) }
    try await ProcessGate.$held.withValue(true) { try await function() }
  }

  @TaskLocal private static var held = false
}

extension Trait where Self == ProcessGate {
  /// Runs with the other tests, never while a test that owns the process runs.
  public static var sharesProcess: Self { ProcessGate(exclusive: false) }
  /// Runs alone: the test counts the process's descriptors or changes
  /// process-wide state (resource limits, signal dispositions).
  public static var ownsProcess: Self { ProcessGate(exclusive: true) }
}

/// A first-come first-served readers-writer gate whose waiters suspend (the
/// cooperative pool's threads are never blocked).
private final class Gate: Sendable {
  private struct Waiter {
    var exclusive: Bool
    var continuation: CheckedContinuation<Void, Never>
  }

  private struct State {
    var sharing = 0
    var owned = false
    var waiters: [Waiter] = []
  }

  private let state = PthreadLocked(State())

  func acquire(exclusive: Bool) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let admitted = state.withLock { state -> Bool in
        let free = !state.owned && (!exclusive || state.sharing == 0)
        guard state.waiters.isEmpty, free else {
          state.waiters.append(Waiter(exclusive: exclusive, continuation: continuation))
          return false
        }
        if exclusive { state.owned = true } else { state.sharing += 1 }
        return true
      }
      if admitted { continuation.resume() }
    }
  }

  func release(exclusive: Bool) {
    let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
      if exclusive { state.owned = false } else { state.sharing -= 1 }
      var admitted: [CheckedContinuation<Void, Never>] = []
      while let next = state.waiters.first, !state.owned {
        if next.exclusive {
          guard state.sharing == 0 else { break }
          state.owned = true
        } else {
          state.sharing += 1
        }
        admitted.append(state.waiters.removeFirst().continuation)
      }
      return admitted
    }
    for continuation in admitted { continuation.resume() }
  }
}

private let gate = Gate()
