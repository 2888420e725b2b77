import Glibc
import TestSupport
import Testing
import Uring

/// Whether io_uring works in the test process. Tests that need a ring are
/// enabled only when it does, so they show up as skipped (with the reason)
/// instead of passing silently.
enum UringSupport {
  /// `nil` when a minimal ring can be created here.
  static let unavailable: UringUnavailableError? = {
    do throws(UringUnavailableError) {
      _ = try Ring(options: .minimal)
      return nil
    } catch {
      return error
    }
  }()

  static var isAvailable: Bool { unavailable == nil }

  static var skipReason: Comment {
    Comment(
      rawValue: "io_uring is unavailable in the test process: \(unavailable.map { "\($0)" } ?? "")")
  }

  /// `/proc/sys/kernel/io_uring_disabled` (0 when absent, as before 6.6).
  static func sysctlDisabledValue() -> Int {
    let text = readSmallFile("/proc/sys/kernel/io_uring_disabled") ?? ""
    return Int(text.filter(\.isNumber)) ?? 0
  }
}
