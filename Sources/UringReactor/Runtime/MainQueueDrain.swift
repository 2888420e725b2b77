import CLibUring
import Glibc
import Uring

/// Runs libdispatch's main queue (`DispatchQueue.main`) on the main reactor,
/// under ``ReactorRuntime``.
///
/// Nobody else drains it there: the main thread runs reactor 0's loop, not
/// `dispatch_main()` or a Foundation run loop. libdispatch offers run loops
/// two hooks, the ones Foundation's `CFRunLoop` uses: the main queue's
/// wake-up handle (an eventfd on Linux, written when blocks wait) and a
/// callback that runs the waiting blocks, on the main thread only.
///
/// The loop polls the eventfd on its ring (a multishot `IORING_OP_POLL_ADD`,
/// armed again if the kernel ends it); each time it fires, one *drain job*
/// is queued on the main actor (reactor 0's serial executor), which resets
/// the eventfd and calls the callback. The blocks therefore run as a main
/// actor job of their own, never inside another job (completions can be
/// handled in the middle of one, see inline completion), and are isolated
/// to the main actor, as Swift assumes of `DispatchQueue.main` closures.
///
/// Shutdown cancels the poll with the reactor's other operations; blocks
/// queued after that are not run (the process is exiting).
///
/// Memory: the poll passes the kernel no pointer, and the slot holds this
/// handler until its final CQE (rules 1 and 2). The eventfd belongs to
/// libdispatch and is never closed.
///
/// Thread-safety: `@unchecked Sendable` because the drain job captures it;
/// `drainQueued` is touched only on the main thread (the loop thread of
/// reactor 0), which is where completions are handled and drain jobs run.
final class MainQueueDrain: CompletionHandler, @unchecked Sendable {
  // SAFETY: the loop owns its in-flight table, which owns this handler while
  // the poll is in flight; the drain job does not use it.
  private unowned(unsafe) let loop: EventLoop
  private let fd: CInt
  /// A drain job is queued and has not started yet.
  private var drainQueued = false

  private init(loop: EventLoop, fd: CInt) {
    unsafe self.loop = loop
    self.fd = fd
  }

  /// Starts draining the main queue on `loop`, which must be the calling
  /// thread's (the main thread's) and running.
  static func start(on loop: EventLoop) {
    precondition(loop.ownsLoopState && isMainThread, "the main queue drains on the main reactor")
    MainQueueDrain(loop: loop, fd: clu_dispatch_main_queue_handle()).arm()
  }

  private func arm() {
    // SAFETY: POLL_ADD passes no pointer to the kernel; libdispatch never
    // closes the main queue's eventfd while the process runs.
    _ = unsafe loop.start(.pollAdd(fd: fd, events: UInt32(POLLIN), multishot: true), handler: self)
  }

  /// The poll's CQEs, on the loop thread.
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    if completion.result >= 0 { queueDrain() }
    guard isFinal else { return }
    if cancellation != nil || completion.result == -ECANCELED { return }
    if completion.result < 0 {
      printToStandardError(
        "UringReactor: DispatchQueue.main can no longer be drained: poll failed with errno "
          + "\(-completion.result)")
      return
    }
    // The kernel ended the multishot poll (it may, e.g. after a CQ overflow).
    arm()
  }

  /// Queues one drain job on the main actor, unless one is queued already.
  private func queueDrain() {
    guard !drainQueued else { return }
    drainQueued = true
    Task.detached { @MainActor in self.drain() }
  }

  /// Resets the eventfd, then runs the blocks waiting: a block queued after
  /// the reset writes the eventfd again, so none is left waiting unseen.
  private func drain() {
    // After the reactor terminated, main actor jobs run on a fallback queue:
    // libdispatch refuses (crashes) a drain off the main thread.
    guard isMainThread else { return }
    drainQueued = false
    _ = EventFDWatch.readIfReady(fd)
    clu_dispatch_drain_main_queue()
  }

  private static var isMainThread: Bool { clu_gettid() == getpid() }
  private var isMainThread: Bool { Self.isMainThread }
}
