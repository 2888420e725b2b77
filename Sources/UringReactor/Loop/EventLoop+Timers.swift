import CLibUring
import Dispatch
import Glibc
import Uring

/// A delayed job scheduled from a thread other than the loop's.
struct TimerRequest {
  var job: UnownedJob
  var deadline: Int64
  var clock: TimerClock
  /// Identity of the task that scheduled it (0: none).
  var sleeper: UInt
}

extension EventLoop {
  /// Schedules `job` to run at `deadline` on `clock` (nanoseconds since the
  /// clock's epoch). Any thread. `sleeper` is the identity of the task
  /// asking (0: none): if it is enqueued here again first, its sleep is over
  /// and the job runs at once (see ``noteResumed(_:)``).
  func schedule(_ job: UnownedJob, deadline: Int64, clock: TimerClock, sleeper: UInt) {
    let request = TimerRequest(job: job, deadline: deadline, clock: clock, sleeper: sleeper)
    if ownsLoopState {
      schedule(request)
      return
    }
    if case .closed = remote.push({ $0.timers.append(request) }) {
      runAfterTerminationLater(request)
    }
  }

  /// Loop thread: the job waits in its clock's heap, even if already due: the
  /// loop moves due jobs to `ready` in deadline order before it submits
  /// (``reconcileTimers()``), so jobs scheduled in one iteration run in
  /// deadline order however long that iteration took.
  func schedule(_ request: TimerRequest) {
    unsafe statistics.delayedJobs += 1
    if lifecycle.rawValue >= Lifecycle.closing.rawValue {
      runAfterTerminationLater(request)
      return
    }
    unsafe timers.insert(
      request.job, deadline: request.deadline, clock: request.clock, sleeper: request.sleeper)
  }

  /// Called for every job enqueued while tasks sleep here: if `job` is a
  /// sleeping task, its sleep was cancelled (see `TimerQueues.takeSleep`): the
  /// runtime has resumed it already and its wake-up job only frees the
  /// runtime's sleep state. It runs now, and the kernel timeout follows the
  /// next deadline (or is removed): a cancelled sleep leaves nothing armed.
  func noteResumed(_ job: UnownedJob) {
    guard let entry = unsafe timers.takeSleep(TaskPreferenceCache.identity(job)) else { return }
    unsafe statistics.sleepsCancelled += 1
    unsafe ready.append(ReadyJob(job: entry.job, kind: .wake))
  }

  /// Runs a delayed job as the default executor would (on the generic
  /// executor): a `Task.sleep` wake-up job is a new task with no executor
  /// preference, which would otherwise hop to the global pool first.
  func runWakeJob(_ job: UnownedJob) {
    unsafe runningWithTaskExecutor = false
    unsafe job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
  }

  /// Moves every job of `clock` whose deadline has passed to `ready`, in
  /// deadline order (ties: scheduling order); on `.continuous`, then ends
  /// the waits whose deadline has passed (``expireWaitDeadlines(now:)``).
  func expireTimers(_ clock: TimerClock) {
    let now = clock.now
    while let entry = unsafe timers.popDue(clock, now: now) {
      unsafe statistics.timersFired += 1
      unsafe ready.append(ReadyJob(job: entry.job, kind: .wake))
    }
    if clock == .continuous { expireWaitDeadlines(now: now) }
  }

  /// Makes each clock's armed kernel timeout match its earliest deadline:
  /// arms one (`IORING_OP_TIMEOUT`, absolute), moves it (`IORING_TIMEOUT_UPDATE`)
  /// or removes it (`IORING_OP_TIMEOUT_REMOVE`). At most one SQE per clock.
  func reconcileTimers() {
    unsafe timers.needsReconcile = false
    for clock in TimerClock.allCases {
      if let earliest = unsafe timers.earliest(clock), earliest <= clock.now { expireTimers(clock) }
    }
    unsafe timers.needsReconcile = false
    guard lifecycle == .running else { return }
    for clock in TimerClock.allCases {
      let wanted = unsafe timers.earliest(clock)
      let armed = unsafe timers.armed[clock.rawValue]
      switch (wanted, armed) {
      case (nil, nil):
        break
      case (nil, let armed?):
        unsafe timers.armed[clock.rawValue] = nil
        unsafe statistics.timeoutsRemoved += 1
        unsafe submitInternal(.timeoutRemove(userData: armed.userData, flags: 0))
      case (let deadline?, nil):
        let spec = TimeoutSpec(nanoseconds: deadline)
        guard
          let userData = unsafe start(
            .timeout(timespec: spec.pointer, count: 0, flags: clock.timeoutFlags),
            handler: TimerExpiry(loop: self, clock: clock), retaining: (spec, nil))
        else { return }
        unsafe statistics.timeoutsArmed += 1
        unsafe timers.armed[clock.rawValue] = TimerQueues.Armed(
          userData: userData, deadline: deadline)
      case (let deadline?, let armed?):
        guard deadline != armed.deadline else { break }
        // The kernel copies the new timespec when it takes the update; the
        // update's slot keeps it alive until its CQE all the same (rule 1).
        let spec = TimeoutSpec(nanoseconds: deadline)
        unsafe statistics.timeoutsUpdated += 1
        unsafe timers.armed[clock.rawValue]!.deadline = deadline
        unsafe submitInternal(
          .timeoutUpdate(
            userData: armed.userData, timespec: spec.pointer, flags: UInt32(IORING_TIMEOUT_ABS)),
          retaining: (spec, nil))
      }
    }
  }

  /// The armed timeout of `clock` (`userData`) completed: fired (`-ETIME`),
  /// removed (`-ECANCELED`) or cancelled at shutdown.
  func timeoutCompleted(_ clock: TimerClock, userData: UInt64) {
    if unsafe timers.armed[clock.rawValue]?.userData == userData {
      unsafe timers.armed[clock.rawValue] = nil
      unsafe timers.needsReconcile = true
    }
    expireTimers(clock)
  }

  /// Shutdown: every delayed job waiting here runs now, before its deadline,
  /// so each `Task.sleep` waiting on this reactor returns at once (early, and
  /// without throwing: a wake-up job can only resume its sleep; only task
  /// cancellation makes one throw). When shutdown begins they run on the loop
  /// (`onLoop`), with the jobs of the drain; the sleeps begun during the
  /// drain run when the loop stops, on the fallback queue. A sleep begun
  /// after termination waits for its deadline there (`schedule`): a task
  /// that sleeps in a loop keeps its pace instead of spinning.
  func wakeSleepers(onLoop: Bool) {
    for (_, entry) in unsafe timers.removeAll() {
      if onLoop {
        enqueue(entry.job, kind: .wake)
      } else {
        runAfterTermination(ReadyJob(job: entry.job, kind: .wake))
      }
    }
  }

  /// Runs a delayed job on the fallback queue at its deadline (`asyncAfter`).
  func runAfterTerminationLater(_ request: TimerRequest) {
    runAfterTerminationLater(request.job, deadline: request.deadline, clock: request.clock)
  }

  private func runAfterTerminationLater(_ job: UnownedJob, deadline: Int64, clock: TimerClock) {
    let remaining = max(0, deadline - clock.now)
    EventLoop.fallbackQueue.asyncAfter(
      deadline: .now() + .nanoseconds(Int(clamping: remaining))
    ) { [self] in
      // The fallback's clock (CLOCK_MONOTONIC) may run behind the deadline's
      // (CLOCK_BOOTTIME after a suspend): never early.
      if deadline > clock.now {
        runAfterTerminationLater(job, deadline: deadline, clock: clock)
      } else {
        runAfterTermination(ReadyJob(job: job, kind: .wake))
      }
    }
  }
}

/// Receives the CQE of a clock's armed `IORING_OP_TIMEOUT`.
final class TimerExpiry: CompletionHandler {
  // SAFETY: the loop owns its in-flight table, which owns this handler.
  private unowned(unsafe) let loop: EventLoop
  private let clock: TimerClock

  init(loop: EventLoop, clock: TimerClock) {
    unsafe self.loop = loop
    self.clock = clock
  }

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    unsafe loop.timeoutCompleted(clock, userData: completion.userData)
  }
}
