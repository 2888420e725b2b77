import CLibUring

/// The `__kernel_timespec` an `IORING_OP_TIMEOUT`, `IORING_OP_LINK_TIMEOUT` or
/// timeout update points to. Its in-flight slot retains it until the
/// operation's final CQE (rules 1 and 2), whatever the kernel does with it.
@safe
final class TimeoutSpec: Sendable {
  // @safe: it owns the __kernel_timespec (freed in deinit); operations retain the spec.
  // SAFETY: allocated and initialised in `init`, freed in `deinit`, which runs
  // only after the in-flight slot that retains this object was released.
  nonisolated(unsafe) let pointer: UnsafeMutablePointer<__kernel_timespec>

  /// A timespec of `nanoseconds` (an absolute deadline, or a relative delay).
  init(nanoseconds: Int64) {
    unsafe pointer = .allocate(capacity: 1)
    unsafe pointer.initialize(
      to: __kernel_timespec(
        tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000))
  }

  deinit {
    unsafe pointer.deallocate()
  }
}
