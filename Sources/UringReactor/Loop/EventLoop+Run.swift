import Dispatch
import Uring

extension EventLoop {
  /// The loop. Runs on the loop thread until shutdown has reaped every
  /// operation; then tears the ring down.
  func run() {
    LoopThreadMarker.mark(self)
    armWakeup()
    while true {
      unsafe statistics.iterations += 1
      runReadyJobs()
      if remote.hasPending { takeRemote() }
      if lifecycle == .draining, unsafe ready.isEmpty, unsafe readyClosures.isEmpty,
        runQueue.count == 0,
        unsafe table.count == (wakeupArmed ? 1 : 0)
      {
        // Closing first, so no job is queued locally once the inbox is closed.
        setLifecycle(.closing)
        if remote.closeIfEmpty() { break }
        setLifecycle(.draining)
        continue
      }
      // Before any submission: other loops' jobs leave in one batch each (their
      // wake-ups go out with this submission), and the kernel timeout follows
      // the earliest deadline.
      if unsafe !outbox.isEmpty { flushOutbox() }
      if unsafe timers.needsReconcile { reconcileTimers() }
      // A task waiting without a cancellation handler must not be left
      // waiting on a sleeping loop: no sleep while any is (`promptRegistrations`).
      if unsafe !ready.isEmpty || !readyClosures.isEmpty || runQueue.count > 0
        || !unregistered.isEmpty
        || stealWork() || searchForWork()
      {
        unsafe ring!.submitAndFlushCompletions()
      } else if remote.prepareToSleep() {
        if let group, lifecycle == .running, group.scheduler.hasWork(besides: group.index) {
          // A sibling queued work meanwhile (and may have seen this loop
          // awake, so it did not wake it): take it instead of sleeping.
          remote.awake()
          unsafe ring!.submitAndFlushCompletions()
        } else {
          unsafe statistics.waits += 1
          unsafe ring!.submitAndWait(1)
          remote.awake()
        }
      } else {
        unsafe ring!.submitAndFlushCompletions()
      }
      handleCompletions()
      if unsafe !unregistered.isEmpty { promptRegistrations() }
    }
    finish()
  }

  /// Runs the jobs that were ready when the iteration began: first those
  /// that must run here, then the group jobs of the run queue. Jobs they make
  /// ready run next iteration, after their I/O has been submitted.
  func runReadyJobs() {
    if unsafe !readyClosures.isEmpty { runClosures() }
    let grouped = group == nil ? 0 : runQueue.count
    if unsafe !ready.isEmpty { runPinnedJobs(lastOfIteration: grouped == 0) }
    if grouped > 0 { runGroupJobs(grouped) }
    unsafe runningJob = 0
    unsafe inlineBudget = 0
  }

  /// Runs the jobs of `ready`. Only the iteration's last job may skip the
  /// batch (inline completion): the others' I/O goes out together in the
  /// iteration's one submission.
  private func runPinnedJobs(lastOfIteration: Bool) {
    unsafe swap(&ready, &running)
    let serial = unsafe serialExecutor!
    let task = unsafe taskExecutor!
    let last = unsafe lastOfIteration ? running.count - 1 : -1
    for (index, entry) in unsafe running.enumerated() {
      unsafe inlineBudget = index == last ? EventLoop.inlineBudgetPerJob : 0
      unsafe runningJob = TaskPreferenceCache.identity(entry.job)
      unsafe runningKind = entry.kind
      switch entry.kind {
      case .task:
        unsafe runningWithTaskExecutor = true
        preferences.remember(entry.job, .reactor)
        unsafe entry.job.runSynchronously(on: task)
      case .serial:
        // An actor job of a task that prefers the reactor (or its group): with
        // that task executor too, its same-executor actor hops run inline.
        switch preferences.preference(entry.job) {
        case .none:
          unsafe runningWithTaskExecutor = false
          unsafe entry.job.runSynchronously(on: serial)
        case .reactor:
          unsafe runningWithTaskExecutor = true
          unsafe entry.job.runSynchronously(isolatedTo: serial, taskExecutor: task)
        case .group:
          unsafe runningWithTaskExecutor = true
          unsafe entry.job.runSynchronously(isolatedTo: serial, taskExecutor: group!.executor)
        }
      case .group:
        runGroupJob(entry.job)
      case .wake:
        runWakeJob(entry.job)
      }
    }
    unsafe statistics.jobsRun += running.count
    unsafe running.removeAll(keepingCapacity: true)
  }

  /// Runs up to `count` jobs of the run queue, oldest first, taking one at a
  /// time: while one job runs long, an idle sibling can take the others.
  private func runGroupJobs(_ count: Int) {
    var left = count
    while left > 0, let (job, queued) = runQueue.pop() {
      left -= 1
      unsafe inlineBudget =
        unsafe left == 0 && queued == 0 && ready.isEmpty ? EventLoop.inlineBudgetPerJob : 0
      runGroupJob(job)
      unsafe statistics.jobsRun += 1
    }
  }

  @inline(__always)
  private func runGroupJob(_ job: UnownedJob) {
    unsafe runningJob = TaskPreferenceCache.identity(job)
    unsafe runningKind = .group
    unsafe runningWithTaskExecutor = true
    preferences.remember(job, .group)
    unsafe job.runSynchronously(on: group!.executor)
  }

  /// Moves jobs and requests from other threads into the loop.
  func takeRemote() {
    let inbox = unsafe remote.take(keepingCapacityOf: &spareInbox)
    if unsafe timers.hasSleepers {
      for entry in inbox.jobs { noteResumed(entry.job) }
    }
    if group == nil {
      unsafe ready.append(contentsOf: inbox.jobs)
    } else {
      // Group jobs from outside the group may run on any of its reactors.
      for entry in inbox.jobs {
        if entry.kind == .group { runQueue.push(entry.job) } else { unsafe ready.append(entry) }
      }
      offerWorkIfQueued()
    }
    unsafe spareInbox = inbox.jobs
    unsafe readyClosures.append(contentsOf: inbox.closures)
    for request in inbox.timers { schedule(request) }
    for userData in inbox.cancellations { cancelOnLoop(userData, reason: .task) }
    if inbox.shutdownRequested { beginShutdown() }
  }

  /// Handles every completion in the ring.
  func handleCompletions() {
    unsafe ring!.drainCompletions(into: &completions)
    guard unsafe !completions.isEmpty else { return }
    unsafe statistics.completions += completions.count
    unsafe resumingWaiters = true
    for completion in unsafe completions { handle(completion) }
    unsafe resumingWaiters = false
    unsafe completions.removeAll(keepingCapacity: true)
  }

  /// Queues a job. From the loop thread: no lock, no syscall. From another
  /// reactor's loop thread: that loop's outbox, sent in one batch at the end of
  /// its iteration. From elsewhere: the remote inbox, waking the loop only if
  /// it sleeps. After termination: the fallback queue.
  func enqueue(_ job: UnownedJob, kind: ReadyJob.Kind) {
    let entry = ReadyJob(job: job, kind: kind)
    if ownsLoopState {
      if unsafe kind == .serial && TaskPreferenceCache.identity(job) == runningJob {
        correctPreference(job)
      }
      if unsafe timers.hasSleepers { noteResumed(job) }
      unsafe ready.append(entry)
      return
    }
    if let sender = LoopThreadMarker.current, sender.ownsLoopState {
      sender.send(entry, to: self)
      return
    }
    if case .closed = remote.push({ $0.jobs.append(entry) }) {
      runAfterTermination(entry)
    }
  }

  /// The running job could not hop inline to another actor of this reactor:
  /// the task executor it was run with was guessed wrong. Guess the next one
  /// (nothing, this reactor, its group), so a wrong guess costs one re-enqueue.
  private func correctPreference(_ job: UnownedJob) {
    switch preferences.preference(job) {
    case .none:
      preferences.remember(job, .reactor)
    case .reactor:
      if group != nil { preferences.remember(job, .group) } else { preferences.forget(job) }
    case .group:
      preferences.forget(job)
    }
  }

  /// A job that arrived after the loop terminated runs on a serial fallback
  /// queue, still marked as this loop (so isolation checks hold); any I/O it
  /// starts fails with "shut down". Nothing is dropped, nothing hangs.
  func runAfterTermination(_ entry: ReadyJob) {
    let serial = unsafe serialExecutor!
    let task = unsafe taskExecutor!
    let groupExecutor = unsafe group?.executor
    EventLoop.fallbackQueue.async {
      LoopThreadMarker.mark(self)
      switch entry.kind {
      case .serial: unsafe entry.job.runSynchronously(on: serial)
      case .task: unsafe entry.job.runSynchronously(on: task)
      case .group: unsafe entry.job.runSynchronously(on: groupExecutor!)
      case .wake:
        unsafe entry.job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
      }
      LoopThreadMarker.mark(nil)
    }
  }

  static let fallbackQueue = DispatchQueue(label: "UringReactor.after-shutdown")
}
