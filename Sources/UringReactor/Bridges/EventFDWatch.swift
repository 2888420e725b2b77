import Dispatch
import Glibc
import SystemPackage
import Uring

/// Watches the eventfd a foreign party makes readable when it is done with
/// lent memory, and reports that to the transfer's ``ForeignCompletion``.
///
/// It polls the eventfd through the ring (one-shot `IORING_OP_POLL_ADD` for
/// `POLLIN`, re-armed if it fires spuriously), then reads the counter with
/// `read(2)` on the loop thread: it is readable, so the read does not block,
/// and a real read lets ThreadSanitizer see the foreign thread's `write(2)`
/// as the edge that orders its use of the memory before ours.
///
/// Task cancellation never cancels the poll: the poll is how the bridge
/// learns that the memory is free again. Only the reactor's shutdown does,
/// on the loop thread (rule 5); the watch then keeps waiting with a blocking
/// `poll(2)` on a Dispatch thread, since the memory must stay lent until the
/// foreign side is done.
///
/// Thread-safety: `@unchecked Sendable` because the in-flight table holds it
/// as a handler; it has no mutable state, and its methods run on the loop
/// thread, except the blocking fallback, which captures only `Sendable`
/// values.
final class EventFDWatch: CompletionHandler, @unchecked Sendable {
  private let fd: CInt
  private let completion: ForeignCompletion
  private let loop: EventLoop

  init(fd: CInt, completion: ForeignCompletion, loop: EventLoop) {
    self.fd = fd
    self.completion = completion
    self.loop = loop
  }

  /// Arms the poll (loop thread), or waits off the ring if the loop no
  /// longer takes operations. The slot retains the completion, which
  /// retains the memory (rule 1).
  func arm() {
    // SAFETY: POLL_ADD passes no pointer to the kernel; the descriptor stays
    // open until `finish`, which runs only after this watch reported.
    let userData = unsafe loop.start(
      .pollAdd(fd: fd, events: UInt32(POLLIN), multishot: false), handler: self,
      retaining: (completion, nil))
    if userData == nil {
      // Refused only because the loop no longer takes operations: arming off
      // the loop thread of a running loop is a bug (rule 5).
      precondition(loop.lifecycle != .running, "eventfd watch armed off the loop thread")
      completion.markShutDown()
      Self.waitBlocking(fd: fd, completion: completion)
    }
  }

  /// The poll's completion, on the loop thread.
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    if completion.result < 0 {
      if cancellation != nil, completion.result == -ECANCELED || completion.result == -EINTR {
        // Only shutdown cancels this poll: keep waiting, off the ring.
        self.completion.markShutDown()
        Self.waitBlocking(fd: fd, completion: self.completion)
      } else {
        self.completion.finished(
          .unobservable(Errno(rawValue: -completion.result)))
      }
      return
    }
    switch Self.readIfReady(fd) {
    case .fired(let count):
      self.completion.finished(.completed(Int(truncatingIfNeeded: count)))
    case .notReady:
      arm()
    case .failed(let errno):
      self.completion.finished(.unobservable(errno))
    }
  }

  enum ReadAttempt {
    /// The eventfd was readable; this is the count read (and reset).
    case fired(UInt64)
    /// Not readable (yet, or no longer).
    case notReady
    /// It cannot be waited on.
    case failed(Errno)
  }

  /// Reads the eventfd if it is readable right now; never blocks (unless
  /// someone else reads a blocking-mode eventfd between the check and the
  /// read, which the bridge's contract forbids).
  static func readIfReady(_ fd: CInt) -> ReadAttempt {
    var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    // SAFETY: `probe` is a local the call borrows for its duration only.
    if unsafe poll(&probe, 1, 0) < 0 {
      return errno == EINTR ? .notReady : .failed(Errno(rawValue: errno))
    }
    if probe.revents & Int16(POLLNVAL) != 0 { return .failed(.badFileDescriptor) }
    guard probe.revents & Int16(POLLIN) != 0 else {
      return probe.revents & Int16(POLLERR | POLLHUP) != 0 ? .failed(.ioError) : .notReady
    }
    var count: UInt64 = 0
    // SAFETY: reads at most 8 bytes into the local `count`, during the call.
    let bytes = unsafe read(fd, &count, MemoryLayout<UInt64>.size)
    if bytes == MemoryLayout<UInt64>.size { return .fired(count) }
    if bytes < 0 {
      return errno == EAGAIN || errno == EINTR ? .notReady : .failed(Errno(rawValue: errno))
    }
    // A short read: not an eventfd.
    return .failed(.invalidArgument)
  }

  /// Waits for the eventfd with a blocking `poll(2)` on a Dispatch thread,
  /// once the ring can no longer do it (the reactor shut down). The closure
  /// retains the completion, hence the memory, until the foreign side is done.
  static func waitBlocking(fd: CInt, completion: ForeignCompletion) {
    DispatchQueue.global().async {
      while true {
        var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // SAFETY: `pending` is a local the call borrows for its duration only.
        // The descriptor stays open: its owner's `finish` runs only after
        // this wait reports the end of the transfer.
        if unsafe poll(&pending, 1, -1) < 0, errno != EINTR {
          completion.finished(.unobservable(Errno(rawValue: errno)))
          return
        }
        switch readIfReady(fd) {
        case .fired(let count):
          completion.finished(.completed(Int(truncatingIfNeeded: count)))
          return
        case .notReady:
          continue
        case .failed(let errno):
          completion.finished(.unobservable(errno))
          return
        }
      }
    }
  }
}
