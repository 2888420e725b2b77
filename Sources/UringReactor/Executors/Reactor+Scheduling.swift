@_spi(ExperimentalScheduling) public import _Concurrency

#if compiler(>=6.3)
  /// `Task.sleep` on the ring.
  ///
  /// In Swift 6.3, `Task.sleep` (any overload, `ContinuousClock` or
  /// `SuspendingClock`) in a task whose preferred task executor is this reactor
  /// arrives here as `enqueue(_:at:tolerance:clock:)`, with the job that ends
  /// the sleep. The loop keeps such jobs in a heap per clock and arms one
  /// absolute `IORING_OP_TIMEOUT` for each clock's earliest deadline
  /// (`IORING_TIMEOUT_BOOTTIME` for `ContinuousClock`, which reads
  /// `CLOCK_BOOTTIME`; the default `CLOCK_MONOTONIC` for `SuspendingClock`),
  /// moved with `IORING_TIMEOUT_UPDATE` when an earlier deadline arrives and
  /// removed when no job waits: thousands of sleepers cost one kernel timer.
  /// A job never runs before its deadline; jobs run in deadline order.
  ///
  /// Cancellation: the runtime resumes a cancelled sleep at once (with
  /// `CancellationError`); when that task is enqueued here again, the loop
  /// recognises it (a sleeping task runs again before its wake-up job only if
  /// its sleep was cancelled), runs the sleep's job at once (it only frees the
  /// runtime's state) and re-arms or removes the kernel timeout, so nothing
  /// stays armed for it. Consequence for direct callers of this SPI: a job
  /// scheduled from inside a task runs early if that task is enqueued here
  /// again before the deadline; schedule from a task that then waits for the
  /// job (as `Task.sleep` does), or from outside any task.
  ///
  /// An actor pinned to the reactor in a task *without* that preference
  /// sleeps on the default executor: the runtime asks the task's preferred
  /// executor, else the default one (see ``ReactorRuntime`` to make the
  /// reactors the default executor).
  ///
  /// Thread-safety: any thread; from the loop thread no lock, no syscall.
  @_spi(ExperimentalScheduling)
  extension Reactor: SchedulingExecutor {
    public func enqueue<C: Clock>(
      _ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C
    ) {
      DelayedJob.schedule(UnownedJob(job), at: instant, clock: clock, on: loop)
    }

    public func enqueue<C: Clock>(
      _ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C
    ) {
      DelayedJob.schedule(
        UnownedJob(job), at: clock.now.advanced(by: delay), clock: clock, on: loop)
    }
  }
#endif
