import Uring

/// Jobs one loop has for another, gathered during an iteration.
struct OutboundJobs {
  let target: EventLoop
  var jobs: [ReadyJob]
}

extension EventLoop {
  /// The `user_data` of the CQE an `IORING_OP_MSG_RING` wake-up posts on the
  /// target ring. Generation 0 never names an in-flight slot.
  static let messageUserData: UInt64 = 0xFFFF_FFFF

  /// Loop thread: queues `entry` for `target`'s loop. The batch leaves at the
  /// end of this iteration (``flushOutbox()``): one lock and at most one wake-up
  /// per target loop, however many jobs go there.
  func send(_ entry: ReadyJob, to target: EventLoop) {
    unsafe statistics.jobsSent += 1
    for index in unsafe outbox.indices where unsafe outbox[index].target === target {
      unsafe outbox[index].jobs.append(entry)
      return
    }
    unsafe outbox.append(OutboundJobs(target: target, jobs: [entry]))
  }

  /// Loop thread, before submitting: hands each batch to its target's inbox
  /// and wakes the targets that sleep, with an `IORING_OP_MSG_RING` (it posts
  /// a CQE on the target's ring, which ends its wait) that goes out with this
  /// loop's next `io_uring_enter`, or with an eventfd write where the kernel
  /// has no `MSG_RING`.
  func flushOutbox() {
    // Nothing below adds to the outbox; the batches' capacity is kept.
    defer { unsafe outbox.removeAll(keepingCapacity: true) }
    for batch in unsafe outbox {
      unsafe statistics.batchesSent += 1
      let target = batch.target
      switch target.remote.pushDeferringWake({ $0.jobs.append(contentsOf: batch.jobs) }) {
      case .queued:
        break
      case .mustWake:
        wake(target)
      case .closed:
        for entry in batch.jobs { target.runAfterTermination(entry) }
      }
    }
  }

  /// Wakes `target`, whose inbox owes it a wake-up (`.mustWake`).
  private func wake(_ target: EventLoop) {
    if canMessageRings, lifecycle == .running,
      unsafe start(
        .messageRing(ringFD: target.ringFD, result: 0, userData: EventLoop.messageUserData),
        handler: RingMessageSent(target: target.remote)) != nil
    {
      unsafe statistics.ringMessages += 1
      return
    }
    unsafe statistics.eventFDWakes += 1
    target.remote.wake()
    target.remote.wakeDone()
  }
}

/// Receives the sender's CQE of an `IORING_OP_MSG_RING` wake-up. Until then the
/// target keeps its ring (and eventfd) open; if the message failed (`-EOVERFLOW`
/// on a full target CQ, cancelled at shutdown), the eventfd wakes it instead.
final class RingMessageSent: CompletionHandler {
  private let target: RemoteQueue

  init(target: RemoteQueue) {
    self.target = target
  }

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    if completion.result < 0 { target.wake() }
    target.wakeDone()
  }
}
