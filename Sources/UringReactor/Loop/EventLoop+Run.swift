import Dispatch
import Uring

extension EventLoop {
  /// The loop. Runs on the loop thread until shutdown has reaped every
  /// operation; then tears the ring down.
  func run() {
    LoopThreadMarker.mark(self)
    armWakeup()
    while true {
      statistics.iterations += 1
      runReadyJobs()
      if remote.hasPending { takeRemote() }
      if lifecycle == .draining, ready.isEmpty, table.count == (wakeupArmed ? 1 : 0) {
        // Closing first, so no job is queued locally once the inbox is closed.
        setLifecycle(.closing)
        if remote.closeIfEmpty() { break }
        setLifecycle(.draining)
        continue
      }
      // Before any submission: other loops' jobs leave in one batch each (their
      // wake-ups go out with this submission), and the kernel timeout follows
      // the earliest deadline.
      if !outbox.isEmpty { flushOutbox() }
      if timers.needsReconcile { reconcileTimers() }
      // What the group's placement compares (`ReactorGroup.enqueue`).
      if group != nil { remote.publishBacklog(ready.count) }
      // A task waiting without a cancellation handler must not be left
      // waiting on a sleeping loop: no sleep while any is (`promptRegistrations`).
      if !ready.isEmpty || !unregistered.isEmpty {
        ring!.submitAndFlushCompletions()
      } else if remote.prepareToSleep() {
        statistics.waits += 1
        ring!.submitAndWait(1)
        remote.awake()
      } else {
        ring!.submitAndFlushCompletions()
      }
      handleCompletions()
      if !unregistered.isEmpty { promptRegistrations() }
    }
    finish()
  }

  /// Runs the jobs that were ready when the iteration began; jobs they make
  /// ready run next iteration, after their I/O has been submitted.
  func runReadyJobs() {
    guard !ready.isEmpty else { return }
    swap(&ready, &running)
    let serial = serialExecutor!
    let task = taskExecutor!
    let last = running.count - 1
    for (index, entry) in running.enumerated() {
      // Only the iteration's last job may skip the batch: the others' I/O
      // goes out together in the iteration's one submission.
      inlineBudget = index == last ? EventLoop.inlineBudgetPerJob : 0
      runningJob = TaskPreferenceCache.identity(entry.job)
      runningKind = entry.kind
      switch entry.kind {
      case .task:
        runningWithTaskExecutor = true
        preferences.remember(entry.job, .reactor)
        entry.job.runSynchronously(on: task)
      case .serial:
        // An actor job of a task that prefers the reactor (or its group): with
        // that task executor too, its same-executor actor hops run inline.
        switch preferences.preference(entry.job) {
        case .none:
          runningWithTaskExecutor = false
          entry.job.runSynchronously(on: serial)
        case .reactor:
          runningWithTaskExecutor = true
          entry.job.runSynchronously(isolatedTo: serial, taskExecutor: task)
        case .group:
          runningWithTaskExecutor = true
          entry.job.runSynchronously(isolatedTo: serial, taskExecutor: group!.executor)
        }
      case .group:
        runningWithTaskExecutor = true
        preferences.remember(entry.job, .group)
        entry.job.runSynchronously(on: group!.executor)
      case .wake:
        runWakeJob(entry.job)
      }
    }
    runningJob = 0
    inlineBudget = 0
    statistics.jobsRun += running.count
    running.removeAll(keepingCapacity: true)
  }

  /// Moves jobs and requests from other threads into the loop.
  func takeRemote() {
    let inbox = remote.take(keepingCapacityOf: &spareInbox)
    if timers.hasSleepers {
      for entry in inbox.jobs { noteResumed(entry.job) }
    }
    ready.append(contentsOf: inbox.jobs)
    spareInbox = inbox.jobs
    for request in inbox.timers { schedule(request) }
    for userData in inbox.cancellations { cancelOnLoop(userData, reason: .task) }
    if inbox.shutdownRequested { beginShutdown() }
  }

  /// Handles every completion in the ring.
  func handleCompletions() {
    ring!.drainCompletions(into: &completions)
    guard !completions.isEmpty else { return }
    statistics.completions += completions.count
    handlingCompletions = true
    for completion in completions { handle(completion) }
    handlingCompletions = false
    completions.removeAll(keepingCapacity: true)
  }

  /// Queues a job. From the loop thread: no lock, no syscall. From another
  /// reactor's loop thread: that loop's outbox, sent in one batch at the end of
  /// its iteration. From elsewhere: the remote inbox, waking the loop only if
  /// it sleeps. After termination: the fallback queue.
  func enqueue(_ job: UnownedJob, kind: ReadyJob.Kind) {
    let entry = ReadyJob(job: job, kind: kind)
    if ownsLoopState {
      if kind == .serial && TaskPreferenceCache.identity(job) == runningJob {
        correctPreference(job)
      }
      if timers.hasSleepers { noteResumed(job) }
      ready.append(entry)
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
    let serial = serialExecutor!
    let task = taskExecutor!
    let groupExecutor = group?.executor
    EventLoop.fallbackQueue.async {
      LoopThreadMarker.mark(self)
      switch entry.kind {
      case .serial: entry.job.runSynchronously(on: serial)
      case .task: entry.job.runSynchronously(on: task)
      case .group: entry.job.runSynchronously(on: groupExecutor!)
      case .wake: entry.job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
      }
      LoopThreadMarker.mark(nil)
    }
  }

  static let fallbackQueue = DispatchQueue(label: "UringReactor.after-shutdown")
}
