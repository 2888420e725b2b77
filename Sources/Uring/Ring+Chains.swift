import CLibUring

extension Ring {
  /// Makes room for `count` consecutive submissions: if the submission
  /// queue has fewer free entries, the prepared ones are submitted first.
  ///
  /// For linked chains (`IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK`): a chain must
  /// reach the kernel in one `io_uring_enter`, or the kernel starts its
  /// first part unlinked from the rest. Call this before preparing a chain
  /// of `count` submissions, none of which may then flush the queue.
  ///
  /// Thread-safety: the ring's owner thread only (the submitter).
  public mutating func reserve(_ count: Int) {
    precondition(
      count > 0 && count <= Int(setup.submissionQueueEntries), "a chain longer than the SQ")
    while Int(unsafe io_uring_sq_space_left(raw)) < count {
      if submit() == 0 && setup.submissionQueuePolling {
        _ = unsafe io_uring_sqring_wait(raw)
      }
    }
  }
}
