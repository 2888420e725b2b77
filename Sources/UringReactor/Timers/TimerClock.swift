import CLibUring
import Glibc

/// The two kernel clocks Swift's clocks read on Linux, and how io_uring names them.
///
/// - `ContinuousClock` reads `CLOCK_BOOTTIME` (it keeps counting while the
///   machine is suspended): timeouts use `IORING_TIMEOUT_BOOTTIME`.
/// - `SuspendingClock` reads `CLOCK_MONOTONIC` (it stops while suspended): the
///   io_uring default clock, no flag.
///
/// Deadlines are kept as nanoseconds since the clock's epoch, which is what
/// `clock.systemEpoch.duration(to: instant)` measures, rounded *up*: a timer
/// never fires before the instant it was asked for.
enum TimerClock: Int, CaseIterable, Sendable {
  case continuous = 0
  case suspending = 1

  /// The POSIX clock this one reads.
  var posixClock: clockid_t {
    switch self {
    case .continuous: CLOCK_BOOTTIME
    case .suspending: CLOCK_MONOTONIC
    }
  }

  /// The `IORING_TIMEOUT_*` clock flag for an absolute timeout on this clock.
  var timeoutFlags: UInt32 {
    switch self {
    case .continuous: UInt32(IORING_TIMEOUT_ABS) | UInt32(IORING_TIMEOUT_BOOTTIME)
    case .suspending: UInt32(IORING_TIMEOUT_ABS)
    }
  }

  /// Now, in nanoseconds since the clock's epoch.
  var now: Int64 {
    var time = timespec()
    unsafe clock_gettime(posixClock, &time)
    return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
  }

  /// Nanoseconds in `duration`, rounded up, clamped to `0...Int64.max`.
  static func nanoseconds(roundingUp duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
    let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return Int64.max }
    let fraction = (attoseconds + 999_999_999) / 1_000_000_000
    let (total, overflowed) = whole.addingReportingOverflow(fraction)
    return overflowed ? Int64.max : total
  }

  /// A `ContinuousClock` instant as a deadline on `.continuous`.
  static func deadline(_ instant: ContinuousClock.Instant) -> Int64 {
    nanoseconds(roundingUp: ContinuousClock().systemEpoch.duration(to: instant))
  }

  /// A `SuspendingClock` instant as a deadline on `.suspending`.
  static func deadline(_ instant: SuspendingClock.Instant) -> Int64 {
    nanoseconds(roundingUp: SuspendingClock().systemEpoch.duration(to: instant))
  }
}
