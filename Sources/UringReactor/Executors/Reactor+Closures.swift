extension Reactor {
  /// Runs `body` on the reactor's loop thread, soon, as a job that is not a
  /// task: the cheapest way to hand the loop work from another thread (a C
  /// library's callback, a Dispatch queue), like `DispatchQueue.async` or
  /// SwiftNIO's `EventLoop.execute`.
  ///
  /// - From the loop thread: queued for the next loop iteration; no lock, no
  ///   syscall.
  /// - From any other thread: one push into the loop's inbox under an
  ///   uncontended lock, and a wake-up (an eventfd write) only if the loop
  ///   sleeps. Closures pushed by one thread run in the order pushed.
  /// - After the reactor has shut down: `body` still runs, once, on a serial
  ///   fallback queue (not the loop thread), where any I/O it starts fails
  ///   with ``IOError/Kind/reactorShutDown``.
  ///
  /// `body` runs to completion on the loop thread, holding up every task and
  /// completion of the reactor meanwhile: keep it short and non-blocking (hand
  /// long work to ``ReactorGroup/offload(_:)`` or a task). To run async code,
  /// start a task instead: `Task(executorPreference: reactor) { ... }`.
  ///
  /// Thread-safety: any thread. No `IORING_OP_*` of its own.
  public func execute(_ body: @escaping @Sendable () -> Void) {
    loop.execute { _ in body() }
  }
}
