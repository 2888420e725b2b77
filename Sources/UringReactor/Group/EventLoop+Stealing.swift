extension EventLoop {
  /// Loop thread, for a job of a task that prefers this loop's group: the
  /// job waits in this loop's private queue if the loop is resuming a task
  /// that waits in its code (it must go on here), else in the run queue,
  /// where an idle sibling may take it; with enough queued, a sleeping
  /// sibling is woken to take some (checked at every push, so that a job
  /// that then computes for long holds up nothing queued behind it).
  func enqueueGroupJob(_ job: UnownedJob) {
    if resumingWaiters {
      enqueue(job, kind: .group)
      return
    }
    if timers.hasSleepers { noteResumed(job) }
    if runQueue.push(job) >= GroupScheduler.offerThreshold { offerWork() }
  }

  /// Loop thread, with nothing to run: takes half the jobs of the sibling
  /// with the longest run queue. Returns whether it took any.
  func stealWork() -> Bool {
    guard let group, lifecycle == .running else { return false }
    let taken = group.scheduler.steal(for: group.index, into: &stolen)
    guard taken > 0 else { return false }
    statistics.steals += 1
    statistics.jobsStolen += taken
    runQueue.push(contentsOf: stolen)
    stolen.removeAll(keepingCapacity: true)
    offerWorkIfQueued()
    return true
  }

  /// Loop thread of a group member: wakes a sleeping sibling to take some
  /// of this loop's queued group jobs.
  func offerWork() {
    if group!.scheduler.offerWork(from: group!.index) { statistics.siblingsWoken += 1 }
  }

  /// Offers work if enough is queued (``GroupScheduler/offerThreshold``).
  @inline(__always)
  func offerWorkIfQueued() {
    if runQueue.count >= GroupScheduler.offerThreshold { offerWork() }
  }
}
