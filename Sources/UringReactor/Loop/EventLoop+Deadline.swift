import CLibUring
import Uring

extension EventLoop {
  /// Prepares `operation` with `IOSQE_IO_LINK` (and `flags`), followed by an absolute
  /// `IORING_OP_LINK_TIMEOUT` on `CLOCK_BOOTTIME` (`ContinuousClock`'s clock)
  /// at `deadline` nanoseconds. The two SQEs must be adjacent in one
  /// submission, so the SQ is flushed first if it has no room for both.
  ///
  /// The timeout has its own in-flight slot, which retains its timespec until
  /// its CQE (`-ETIME` when it cancelled the operation, `-ECANCELED` when the
  /// operation finished first); the operation's slot keeps its memory until
  /// the operation's own CQE (rules 1 and 2).
  func prepareLinked(
    _ operation: RingOperation, userData: UInt64, flags: SubmissionFlags = [], deadline: Int64
  ) {
    let entries = setup.submissionQueueEntries
    while unsafe entries - (ring?.pendingSubmissions ?? 0) < 2 { unsafe ring!.submit() }
    let spec = TimeoutSpec(nanoseconds: deadline)
    let timeoutUserData = unsafe table.insert(
      InFlight(
        opcode: .linkTimeout, waiter: .none, retained: (spec, nil),
        createsDescriptor: false, armed: true, cancellation: nil))
    unsafe ring!.prepare(operation, userData: userData, flags: flags.union(.link))
    unsafe ring!.prepare(
      .linkTimeout(timespec: spec.pointer, flags: TimerClock.continuous.timeoutFlags),
      userData: timeoutUserData)
    unsafe statistics.linkedTimeouts += 1
    observer?.prepared(timeoutUserData, opcode: .linkTimeout)
  }
}
