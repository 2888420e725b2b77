/// Turns a scheduling request (`SchedulingExecutor.enqueue(_:at:tolerance:clock:)`)
/// into a deadline on one of the loop's clocks.
enum DelayedJob {
  /// Schedules `job` for `instant` of `clock` on `loop`. `ContinuousClock` and
  /// `SuspendingClock` (all `Task.sleep` sends) map to a kernel clock; any
  /// other clock sleeps with its own `sleep(until:)` in a helper task and then
  /// enqueues the job. The tolerance is not used: jobs run as soon as due.
  static func schedule<C: Clock>(
    _ job: UnownedJob, at instant: C.Instant, clock: C, on loop: EventLoop
  ) {
    let sleeper = unsafe withUnsafeCurrentTask { unsafe $0.map(TimerQueues.identity) ?? 0 }
    if let instant = instant as? ContinuousClock.Instant {
      loop.schedule(
        job, deadline: TimerClock.deadline(instant), clock: .continuous, sleeper: sleeper)
    } else if let instant = instant as? SuspendingClock.Instant {
      loop.schedule(
        job, deadline: TimerClock.deadline(instant), clock: .suspending, sleeper: sleeper)
    } else {
      let deferred = DeferredJob(job)
      Task.detached {
        try? await clock.sleep(until: instant, tolerance: nil)
        loop.enqueue(deferred.job, kind: .wake)
      }
    }
  }
}

/// A job carried to a helper task (`UnownedJob` is a plain reference).
private struct DeferredJob: Sendable {
  let job: UnownedJob
  init(_ job: UnownedJob) { self.job = job }
}
