/// Something waiting on the loop thread for an event that is not one SQE's
/// completion (the next chunk of a multishot receive, the next connection of
/// a multishot accept), with an ``IODeadline``: told when its deadline has
/// passed, so that it can end the wait (`.timedOut`) while its multishot
/// operation keeps running.
///
/// Loop thread only.
protocol WaitDeadlineHandler: AnyObject {
  /// The deadline of the wait `timer` has passed. Called once, on the loop
  /// thread, unless the wait's deadline was removed first
  /// (``EventLoop/removeWaitDeadline(_:)``). Compare `timer` with the one
  /// the wait holds: a handler may have waited again since.
  func deadlinePassed(_ timer: WaitTimer)
}

/// The handle of one wait deadline in the loop's timer queues.
struct WaitTimer: Equatable {
  /// Its slot in the heap (reused once it fires or is removed).
  var id: Int32
  /// Unique per loop: tells this wait from a later one in the same slot.
  var sequence: UInt64
}

/// A wait deadline's entry in the timer heap: who to tell, and which of its
/// waits it is.
struct WaitExpiry {
  let handler: any WaitDeadlineHandler
  let sequence: UInt64
}

extension EventLoop {
  /// Tells `handler` on this loop when `deadline` (nanoseconds of
  /// `CLOCK_BOOTTIME`, an ``OperationDeadline``) has passed: an entry in the
  /// `.continuous` timer heap, served by the one kernel timeout the loop
  /// keeps armed for that clock's earliest deadline (the one `Task.sleep`
  /// uses), so a wait submits no SQE of its own unless its deadline is the
  /// earliest. The entry retains `handler` until it fires or is removed.
  /// Loop thread.
  func addWaitDeadline(_ handler: any WaitDeadlineHandler, _ deadline: OperationDeadline)
    -> WaitTimer
  {
    precondition(ownsLoopState, "a wait deadline was added off its reactor's loop thread")
    return unsafe timers.insertWait(handler, deadline: deadline.nanoseconds)
  }

  /// The wait ended before its deadline: its entry goes (nothing happens if
  /// it fired already, or was dropped at shutdown, or off the loop thread,
  /// once the loop has terminated and dropped every entry).
  func removeWaitDeadline(_ timer: WaitTimer) {
    guard isOnLoopThread else { return }
    unsafe timers.removeWait(timer)
  }

  /// Tells the handler of every wait whose deadline is at or before `now`,
  /// earliest first. Called where the loop expires its `.continuous` timers;
  /// a resumption here is the loop's continuation of the waiting task's
  /// work (like a completion's: `resumingWaiters`).
  func expireWaitDeadlines(now: Int64) {
    guard unsafe timers.waitCount > 0 else { return }
    let wasResumingWaiters = unsafe resumingWaiters
    unsafe resumingWaiters = true
    defer { unsafe resumingWaiters = wasResumingWaiters }
    while let (handler, timer) = unsafe timers.popDueWait(now: now) {
      handler.deadlinePassed(timer)
    }
  }
}
