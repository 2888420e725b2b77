extension Reactor: SerialExecutor, TaskExecutor {
  /// Enqueues a job of an actor pinned to this reactor (the `SerialExecutor`
  /// path). From the loop thread: no lock, no syscall. From another reactor's
  /// loop: its outbox, sent in one batch per iteration (woken with
  /// `IORING_OP_MSG_RING`). From any other thread: a locked inbox, and an
  /// eventfd write only if the loop sleeps.
  public func enqueue(_ job: consuming ExecutorJob) {
    loop.enqueue(UnownedJob(job), kind: .serial)
  }

  /// Enqueues a job of a task that prefers this reactor (the `TaskExecutor`
  /// path). Kept apart from the serial path: running task jobs `on:` the task
  /// executor keeps same-executor actor hops on the runtime's fast path.
  // (The formatter would drop the space after the comma below.)
  // swift-format-ignore
  @_implements(TaskExecutor, enqueue(_:))
  public func enqueueTaskJob(_ job: consuming ExecutorJob) {
    loop.enqueue(UnownedJob(job), kind: .task)
  }

  public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
    unsafe UnownedSerialExecutor(ordinary: self)
  }

  public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
    unsafe UnownedTaskExecutor(ordinary: self)
  }

  /// Traps unless the caller runs on this reactor's thread: the loop runs one
  /// job at a time, so being on it is being isolated to it.
  public func checkIsolated() {
    precondition(
      loop.isOnLoopThread, "expected to run on reactor '\(loop.name)', but running elsewhere")
  }

  /// Whether the caller runs on this reactor's thread.
  public func isIsolatingCurrentContext() -> Bool? {
    loop.isOnLoopThread
  }
}
