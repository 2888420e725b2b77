extension Reactor {
  /// Suspends the calling task until `deadline`, on this reactor's ring: the
  /// task runs with this reactor as its preferred executor meanwhile, so
  /// `Task.sleep` becomes a delayed job in the loop's timer heap, woken by the
  /// one `IORING_OP_TIMEOUT` armed for the earliest deadline
  /// (`IORING_TIMEOUT_BOOTTIME`, `ContinuousClock`'s clock). Never returns
  /// before `deadline`.
  ///
  /// Where plain `Task.sleep` cannot reach the ring: Swift 6.3 sends a sleep
  /// to the task's preferred task executor, else to the default executor,
  /// never to the actor the task runs on. So an actor pinned to this reactor,
  /// called from a task with no executor preference (`Task {}` outside a
  /// group, `Task.detached`, a task group child added without one), would
  /// sleep on the default executor's timer and come back through the global
  /// pool. Such an actor should call `try await reactor.sleep(for:)` instead:
  /// it runs on the caller's isolation (`nonisolated(nonsending)`), so it
  /// stays on this reactor's thread throughout, and the sleep is served by
  /// the ring. (Under ``ReactorRuntime`` every `Task.sleep` is.)
  ///
  /// Returns on the caller's executor. Cancellation: returns at once with
  /// `CancellationError`; the kernel timeout is moved or removed (nothing
  /// stays armed for this sleep). Thread-safety: any task; cheapest from a
  /// task or an actor already on this reactor.
  nonisolated(nonsending) public func sleep(
    until deadline: ContinuousClock.Instant
  ) async throws(CancellationError) {
    do {
      try await withTaskExecutorPreference(self) {
        try await Task.sleep(until: deadline, clock: .continuous)
      }
    } catch {
      throw CancellationError()
    }
  }

  /// Suspends the calling task for `duration`; see ``sleep(until:)``.
  nonisolated(nonsending) public func sleep(for duration: Duration) async throws(CancellationError)
  {
    try await sleep(until: .now + duration)
  }
}
