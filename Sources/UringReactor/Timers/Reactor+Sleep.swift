extension Reactor {
  /// Suspends the calling task until `deadline`, on this reactor's ring: the
  /// task runs with this reactor as its preferred executor meanwhile, so
  /// `Task.sleep` becomes a delayed job in the loop's timer heap, woken by the
  /// one `IORING_OP_TIMEOUT` armed for the earliest deadline
  /// (`IORING_TIMEOUT_BOOTTIME`, `ContinuousClock`'s clock). Returns on the
  /// caller's executor. Never returns before `deadline`.
  ///
  /// Cancellation: returns at once with `CancellationError`; the kernel
  /// timeout is moved or removed (nothing stays armed for this sleep).
  /// Thread-safety: any task; cheapest from a task already on this reactor.
  public func sleep(until deadline: ContinuousClock.Instant) async throws(CancellationError) {
    do {
      try await withTaskExecutorPreference(self) {
        try await Task.sleep(until: deadline, clock: .continuous)
      }
    } catch {
      throw CancellationError()
    }
  }

  /// Suspends the calling task for `duration`; see ``sleep(until:)``.
  public func sleep(for duration: Duration) async throws(CancellationError) {
    try await sleep(until: .now + duration)
  }
}
