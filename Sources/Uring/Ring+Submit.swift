import CLibUring
import SystemPackage

extension Ring {
  /// A free submission queue entry. When the SQ is full, the prepared entries
  /// are flushed to the kernel and the call retries: it never fails and never
  /// drops a request.
  mutating func nextEntry() -> UnsafeMutablePointer<io_uring_sqe> {
    while true {
      if let sqe = unsafe io_uring_get_sqe(raw) { return unsafe sqe }
      if submit() == 0 && setup.submissionQueuePolling {
        // The SQ poll thread has not consumed the ring yet.
        _ = unsafe io_uring_sqring_wait(raw)
      }
    }
  }

  /// Hands every prepared entry to the kernel without waiting.
  /// Returns how many were submitted.
  @discardableResult
  public mutating func submit() -> Int {
    unsafe enter { unsafe io_uring_submit($0) }
  }

  /// Submits and waits until at least `count` completions are ready (or a
  /// signal interrupts the wait). Completion work deferred by `DEFER_TASKRUN`
  /// runs here.
  @discardableResult
  public mutating func submitAndWait(_ count: UInt32) -> Int {
    unsafe enter { unsafe io_uring_submit_and_wait($0, count) }
  }

  /// Submits and runs deferred completion work without waiting, so that every
  /// completion already finished is in the CQ ring afterwards.
  @discardableResult
  public mutating func submitAndFlushCompletions() -> Int {
    unsafe enter { unsafe io_uring_submit_and_get_events($0) }
  }

  /// Runs one `io_uring_enter` variant, handling the transient refusals:
  /// `EINTR` (return, the caller loops), `EBUSY`/`EAGAIN` (the CQ is backed up:
  /// spill ready completions, then retry so nothing is lost or dropped).
  private mutating func enter(_ call: (UnsafeMutablePointer<io_uring>) -> Int32) -> Int {
    while true {
      let result = unsafe call(raw)
      if result >= 0 { return Int(result) }
      switch Errno(rawValue: -result) {
      case .interrupted:
        return 0
      case .resourceBusy, .resourceTemporarilyUnavailable:
        if spillReadyCompletions() == 0 { return 0 }
      default:
        preconditionFailure("io_uring_enter failed: \(Errno(rawValue: -result))")
      }
    }
  }

  /// Moves every ready CQE into `spilled` and frees their CQ slots.
  private mutating func spillReadyCompletions() -> Int {
    let count = unsafe Int(clu_drain_cqes(raw, batch, UInt32(batchCapacity)))
    for index in 0..<count { unsafe spilled.append(Completion(batch[index])) }
    return count
  }

  /// Moves every ready completion into `completions` (appending), including
  /// those the kernel kept in its overflow backlog. CQ slots are freed before
  /// this returns, so the caller may prepare submissions while handling them.
  ///
  /// - Returns: how many completions were appended.
  @discardableResult
  public mutating func drainCompletions(into completions: inout [Completion]) -> Int {
    var handled = 0
    if !spilled.isEmpty {
      completions.append(contentsOf: spilled)
      handled += spilled.count
      spilled.removeAll(keepingCapacity: true)
    }
    while true {
      let count = unsafe Int(clu_drain_cqes(raw, batch, UInt32(batchCapacity)))
      for index in 0..<count { unsafe completions.append(Completion(batch[index])) }
      handled += count
      if count == batchCapacity { continue }
      guard hasOverflowBacklog else { return handled }
      // Completions the CQ could not hold wait in the kernel: flush them in.
      let result = unsafe io_uring_get_events(raw)
      if result < 0 {
        let errno = Errno(rawValue: -result)
        precondition(
          errno == .interrupted || errno == .resourceTemporarilyUnavailable,
          "io_uring_get_events failed: \(errno)")
      }
    }
  }
}
