extension ReactorGroup: TaskExecutor {
  /// Queues a job of a task that prefers the group (or, when the group is the
  /// process's default executor, of any task without a preference).
  ///
  /// - On one of the group's reactors, the job is queued on that reactor
  ///   (local first: no lock shared with the others in the common case, no
  ///   wake-up). It runs there unless an idle sibling takes it first (work
  ///   stealing, see `GroupScheduler`).
  /// - A job that goes on inside a reactor's own code stays on that reactor
  ///   and cannot be taken: a task resumed by that reactor's completion, wait
  ///   deadline or other wait (its operation's memory, descriptor and
  ///   in-flight slot belong to that reactor's ring).
  /// - A job from outside the group's threads goes to the next reactor in
  ///   round-robin order, where it may be taken like any other.
  ///
  /// What can move, in short: a task that prefers the group, between two of
  /// its awaits. What never moves: an actor pinned to a reactor, a task that
  /// prefers one reactor (`Task(executorPreference: reactor)`), an operation
  /// in flight (its completion is reaped by the ring that submitted it), and
  /// a task while it waits in a reactor's I/O call. Such a call made on
  /// another reactor's `File` or socket hops there and back (see
  /// ``Reactor``).
  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    guard let loop = currentMemberLoop else {
      next().loop.enqueue(job, kind: .group)
      return
    }
    loop.enqueueGroupJob(job)
  }

  public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
    unsafe UnownedTaskExecutor(ordinary: self)
  }

  /// The loop of the group's reactor the calling thread runs, if any.
  var currentMemberLoop: EventLoop? {
    guard let loop = LoopThreadMarker.current, loop.group?.identity == ObjectIdentifier(self),
      loop.ownsLoopState
    else { return nil }
    return loop
  }
}
