extension EventLoop {
  /// Loop thread, for a job of a task that prefers this loop's group: the
  /// job waits in this loop's private queue if the loop is resuming a task
  /// that waits in its code (it must go on here), else in the run queue,
  /// where an idle sibling may take it; with enough queued, a sleeping
  /// sibling is woken to take some (checked at every push, so that a job
  /// that then computes for long holds up nothing queued behind it).
  func enqueueGroupJob(_ job: UnownedJob) {
    if unsafe resumingWaiters {
      enqueue(job, kind: .group)
      return
    }
    if unsafe timers.hasSleepers { noteResumed(job) }
    if runQueue.push(job) >= GroupScheduler.offerThreshold { offerWork() }
  }

  /// Loop thread, with nothing to run: takes half the jobs of the sibling
  /// with the longest run queue. Returns whether it took any.
  func stealWork() -> Bool {
    guard let group, lifecycle == .running else { return false }
    let taken = unsafe group.scheduler.steal(for: group.index, into: &stolen)
    guard taken > 0 else { return false }
    unsafe statistics.steals += 1
    unsafe statistics.jobsStolen += taken
    unsafe runQueue.push(contentsOf: stolen)
    unsafe stolen.removeAll(keepingCapacity: true)
    offerWorkIfQueued()
    return true
  }

  /// How long an idle group member looks for work before it sleeps. A
  /// fan-out of 1,000-task waves over 2 reactors woke a sleeping sibling
  /// ~2,900 times per 600,000 tasks without a search, ~600 times with 10 us
  /// or 40 us; 10 us keeps that at a quarter of the CPU an idle reactor
  /// spends beside a busy one (a cross-CPU wake-up costs 20-40 us here).
  static let searchNanoseconds: Int64 = 10_000

  /// Loop thread of a group member with nothing to run: looks for work for a
  /// short while (``searchNanoseconds``) before sleeping, as long as a
  /// sibling is awake (a busy sibling makes work to take; sleeping ones make
  /// none). Meanwhile this loop does not count as sleeping, so a sibling that
  /// queues work pays no wake-up for it: bursts of small tasks (a fan-out)
  /// do not turn into a sleep and a wake-up per burst. Each round also enters
  /// the kernel without waiting, which posts this loop's own completions
  /// (with `DEFER_TASKRUN` the kernel posts them only there). Returns whether
  /// it found work.
  func searchForWork() -> Bool {
    guard let group, lifecycle == .running else { return false }
    let scheduler = group.scheduler
    let deadline = TimerClock.suspending.now + EventLoop.searchNanoseconds
    while scheduler.hasAwakeSibling(besides: group.index) {
      if remote.hasPending || stealWork() { return true }
      unsafe ring!.submitAndFlushCompletions()
      handleCompletions()
      if unsafe !ready.isEmpty || runQueue.count > 0 || !unregistered.isEmpty { return true }
      if TimerClock.suspending.now >= deadline { break }
    }
    return false
  }

  /// Loop thread of a group member: wakes a sleeping sibling to take some
  /// of this loop's queued group jobs.
  func offerWork() {
    if group!.scheduler.offerWork(from: group!.index) { unsafe statistics.siblingsWoken += 1 }
  }

  /// Offers work if enough is queued (``GroupScheduler/offerThreshold``).
  @inline(__always)
  func offerWorkIfQueued() {
    if runQueue.count >= GroupScheduler.offerThreshold { offerWork() }
  }
}
