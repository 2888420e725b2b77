extension EventLoop {
  /// Suspends the calling task, on the loop thread, until the continuation
  /// handed to `register` is resumed: the building block of waits that are
  /// not one ring operation (a stream's next chunk, a multishot receive's
  /// next bytes, the next accepted connection, a handler-driven operation).
  ///
  /// `register` runs synchronously on the loop thread, before the task
  /// suspends; it must store the continuation where a completion handler (or
  /// itself) resumes it exactly once. `onCancel` runs on the cancelling
  /// thread (any thread) if the task is cancelled meanwhile; it must only
  /// post to the loop (rule 5), e.g. with ``Reactor/runOnLoop(_:)``, and make
  /// the waiter resume soon from there.
  ///
  /// Neither closure escapes, so a wait allocates nothing beyond the task's
  /// own frame. Like ``perform(_:retaining:createsDescriptor:cancellable:registration:flags:deadline:)``,
  /// a caller isolated to an actor pinned to the reactor waits through a
  /// function whose closure captures that isolation, so that `register`
  /// stays on the loop thread (a non-`Sendable` closure that does not capture
  /// it would run on the global executor, see the field notes).
  nonisolated(nonsending) func suspend<T: Sendable>(
    register: @Sendable (LoopContinuation<T>) -> Void,
    onCancel: @Sendable () -> Void
  ) async -> T {
    precondition(isOnLoopThread, "a wait must start on its reactor's loop thread")
    let isolation = #isolation
    if let actor = isolation {
      return await suspendIsolated(register, onCancel: onCancel, isolation: actor)
    }
    return await withTaskCancellationHandler {
      await withLoopContinuation { continuation in register(continuation) }
    } onCancel: {
      onCancel()
    }
  }

  private func suspendIsolated<T: Sendable>(
    _ register: @Sendable (LoopContinuation<T>) -> Void,
    onCancel: @Sendable () -> Void,
    isolation: isolated any Actor
  ) async -> T {
    await withTaskCancellationHandler {
      _ = isolation
      return await withLoopContinuation { continuation in register(continuation) }
    } onCancel: {
      onCancel()
    }
  }
}

extension Reactor {
  /// Runs `body` on the loop thread: right now if the caller is there,
  /// otherwise soon, as a closure job (one inbox push, no task).
  /// `body` gets the loop if it still owns its state, `nil` once the reactor
  /// has terminated (it may then only release what it holds, e.g. close a
  /// descriptor or return a slot, never touch the ring).
  ///
  /// For `deinit`s and cancellation handlers, which may run on any thread but
  /// must leave the ring to the loop (rule 5).
  func runOnLoop(_ body: @escaping @Sendable (EventLoop?) -> Void) {
    if loop.ownsLoopState {
      body(loop)
      return
    }
    loop.execute(body)
  }
}
