/// Everything the loop knows about its delayed jobs: one heap per clock, the
/// sleeping tasks (to recognise a cancelled sleep), the deadlines of waits
/// (``WaitExpiry``, `ContinuousClock` only), and the kernel timeout armed for
/// each clock's earliest deadline.
///
/// Loop thread only.
struct TimerQueues {
  /// The one `IORING_OP_TIMEOUT` armed for a clock.
  struct Armed {
    var userData: UInt64
    var deadline: Int64
  }

  private var heaps = [TimerHeap<UnownedJob>(), TimerHeap<UnownedJob>()]
  /// The deadlines of waits that are not one SQE (``IODeadline`` on a
  /// multishot receive's or accept's `next`), on `.continuous`.
  private var waits = TimerHeap<WaitExpiry>()
  /// Sleeping task identity -> where its wake-up job waits.
  private var sleepers = SleeperTable()
  /// The timeout armed for each clock (indexed by `TimerClock.rawValue`).
  var armed: [Armed?] = [nil, nil]
  private var sequence: UInt64 = 0
  /// Some clock's earliest deadline may differ from what is armed.
  var needsReconcile = false
  /// Whether any sleeping task is known. Checked on every enqueue: a stored
  /// flag, so reading it projects one field instead of copying the struct.
  private(set) var hasSleepers = false

  /// Delayed jobs waiting, on both clocks.
  var count: Int { heaps[0].count + heaps[1].count }

  /// Wait deadlines pending.
  var waitCount: Int { waits.count }

  /// Schedules `job` for `deadline` on `clock`. `sleeper` is the identity of
  /// the task that asked (0: none), see ``takeSleep(_:)``.
  mutating func insert(_ job: UnownedJob, deadline: Int64, clock: TimerClock, sleeper: UInt) {
    sequence &+= 1
    let id = heaps[clock.rawValue].insert(
      job, deadline: deadline, sequence: sequence, sleeper: sleeper)
    if sleeper != 0 {
      sleepers.set(sleeper, SleeperTable.Location(clock: clock, id: id))
      hasSleepers = true
    }
    if deadline < armed[clock.rawValue]?.deadline ?? Int64.max { needsReconcile = true }
  }

  /// Removes and returns the earliest entry of `clock` if it is due at `now`.
  mutating func popDue(_ clock: TimerClock, now: Int64) -> TimerHeap<UnownedJob>.Entry? {
    guard let (id, entry) = heaps[clock.rawValue].popDue(now: now) else { return nil }
    if entry.sleeper != 0 {
      forgetSleeper(entry.sleeper, SleeperTable.Location(clock: clock, id: id))
    }
    needsReconcile = true
    return entry
  }

  /// The task `identity` is being enqueued. If its delayed job still waits
  /// here, its sleep is over early: `Task.sleep` suspends its task until that
  /// job runs, so the only way it runs again sooner is the runtime resuming a
  /// cancelled sleep (with `CancellationError`). Removes the job and returns
  /// it, to be run now (it only frees the runtime's sleep state).
  ///
  /// The task is not retained: if it ended and its address was reused, the
  /// entry found is a sleep already cancelled, which may run at any time.
  mutating func takeSleep(_ identity: UInt) -> TimerHeap<UnownedJob>.Entry? {
    guard let location = sleepers.location(identity) else { return nil }
    sleepers.remove(identity)
    hasSleepers = !sleepers.isEmpty
    needsReconcile = true
    return heaps[location.clock.rawValue].remove(location.id)
  }

  /// Removes and returns every delayed job of both clocks. Wait deadlines
  /// are dropped: their waiters end with their operations, which the
  /// shutdown cancels.
  mutating func removeAll() -> [(TimerClock, TimerHeap<UnownedJob>.Entry)] {
    sleepers.removeAll()
    hasSleepers = false
    _ = waits.removeAll()
    var all: [(TimerClock, TimerHeap<UnownedJob>.Entry)] = []
    for clock in TimerClock.allCases {
      all += heaps[clock.rawValue].removeAll().map { (clock, $0) }
    }
    needsReconcile = true
    return all
  }

  /// The earliest deadline of `clock` (delayed jobs and waits).
  func earliest(_ clock: TimerClock) -> Int64? {
    let job = heaps[clock.rawValue].earliest
    guard clock == .continuous, let wait = waits.earliest else { return job }
    return min(job ?? Int64.max, wait)
  }

  /// Adds the deadline of `handler`'s wait; returns its handle for
  /// ``removeWait(_:)`` and ``WaitDeadlineHandler/deadlinePassed(_:)``.
  mutating func insertWait(_ handler: any WaitDeadlineHandler, deadline: Int64) -> WaitTimer {
    sequence &+= 1
    let id = waits.insert(
      WaitExpiry(handler: handler, sequence: sequence), deadline: deadline, sequence: sequence,
      sleeper: 0)
    let continuous = TimerClock.continuous.rawValue
    if deadline < armed[continuous]?.deadline ?? Int64.max { needsReconcile = true }
    return WaitTimer(id: id, sequence: sequence)
  }

  /// Removes the wait deadline `timer` if it is still pending (not fired,
  /// not dropped at shutdown; a slot reused since has another sequence).
  ///
  /// The kernel timeout is left as it is: if it was armed for this
  /// deadline it fires once, finds nothing due and is not re-armed. Waits
  /// in one scope share its deadline, so a stream of short waits shares
  /// one armed timeout instead of moving it for each wait.
  mutating func removeWait(_ timer: WaitTimer) {
    guard waits.job(timer.id)?.sequence == timer.sequence else { return }
    _ = waits.remove(timer.id)
  }

  /// Removes the earliest wait deadline if it is due at `now`; returns
  /// its handler and handle.
  mutating func popDueWait(now: Int64) -> (any WaitDeadlineHandler, WaitTimer)? {
    guard let (id, entry) = waits.popDue(now: now) else { return nil }
    needsReconcile = true
    return (entry.job.handler, WaitTimer(id: id, sequence: entry.job.sequence))
  }

  private mutating func forgetSleeper(_ identity: UInt, _ location: SleeperTable.Location) {
    // The table may name a newer sleep of the same task; keep that one.
    guard sleepers.location(identity) == location else { return }
    sleepers.remove(identity)
    hasSleepers = !sleepers.isEmpty
  }

  /// The address of a task, which is also its `UnownedJob`'s when it is enqueued.
  static func identity(_ task: UnsafeCurrentTask) -> UInt {
    // SAFETY: `UnsafeCurrentTask` is one reference to the task object
    // (`_task: Builtin.NativeObject`); `unsafeBitCast` checks the size and
    // only reads the pointer. A different layout in a future runtime would
    // only make cancelled sleeps wait for their deadline.
    unsafe unsafeBitCast(task, to: UInt.self)
  }
}
