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
/// thread. Its ``LoopContinuation`` keeps a group's task on this reactor
/// when the loop resumes it.
@inline(__always)
nonisolated(nonsending) func withLoopContinuation<T: Sendable>(
  _ body: (LoopContinuation<T>) -> Void
) async -> T {
  unsafe await _unsafeInheritExecutor_withUnsafeContinuation { unsafe body(LoopContinuation($0)) }
}

/// The continuation of a task that waits in a loop's code (an operation's
/// completion, a stream's next chunk, a free buffer): resuming it on the loop
/// thread keeps a group's task on this reactor (``EventLoop/resumingWaiters``),
/// because the task goes on inside this loop's code, which touches the ring and
/// the in-flight table of this loop only. Everywhere else, a plain resume.
@safe
struct LoopContinuation<T: Sendable>: Sendable {
  // @safe: the wrapped continuation is resumed exactly once, by the loop that armed it.
  let base: UnsafeContinuation<T, Never>

  @inline(__always)
  init(_ base: UnsafeContinuation<T, Never>) {
    unsafe self.base = unsafe base
  }

  @inline(__always)
  func resume(returning value: T) {
    guard let loop = LoopThreadMarker.current, loop.ownsLoopState, unsafe !loop.resumingWaiters
    else {
      unsafe base.resume(returning: value)
      return
    }
    unsafe loop.resumingWaiters = true
    unsafe base.resume(returning: value)
    unsafe loop.resumingWaiters = false
  }
}

extension LoopContinuation where T == Void {
  @inline(__always)
  func resume() { resume(returning: ()) }
}
