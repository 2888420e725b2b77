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
      if !ready.isEmpty {
        ring!.submitAndFlushCompletions()
      } else if remote.prepareToSleep() {
        statistics.waits += 1
        ring!.submitAndWait(1)
        remote.awake()
      } else {
        ring!.submitAndFlushCompletions()
      }
      handleCompletions()
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
    for entry in running {
      runningJob = TaskPreferenceCache.identity(entry.job)
      if entry.viaTaskExecutor {
        runningWithTaskExecutor = true
        preferences.remember(entry.job)
        entry.job.runSynchronously(on: task)
      } else if preferences.prefersReactor(entry.job) {
        // An actor job of a task that prefers the reactor: with the reactor as
        // task executor too, its same-executor actor hops run inline.
        runningWithTaskExecutor = true
        entry.job.runSynchronously(isolatedTo: serial, taskExecutor: task)
      } else {
        runningWithTaskExecutor = false
        entry.job.runSynchronously(on: serial)
      }
    }
    runningJob = 0
    statistics.jobsRun += running.count
    running.removeAll(keepingCapacity: true)
  }

  /// Moves jobs and requests from other threads into the loop.
  func takeRemote() {
    let inbox = remote.take(keepingCapacityOf: &spareInbox)
    ready.append(contentsOf: inbox.jobs)
    spareInbox = inbox.jobs
    for userData in inbox.cancellations { cancelOnLoop(userData, reason: .task) }
    if inbox.shutdownRequested { beginShutdown() }
  }

  /// Handles every completion in the ring.
  func handleCompletions() {
    ring!.drainCompletions(into: &completions)
    guard !completions.isEmpty else { return }
    statistics.completions += completions.count
    for completion in completions { handle(completion) }
    completions.removeAll(keepingCapacity: true)
  }

  /// Queues a job. From the loop thread: no lock, no syscall. From others: the
  /// remote inbox, waking the loop only if it sleeps. After termination: the
  /// fallback queue.
  func enqueue(_ job: UnownedJob, viaTaskExecutor: Bool) {
    let entry = ReadyJob(job: job, viaTaskExecutor: viaTaskExecutor)
    if ownsLoopState {
      if !viaTaskExecutor && TaskPreferenceCache.identity(job) == runningJob {
        // The running job could not hop inline to another actor of this
        // reactor: its task executor was guessed wrong. Guess the other way.
        if runningWithTaskExecutor {
          preferences.forget(job)
        } else {
          preferences.remember(job)
        }
      }
      ready.append(entry)
      return
    }
    if case .closed = remote.push({ $0.jobs.append(entry) }) {
      runAfterTermination(entry)
    }
  }

  /// A job that arrived after the loop terminated runs on a serial fallback
  /// queue, still marked as this loop (so isolation checks hold); any I/O it
  /// starts fails with "shut down". Nothing is dropped, nothing hangs.
  func runAfterTermination(_ entry: ReadyJob) {
    let serial = serialExecutor!
    let task = taskExecutor!
    EventLoop.fallbackQueue.async {
      LoopThreadMarker.mark(self)
      if entry.viaTaskExecutor {
        entry.job.runSynchronously(on: task)
      } else {
        entry.job.runSynchronously(on: serial)
      }
      LoopThreadMarker.mark(nil)
    }
  }

  static let fallbackQueue = DispatchQueue(label: "UringReactor.after-shutdown")
}
