public import SystemPackage

extension Reactor {
  /// Lends `memory` to a foreign API that reports the end of its transfer
  /// through a C callback, and waits for that callback.
  ///
  /// `start` receives a ``ForeignCompletion/Token`` and hands its `region`,
  /// `callback` and `userArg` to the foreign API, for instance
  /// `register_event_on_ready_callback(event, token.callback, token.userArg)`.
  /// It runs synchronously, in the caller's context, after the memory has
  /// been lent; it throws (an errno) only if the foreign side did not take
  /// the memory and will never call back.
  ///
  /// - Ownership: from before `start` runs until the callback fires, the
  ///   bridge holds a strong reference to `memory` and keeps its kernel
  ///   access open for `access` (``KernelAccess/read``: the foreign side reads
  ///   it, user reads stay allowed; ``KernelAccess/write``: it may write it,
  ///   all user access is refused). The memory is released when the callback
  ///   fires, on the foreign thread, however the waiting task ends.
  /// - Returns: the callback's non-negative `result`.
  /// - Throws: ``ForeignCompletionError``: ``ForeignCompletionError/Kind/device(_:)``
  ///   for a negative result, ``ForeignCompletionError/Kind/startFailed(_:)``,
  ///   ``ForeignCompletionError/Kind/memoryBusy(_:)``,
  ///   ``ForeignCompletionError/Kind/cancelled``, and
  ///   ``ForeignCompletionError/Kind/reactorShutDown`` if the reactor no longer
  ///   takes operations (then nothing is started).
  /// - Cancellation: the reactor cannot cancel a foreign transfer, and the
  ///   memory must outlive it, so a cancelled task keeps waiting for the
  ///   callback and then throws ``ForeignCompletionError/Kind/cancelled``
  ///   (the foreign result is in ``ForeignCompletionError/deviceResult``).
  ///   To return sooner, abort the foreign transfer from your own
  ///   `withTaskCancellationHandler` so that it calls back early. A task
  ///   cancelled before the call starts nothing.
  /// - Thread-safety: call from any task. No ring operation is involved: the
  ///   waiter resumes on its own executor (the loop thread, for tasks that
  ///   prefer the reactor), woken from the foreign thread.
  nonisolated(nonsending) public func awaitForeignCompletion(
    lending memory: some BackingMemory,
    access: KernelAccess,
    start: (ForeignCompletion.Token) throws(Errno) -> Void
  ) async throws(ForeignCompletionError) -> Int {
    // SAFETY: the token (region and retained `userArg`) reaches the foreign
    // side only inside `start`, after `lend` began the kernel access and
    // while `completion` holds the memory, which it does until the callback.
    let completion = try ForeignCompletion.lend(memory, access, on: self)
    unsafe try completion.startWithToken(start)
    switch await completion.wait() {
    case .completed(let result):
      return try completion.value(deviceResult: result)
    case .unobservable(let errno):
      // Only the eventfd flavour loses sight of a transfer.
      throw ForeignCompletionError(.eventFDFailed(errno))
    }
  }
}
