@_spi(ExperimentalScheduling) public import _Concurrency

#if compiler(>=6.3)
  /// `Task.sleep` in a task that prefers the group (or, under
  /// ``ReactorRuntime``, in any task without a preference) arrives here: the
  /// delayed job waits on the reactor the calling thread runs, else on the
  /// next one; see ``Reactor``'s `SchedulingExecutor` conformance for the
  /// timer machinery.
  @_spi(ExperimentalScheduling)
  extension ReactorGroup: SchedulingExecutor {
    public func enqueue<C: Clock>(
      _ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C
    ) {
      let loop = currentMemberLoop ?? next().loop
      DelayedJob.schedule(UnownedJob(job), at: instant, clock: clock, on: loop)
    }

    public func enqueue<C: Clock>(
      _ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C
    ) {
      let loop = currentMemberLoop ?? next().loop
      DelayedJob.schedule(
        UnownedJob(job), at: clock.now.advanced(by: delay), clock: clock, on: loop)
    }
  }
#endif
