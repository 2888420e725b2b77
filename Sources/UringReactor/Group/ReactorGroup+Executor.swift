extension ReactorGroup: TaskExecutor {
  /// Places a job of a task that prefers the group (or, when the group is the
  /// process's default executor, of any task without a preference).
  ///
  /// - On one of the group's reactors, the job stays there if it is that
  ///   reactor's continuation of work already placed: a task resumed by a
  ///   completion or a timer, re-enqueueing itself (`Task.yield()`), or seen on
  ///   this reactor recently.
  /// - Any other job enqueued on a reactor of the group (a new task, a task
  ///   woken by another one) goes to the least-loaded reactor: this one unless
  ///   another has fewer jobs waiting (its ready queue as published once per
  ///   loop iteration, plus what is on its way to it). Moving a job to
  ///   another reactor costs far more than the job's own scheduling (the
  ///   task's memory changes CPU caches, and its completion reaches back to
  ///   its parent), so work stays where it is made until another reactor has
  ///   less to do; a fan-out still spreads about evenly, and the jobs that
  ///   move go in batches (see `EventLoop.send(_:to:)`).
  /// - A job from outside the group's threads goes to the next reactor in
  ///   round-robin order.
  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    guard let loop = currentMemberLoop else {
      next().loop.enqueue(job, kind: .group)
      return
    }
    if loop.keepsHere(job) {
      loop.enqueue(job, kind: .group)
      return
    }
    leastLoaded(from: loop).enqueue(job, kind: .group)
  }

  public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
    UnownedTaskExecutor(ordinary: self)
  }

  /// The loop of the group's reactor the calling thread runs, if any.
  var currentMemberLoop: EventLoop? {
    guard let loop = LoopThreadMarker.current, loop.group?.identity == ObjectIdentifier(self),
      loop.ownsLoopState
    else { return nil }
    return loop
  }

  /// The loop with the fewest jobs waiting, `loop` (the caller's, on its
  /// thread) on a tie: its own ready queue against each other loop's
  /// published backlog plus this loop's outbox for it.
  func leastLoaded(from loop: EventLoop) -> EventLoop {
    var best = loop
    var bestLoad = loop.ready.count
    for other in memberLoops where other !== loop && bestLoad > 0 {
      let load = other.remote.estimatedBacklog + loop.outboxCount(for: other)
      if load < bestLoad {
        best = other
        bestLoad = load
      }
    }
    return best
  }
}
