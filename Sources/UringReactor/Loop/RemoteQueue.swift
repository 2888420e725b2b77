import CLibUring
import Glibc
import Synchronization

/// The loop's inbox for other threads: jobs and cancellation requests, behind a
/// lock, plus the sleeping flag that decides whether a producer must wake the
/// loop through its eventfd.
///
/// Wake protocol (Dekker-style, both sides sequentially consistent): the loop
/// stores `sleeping = true`, then loads `pending`; a producer appends, increments
/// `pending`, then exchanges `sleeping` to `false` and writes the eventfd if it
/// was `true`. At least one side sees the other, so no item waits unseen while
/// the loop sleeps, and the eventfd is written only when the loop may sleep.
final class RemoteQueue: Sendable {
  struct Inbox {
    var jobs: [ReadyJob] = []
    /// Closures to run on the loop thread (``Reactor/execute(_:)``).
    var closures: [LoopClosure] = []
    /// Delayed jobs scheduled from other threads.
    var timers: [TimerRequest] = []
    var cancellations: [UInt64] = []
    var shutdownRequested = false
    /// Set by the loop as it terminates: later jobs go to the fallback.
    var closed = false
  }

  enum PushResult {
    case queued
    case closed
  }

  /// What ``pushDeferringWake(_:)`` did.
  enum DeferredPushResult {
    /// Queued; the loop is awake and will see it.
    case queued
    /// Queued; the loop sleeps and the caller must wake it (an
    /// `IORING_OP_MSG_RING`, or ``wake()``), then call ``wakeDone()``. Until
    /// then the loop keeps its eventfd and ring open.
    case mustWake
    /// The loop has terminated; nothing was queued.
    case closed
  }

  private let inbox = Locked(Inbox())
  /// Items pushed since the loop last took the inbox.
  // Ordering: sequentially consistent, see the wake protocol above.
  private let pending = Atomic<Int>(0)
  /// The loop is about to wait (or waits) in io_uring_enter.
  // Ordering: sequentially consistent, see the wake protocol above.
  private let sleeping = Atomic<Bool>(false)
  /// Producers between a successful push and the end of their wake-up (an
  /// eventfd write, or an `IORING_OP_MSG_RING` until its sender's CQE).
  // Ordering: incremented under the inbox lock, decremented with release;
  // `waitForWakers` loads with acquire, so the ring and the eventfd are closed
  // only after every wake-up aimed at them has finished.
  private let activeWakers = Atomic<Int>(0)
  /// The eventfd whose read is armed on the ring.
  let eventFD: CInt

  init(eventFD: CInt) {
    self.eventFD = eventFD
  }

  /// Pushes with `body` unless the loop has terminated; wakes it if it sleeps.
  func push(_ body: (inout Inbox) -> Void) -> PushResult {
    guard insert(body) else { return .closed }
    if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake() }
    activeWakers.subtract(1, ordering: .releasing)
    return .queued
  }

  /// Pushes with `body` unless the loop has terminated, leaving the wake-up
  /// (if the loop sleeps) to the caller: a loop thread sends it as an
  /// `IORING_OP_MSG_RING` with its next submission instead of a syscall now.
  func pushDeferringWake(_ body: (inout Inbox) -> Void) -> DeferredPushResult {
    guard insert(body) else { return .closed }
    if sleeping.exchange(false, ordering: .sequentiallyConsistent) { return .mustWake }
    activeWakers.subtract(1, ordering: .releasing)
    return .queued
  }

  /// The locked half of a push: `body` fills the inbox unless it is closed;
  /// the push then counts as pending and as an active waker, which the
  /// caller ends once it has dealt with the wake-up.
  private func insert(_ body: (inout Inbox) -> Void) -> Bool {
    inbox.withLock { inbox -> Bool in
      if inbox.closed { return false }
      body(&inbox)
      pending.add(1, ordering: .sequentiallyConsistent)
      activeWakers.add(1, ordering: .relaxed)
      return true
    }
  }

  /// Ends a wake-up owed after ``pushDeferringWake(_:)`` returned `.mustWake`.
  func wakeDone() {
    activeWakers.subtract(1, ordering: .releasing)
  }

  /// Writes the eventfd, completing the loop's armed read.
  func wake() {
    var one: UInt64 = 1
    _ = unsafe withUnsafeBytes(of: &one) { unsafe Glibc.write(eventFD, $0.baseAddress, 8) }
  }

  /// Whether the loop announced that it waits (or is about to wait) in
  /// `io_uring_enter`. Any thread; no lock.
  var isSleeping: Bool { sleeping.load(ordering: .sequentiallyConsistent) }

  /// Wakes the loop if it sleeps, with nothing pushed: a sibling of its group
  /// has work for it to steal (`GroupScheduler.offerWork(from:)`). Returns
  /// whether this call woke it. Does nothing once the inbox is closed (the
  /// eventfd may be gone).
  func nudge() -> Bool {
    let open = inbox.withLock { inbox -> Bool in
      if inbox.closed { return false }
      activeWakers.add(1, ordering: .relaxed)
      return true
    }
    guard open else { return false }
    defer { activeWakers.subtract(1, ordering: .releasing) }
    guard sleeping.exchange(false, ordering: .sequentiallyConsistent) else { return false }
    wake()
    return true
  }

  /// How many pushes wait to be taken (tests).
  var pendingCount: Int { pending.load(ordering: .sequentiallyConsistent) }

  /// Whether items wait (cheap; no lock).
  var hasPending: Bool { pending.load(ordering: .relaxed) > 0 }

  /// Takes everything pushed so far. Loop thread only. `spare` (emptied)
  /// becomes the inbox's next job buffer, so the capacity is reused.
  func take(keepingCapacityOf spare: inout [ReadyJob]) -> Inbox {
    spare.removeAll(keepingCapacity: true)
    return inbox.withLock { inbox in
      pending.store(0, ordering: .sequentiallyConsistent)
      var taken = Inbox()
      swap(&taken.jobs, &inbox.jobs)
      swap(&inbox.jobs, &spare)
      swap(&taken.cancellations, &inbox.cancellations)
      swap(&taken.closures, &inbox.closures)
      swap(&taken.timers, &inbox.timers)
      taken.shutdownRequested = inbox.shutdownRequested
      return taken
    }
  }

  /// Announces that the loop is about to wait. Returns `false` (and withdraws)
  /// if items are pending, in which case the loop must not wait.
  func prepareToSleep() -> Bool {
    sleeping.store(true, ordering: .sequentiallyConsistent)
    if pending.load(ordering: .sequentiallyConsistent) > 0 {
      sleeping.store(false, ordering: .relaxed)
      return false
    }
    return true
  }

  /// The loop woke up: producers need not write the eventfd.
  func awake() {
    sleeping.store(false, ordering: .relaxed)
  }

  /// Closes the eventfd once the inbox is closed and every producer that
  /// pushed before has finished its `wake()`: a late write can never reach a
  /// reused descriptor number. Loop thread, at termination.
  func closeEventFD() {
    waitForWakers()
    close(eventFD)
  }

  /// Waits until every producer that pushed has finished waking the loop
  /// (an eventfd write, or an `IORING_OP_MSG_RING` aimed at its ring, which
  /// must not outlive the ring's descriptor). Loop thread, at termination.
  func waitForWakers() {
    while activeWakers.load(ordering: .acquiring) > 0 { sched_yield() }
  }

  /// Closes the inbox if it is empty. Returns `false` if items arrived.
  func closeIfEmpty() -> Bool {
    inbox.withLock { inbox in
      guard inbox.jobs.isEmpty, inbox.cancellations.isEmpty, inbox.timers.isEmpty,
        inbox.closures.isEmpty
      else {
        return false
      }
      inbox.closed = true
      return true
    }
  }
}
