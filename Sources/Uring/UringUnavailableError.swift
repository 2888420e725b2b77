public import SystemPackage

/// io_uring cannot be used in this process, with the reason and what to do.
///
/// Thrown by ``Ring/init(options:)`` (and so by every reactor constructor) when
/// `io_uring_setup(2)` is refused for a reason that stepping down flags cannot fix.
public struct UringUnavailableError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Why io_uring is unavailable.
  public enum Cause: Hashable, Sendable {
    /// `ENOSYS`: the kernel has no io_uring (built without `CONFIG_IO_URING`, older
    /// than 5.1, or a sandbox such as gVisor that does not implement it).
    case notImplemented
    /// `/proc/sys/kernel/io_uring_disabled` forbids it (1: only for members of
    /// `kernel.io_uring_group`; 2: for everyone). The value read is attached.
    case disabledBySysctl(Int)
    /// `EPERM` with the sysctl allowing it: a seccomp filter denies
    /// `io_uring_setup` (Docker's and Podman's default profiles do).
    case deniedBySeccomp
    /// `ENOMEM`: the ring's memory could not be locked (`RLIMIT_MEMLOCK` on
    /// kernels before 5.12) or allocated.
    case lockedMemoryLimit
    /// The kernel lacks a feature the package requires (named).
    case missingFeature(String)
    /// `EINVAL` even with no optional flag: the ring's sizes are not
    /// acceptable (SQ 1...32768 entries, CQ at least as many as SQ).
    case invalidOptions
    /// Any other refusal, with its errno.
    case other(Errno)
  }

  public var cause: Cause
  /// The errno returned by `io_uring_setup(2)`, when there was one.
  public var errno: Errno?

  public init(cause: Cause, errno: Errno?) {
    self.cause = cause
    self.errno = errno
  }

  /// What to do about it, in one sentence.
  public var remedy: String {
    switch cause {
    case .notImplemented:
      "run on Linux 6.1 or newer with CONFIG_IO_URING, outside sandboxes that lack io_uring"
    case .disabledBySysctl(let value):
      value == 1
        ? "add this user to the group in /proc/sys/kernel/io_uring_group, or set kernel.io_uring_disabled=0"
        : "set kernel.io_uring_disabled=0 (sysctl -w kernel.io_uring_disabled=0)"
    case .deniedBySeccomp:
      "allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile "
        + "(e.g. docker run --security-opt seccomp=<profile allowing io_uring>)"
    case .lockedMemoryLimit:
      "raise RLIMIT_MEMLOCK (ulimit -l) or use a smaller ring"
    case .missingFeature:
      "run on Linux 6.1 or newer"
    case .invalidOptions:
      "use 1...32768 submission queue entries and at least as many completion queue entries"
    case .other:
      "check dmesg and the kernel's io_uring configuration"
    }
  }

  public var description: String {
    let what: String
    switch cause {
    case .notImplemented: what = "the kernel does not implement io_uring (ENOSYS)"
    case .disabledBySysctl(let value):
      what = "io_uring is disabled by kernel.io_uring_disabled=\(value)"
    case .deniedBySeccomp:
      what = "io_uring_setup is denied (EPERM), most likely by a seccomp filter"
    case .lockedMemoryLimit: what = "the ring's memory could not be locked or allocated (ENOMEM)"
    case .missingFeature(let name): what = "the kernel lacks \(name)"
    case .invalidOptions: what = "the kernel rejected the ring's sizes (EINVAL)"
    case .other(let errno): what = "io_uring_setup failed: \(errno)"
    }
    return "io_uring is unavailable: \(what); \(remedy)"
  }

  /// Classifies a refusal of `io_uring_setup(2)`.
  static func classify(_ errno: Errno) -> UringUnavailableError {
    switch errno {
    case .noFunction:
      return .init(cause: .notImplemented, errno: errno)
    case .notPermitted, .permissionDenied:
      if let value = Self.sysctlValue(), value != 0 {
        return .init(cause: .disabledBySysctl(value), errno: errno)
      }
      return .init(cause: .deniedBySeccomp, errno: errno)
    case .noMemory:
      return .init(cause: .lockedMemoryLimit, errno: errno)
    default:
      return .init(cause: .other(errno), errno: errno)
    }
  }

  /// Reads `/proc/sys/kernel/io_uring_disabled` (absent before 6.6: `nil`).
  static func sysctlValue() -> Int? {
    guard let fd = unsafe try? FileDescriptor.open("/proc/sys/kernel/io_uring_disabled", .readOnly)
    else { return nil }
    defer { try? fd.close() }
    var bytes = [UInt8](repeating: 0, count: 16)
    let count = unsafe (try? bytes.withUnsafeMutableBytes { unsafe try fd.read(into: $0) }) ?? 0
    let text = String(decoding: bytes[..<count], as: UTF8.self)
    return Int(text.filter(\.isNumber))
  }
}
