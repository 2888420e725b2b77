extension ReactorGroup: TaskExecutor {
  /// Places a job of a task that prefers the group (or, when the group is the
  /// process's default executor, of any task without a preference).
  ///
  /// On one of the group's reactors, the job stays there if it is that
  /// reactor's continuation of work already placed: a task resumed by a
  /// completion or a timer, re-enqueueing itself (`Task.yield()`), or seen on
  /// this reactor recently. Anything else (a new task, a job from another
  /// thread) goes to the next reactor in round-robin order. Round-robin rather
  /// than least-loaded: it needs no shared counters on the hot path, and a
  /// task's later jobs stay where it landed.
  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    if let loop = LoopThreadMarker.current, loop.group?.identity == ObjectIdentifier(self),
      loop.ownsLoopState, loop.keepsHere(job)
    {
      loop.enqueue(job, kind: .group)
      return
    }
    next().loop.enqueue(job, kind: .group)
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
}
