/// A closure for the loop thread: a job that is not a task (no task to
/// allocate, no executor to switch to), like `DispatchQueue.async`'s block.
struct LoopClosure {
  let body: @Sendable (EventLoop?) -> Void
}

extension EventLoop {
  /// Runs `body` on the loop thread soon, in the loop's order of arrival
  /// from each thread: from the loop thread itself, next iteration (no lock,
  /// no syscall); from another thread, through the inbox (an uncontended
  /// lock, and an eventfd write only if the loop sleeps). `body` gets the
  /// loop while it still owns its state, else (the reactor has terminated)
  /// `nil`, on a serial fallback queue.
  func execute(_ body: @escaping @Sendable (EventLoop?) -> Void) {
    let closure = LoopClosure(body: body)
    if ownsLoopState {
      unsafe readyClosures.append(closure)
      return
    }
    if case .closed = remote.push({ $0.closures.append(closure) }) {
      EventLoop.fallbackQueue.async {
        LoopThreadMarker.mark(self)
        body(nil)
        LoopThreadMarker.mark(nil)
      }
    }
  }

  /// Runs the closures that were ready when the iteration began.
  func runClosures() {
    unsafe swap(&readyClosures, &runningClosures)
    for closure in unsafe runningClosures {
      // A closure queued before the loop began closing still sees it.
      closure.body(ownsLoopState ? self : nil)
    }
    unsafe statistics.jobsRun += runningClosures.count
    unsafe runningClosures.removeAll(keepingCapacity: true)
  }
}
