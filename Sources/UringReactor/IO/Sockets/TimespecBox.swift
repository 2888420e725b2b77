import CLibUring
import Uring

/// Completions nobody waits for: the slot alone keeps what the operation
/// lent (a linked timeout's `timespec`).
final class IgnoredCompletions: CompletionHandler, Sendable {
  static let shared = IgnoredCompletions()
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {}
}

/// A `__kernel_timespec` at a stable address, lent to a timeout operation.
final class TimespecBox: @unchecked Sendable {
  // SAFETY: allocated here, freed in `deinit`, after the slot that lent it
  // to the kernel released it.
  let pointer: UnsafeMutablePointer<__kernel_timespec>

  init(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    pointer = .allocate(capacity: 1)
    pointer.initialize(
      to: __kernel_timespec(
        tv_sec: max(0, seconds), tv_nsec: seconds < 0 ? 0 : attoseconds / 1_000_000_000))
  }

  deinit { pointer.deallocate() }
}
