import Uring

/// Suspends the caller, on the loop thread, until `register`'s continuation
/// is resumed (by a completion handler, on the loop thread). If the task is
/// cancelled meanwhile, `onCancel` runs (on any thread) and must make the
/// waiter resume soon, by way of the loop.
///
/// The handler's operation closure must stay on the loop thread: for a
/// caller isolated to an actor pinned to the reactor, it captures that
/// isolation (a non-`Sendable` closure that does not would run on the global
/// executor, see the field notes); a nonisolated caller on the loop thread
/// prefers the reactor, so its closure runs there anyway.
nonisolated(nonsending) func suspendOnLoop<T: Sendable>(
  _ loop: EventLoop,
  register: @escaping (UnsafeContinuation<T, Never>) -> Void,
  onCancel: @Sendable @escaping () -> Void
) async -> T {
  precondition(loop.isOnLoopThread, "a stream waits on its reactor's loop thread")
  let isolation = #isolation
  if let actor = isolation {
    // SAFETY: `register` runs synchronously on this thread (the loop's),
    // inside `withUnsafeContinuation`, before the task suspends.
    return await suspendIsolated(SameThread(register), onCancel, isolation: actor)
  }
  return await withTaskCancellationHandler {
    await withUnsafeContinuation { continuation in register(continuation) }
  } onCancel: {
    onCancel()
  }
}

private func suspendIsolated<T: Sendable>(
  _ register: SameThread<(UnsafeContinuation<T, Never>) -> Void>,
  _ onCancel: @Sendable @escaping () -> Void,
  isolation: isolated any Actor
) async -> T {
  await withTaskCancellationHandler {
    _ = isolation
    return await withUnsafeContinuation { continuation in register.value(continuation) }
  } onCancel: {
    onCancel()
  }
}

extension Reactor {
  /// Runs `body` on the loop thread soon, from any thread (a cancellation
  /// handler, a `deinit`): a new task preferring the reactor. After
  /// termination it runs on the reactor's fallback queue, where
  /// `loop.ownsLoopState` is `false`: `body` must check it before touching
  /// the ring.
  func runOnLoopSoon(_ body: @escaping @Sendable (EventLoop) -> Void) {
    let loop = self.loop
    Task(executorPreference: self) { body(loop) }
  }
}
