/// Suspends the calling task until the continuation handed to `body` is
/// resumed, checking the task's executor once (after the resumption) instead
/// of twice.
///
/// `withUnsafeContinuation(isolation:)` hops to its isolation on entry and
/// again after the resumption: two `swift_task_switch` calls, each of which,
/// for a task with an executor preference (every task the reactor runs),
/// reads the preference under the task's status-record lock (~35 ns a call
/// here). A `nonisolated(nonsending)` caller is on its isolation already
/// when it calls this, so the entry hop has nothing to do:
/// `_unsafeInheritExecutor_withUnsafeContinuation` leaves it out, and this
/// function, being `nonisolated(nonsending)` itself, still returns to the
/// caller's isolation (an actor pinned to the reactor, or none) after the
/// resumption, exactly as `withUnsafeContinuation` does.
///
/// `body` runs synchronously, before the task suspends, on the caller's
/// thread.
@inline(__always)
nonisolated(nonsending) func withLoopContinuation<T: Sendable>(
  _ body: (UnsafeContinuation<T, Never>) -> Void
) async -> T {
  await _unsafeInheritExecutor_withUnsafeContinuation(body)
}
