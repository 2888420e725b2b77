/// A snapshot of a reactor's counters (``Reactor/statistics``), or of the
/// sum over a group's reactors (``ReactorGroup/statistics``).
///
/// The counters are plain integers that only the loop thread writes; a
/// snapshot is copied on the loop thread, between two jobs, so its fields
/// agree with one another (`operationsSubmitted - operationsCompleted` is
/// `operationsInFlight`, plus one while the loop's own eventfd wake-up
/// read is armed). Counting costs the loop one integer addition where it
/// already does work; nothing is atomic on the hot path.
///
/// Counters only grow while the reactor runs (they wrap at `Int.max`, in
/// centuries); compare two snapshots to get rates.
public struct ReactorStatistics: Sendable, Hashable {
  /// Operations given to the ring (every in-flight slot taken, the loop's
  /// own operations included: eventfd wake-up reads, cancel requests, timeouts).
  public var operationsSubmitted = 0
  /// Operations whose final CQE arrived (their slot released).
  public var operationsCompleted = 0
  /// Operations in flight now, not counting the loop's own wake-up read.
  public var operationsInFlight = 0
  /// Loop iterations (each runs the ready jobs and makes one `io_uring_enter`).
  public var loopIterations = 0
  /// Jobs run (task and actor jobs, closures, stolen group jobs).
  public var jobsRun = 0
  /// Operations that completed inside their own submission, without the
  /// task suspending.
  public var inlineCompletions = 0
  /// Times the loop slept in `io_uring_enter` waiting for a completion; each
  /// ends with a wake-up (a completion, a timeout, an eventfd write or an
  /// `IORING_OP_MSG_RING` from another thread).
  public var sleeps = 0
  /// Wake-ups this loop sent to other loops (`IORING_OP_MSG_RING`, or an
  /// eventfd write when the kernel lacks it).
  public var wakeUpsSent = 0
  /// Completions the kernel could not post to a full CQ ring (`koverflow`).
  /// None is lost (`IORING_FEAT_NODROP`), but a growing count says the CQ
  /// ring is too small for the load (`RingOptions.completionQueueEntries`).
  public var completionQueueOverflows = 0
  /// Jobs waiting in the offload pool (``ReactorGroup/offloadPool``); 0 for
  /// a reactor outside a group, which has no pool.
  public var offloadQueueDepth = 0

  public init() {}

  /// The field-by-field sum (a group's total).
  public static func + (lhs: Self, rhs: Self) -> Self {
    var sum = lhs
    sum.operationsSubmitted += rhs.operationsSubmitted
    sum.operationsCompleted += rhs.operationsCompleted
    sum.operationsInFlight += rhs.operationsInFlight
    sum.loopIterations += rhs.loopIterations
    sum.jobsRun += rhs.jobsRun
    sum.inlineCompletions += rhs.inlineCompletions
    sum.sleeps += rhs.sleeps
    sum.wakeUpsSent += rhs.wakeUpsSent
    sum.completionQueueOverflows += rhs.completionQueueOverflows
    sum.offloadQueueDepth += rhs.offloadQueueDepth
    return sum
  }
}

extension Reactor {
  /// A snapshot of this reactor's counters, copied on its loop thread.
  ///
  /// Thread-safety: callable from any task; off the loop thread it costs a
  /// hop to the loop and back (as ``execute(_:)``), on it nothing. After
  /// shutdown it returns the last counts. Never cancelled, never throws.
  public var statistics: ReactorStatistics {
    get async {
      await onLoop { loop in loop.statisticsSnapshot() }
    }
  }
}

extension EventLoop {
  /// The public snapshot of the loop's counters. Loop thread (or its
  /// fallback queue after termination, when the ring is gone).
  func statisticsSnapshot() -> ReactorStatistics {
    var snapshot = ReactorStatistics()
    snapshot.operationsSubmitted = unsafe table.inserted
    snapshot.operationsCompleted = unsafe table.inserted - table.count
    snapshot.operationsInFlight = unsafe table.count - (wakeupArmed ? 1 : 0)
    snapshot.loopIterations = unsafe statistics.iterations
    snapshot.jobsRun = unsafe statistics.jobsRun
    snapshot.inlineCompletions = unsafe statistics.inlineCompletions
    snapshot.sleeps = unsafe statistics.waits
    snapshot.wakeUpsSent = unsafe statistics.ringMessages + statistics.eventFDWakes
    snapshot.completionQueueOverflows = unsafe Int(ring?.completionOverflows ?? 0)
    return snapshot
  }
}
