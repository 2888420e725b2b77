import Uring

extension Reactor {
  /// Runs `body` on the loop thread, where it may prepare operations.
  ///
  /// On the loop thread (a task preferring the reactor, or an actor pinned to
  /// it) `body` runs right away: no lock, no syscall, no hop. Elsewhere the
  /// task hops to the loop under a task-executor preference and back, which
  /// costs two thread hand-offs: I/O-heavy code should run on the reactor.
  nonisolated(nonsending) func onLoop<T: Sendable, E: Error>(
    _ body: nonisolated(nonsending) @Sendable (EventLoop) async throws(E) -> T
  ) async throws(E) -> T {
    if loop.ownsLoopState {
      let isolation = #isolation
      if unsafe isolation == nil || loop.runningWithTaskExecutor {
        return try await body(loop)
      }
      return try await preferringLoop(body)
    }
    return try await hopToLoop(body)
  }

  /// An actor pinned to the reactor, in a task that does not prefer it: a
  /// continuation resumes onto the task's generic executor (the global pool)
  /// before hopping back to the actor, ~25 us a round trip here. Preferring
  /// the reactor meanwhile keeps the resumption on the loop.
  ///
  /// Not inlined, nor is ``hopToLoop(_:)``: an async function's frame holds
  /// every path's state, and these paths' frames would make every I/O call's
  /// frame too large for a new task's first allocator slab (each child task
  /// that does I/O would then malloc a slab of its own).
  @inline(never)
  nonisolated(nonsending) private func preferringLoop<T: Sendable, E: Error>(
    _ body: nonisolated(nonsending) @Sendable (EventLoop) async throws(E) -> T
  ) async throws(E) -> T {
    try await withTaskExecutorPreference(self) { () async throws(E) -> T in
      try await body(loop)
    }
  }

  /// Off the loop thread: hops to the loop under a preference for the
  /// reactor, and back.
  @inline(never)
  nonisolated(nonsending) private func hopToLoop<T: Sendable, E: Error>(
    _ body: nonisolated(nonsending) @Sendable (EventLoop) async throws(E) -> T
  ) async throws(E) -> T {
    try await withTaskExecutorPreference(self) { () async throws(E) -> T in
      try await self.hop(body)
    }
  }

  /// Runs on the generic executor, which under the preference set by
  /// ``onLoop(_:)`` is this reactor: the loop thread (or, after termination,
  /// its fallback queue, where every operation fails with "shut down").
  @concurrent
  private func hop<T: Sendable, E: Error>(
    _ body: nonisolated(nonsending) @Sendable (EventLoop) async throws(E) -> T
  ) async throws(E) -> T {
    try await body(loop)
  }
}
