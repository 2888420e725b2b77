import Glibc
import Uring

extension EventLoop {
  /// Stops taking operations and cancels every one in flight. Jobs keep
  /// running, so the waiters resume (with "shut down") and their tasks go on.
  /// Every sleep waiting here ends now (``wakeSleepers(onLoop:)``).
  func beginShutdown() {
    guard lifecycle == .running else { return }
    setLifecycle(.draining)
    wakeSleepers(onLoop: true)
    for userData in unsafe table.occupied() {
      let isUserOperation = unsafe table.withEntry(userData) { entry -> Bool in
        switch entry.waiter {
        case .task, .unregisteredTask, .registering, .handler: true
        case .wakeup, .none, .finished: false
        }
      }
      if isUserOperation == true { cancelOnLoop(userData, reason: .shutdown) }
    }
  }

  /// Called with the inbox closed and only the eventfd read in flight: cancels
  /// it, reaps every last CQE, then tears the ring down. Delayed jobs
  /// scheduled during the drain run now, on the fallback queue.
  func finish() {
    if unsafe !outbox.isEmpty { flushOutbox() }
    wakeSleepers(onLoop: false)
    if wakeupArmed {
      for userData in unsafe table.occupied() {
        unsafe submitInternal(.cancel(userData: userData, flags: 0))
      }
    }
    while unsafe table.count > 0 {
      unsafe ring!.submitAndWait(1)
      handleCompletions()
    }
    diagnostics?.report(.stopped(reactor: name, statistics: statisticsSnapshot()))
    // Other loops may still be sending an `IORING_OP_MSG_RING` to this ring's
    // descriptor: it must stay open until they are done.
    remote.waitForWakers()
    unsafe ring = nil
    remote.closeEventFD()
    setLifecycle(.terminated)
    LoopThreadMarker.mark(nil)
  }
}
