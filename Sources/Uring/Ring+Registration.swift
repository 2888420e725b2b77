public import CLibUring
public import SystemPackage

/// The kernel refused to register or unregister a ring's fixed buffers
/// (`io_uring_register(2)` with `IORING_REGISTER_BUFFERS` or
/// `IORING_UNREGISTER_BUFFERS`).
public struct RingRegistrationError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Why the kernel refused.
  public enum Cause: Hashable, Sendable {
    /// `EBUSY`: the ring already has a registered buffer set. The kernel keeps
    /// at most one set per ring; unregister it first.
    case alreadyRegistered
    /// `ENXIO`: the ring has no registered buffer set to unregister.
    case notRegistered
    /// `ENOMEM`: the buffers' pages could not be pinned: they count against
    /// `RLIMIT_MEMLOCK` (unless the process has `CAP_IPC_LOCK`).
    case lockedMemoryLimit
    /// `EINVAL`, `EFAULT` or `EOVERFLOW`: no buffers, too many (more than
    /// ``Ring/maximumRegisteredBuffers``), a buffer larger than 1 GiB, or an
    /// address range that is not mapped memory.
    case invalidBuffers
    /// `EEXIST`: the ring was set up with `IORING_SETUP_SINGLE_ISSUER` and the
    /// calling thread is not its submitter.
    case notSubmitterThread
    /// Any other refusal.
    case other
  }

  /// Why the kernel refused.
  public var cause: Cause
  /// The errno `io_uring_register(2)` returned.
  public var errno: Errno

  /// An error with `cause`, from `errno`.
  public init(cause: Cause, errno: Errno) {
    self.cause = cause
    self.errno = errno
  }

  /// Classifies a negated errno returned by liburing.
  init(result: Int32) {
    let errno = Errno(rawValue: -result)
    let cause: Cause =
      switch errno {
      case .resourceBusy: .alreadyRegistered
      case .noSuchAddressOrDevice: .notRegistered
      case .noMemory: .lockedMemoryLimit
      case .invalidArgument, .badAddress, .overflow: .invalidBuffers
      case .fileExists: .notSubmitterThread
      default: .other
      }
    self.init(cause: cause, errno: errno)
  }

  /// The refusal in one sentence, with the errno.
  public var description: String {
    let what: String =
      switch cause {
      case .alreadyRegistered: "the ring already has a registered buffer set (one per ring)"
      case .notRegistered: "the ring has no registered buffer set"
      case .lockedMemoryLimit: "the buffers could not be pinned (RLIMIT_MEMLOCK)"
      case .invalidBuffers: "the buffers are not valid for registration"
      case .notSubmitterThread: "only the ring's submitter thread may register buffers"
      case .other: "refused"
      }
    return "io_uring buffer registration: \(what) (\(errno))"
  }
}

extension Ring {
  /// The most buffers one registration may hold (the kernel's
  /// `IORING_MAX_REG_BUFFERS`); a buffer index is below this, so it fits the
  /// SQE's 16-bit `buf_index`.
  public static let maximumRegisteredBuffers = 1 << 14

  /// The largest single registered buffer the kernel accepts (1 GiB).
  public static let maximumRegisteredBufferSize = 1 << 30

  /// Registers `iovecs` as the ring's fixed buffers (`io_uring_register_buffers`,
  /// `IORING_REGISTER_BUFFERS`), so that `IORING_OP_READ_FIXED` and
  /// `IORING_OP_WRITE_FIXED` can name them by index (their position in
  /// `iovecs`) and skip pinning pages on every operation.
  ///
  /// The kernel copies the iovec array and pins the pages it describes, so
  /// `iovecs` itself need not outlive the call. The memory does: this layer
  /// does not keep it alive. The owner of the ring must keep every buffer
  /// valid (and not reuse it for anything else) until ``unregisterBuffers()``
  /// returns or the ring is torn down, and must not unregister while a fixed
  /// operation that names one of them is in flight.
  ///
  /// One set per ring: the kernel refuses a second registration with `EBUSY`
  /// (``RingRegistrationError/Cause/alreadyRegistered``) until the first is
  /// unregistered.
  ///
  /// Thread-safety: call from the thread that owns the ring (with
  /// ``RingSetup/singleIssuer`` the kernel insists on the submitter thread).
  ///
  /// - Throws: ``RingRegistrationError`` naming the kernel's reason.
  @unsafe
  public mutating func registerBuffers(_ iovecs: [iovec]) throws(RingRegistrationError) {
    guard unsafe !iovecs.isEmpty, unsafe iovecs.count <= Ring.maximumRegisteredBuffers else {
      throw RingRegistrationError(cause: .invalidBuffers, errno: .invalidArgument)
    }
    // SAFETY: the kernel copies the iovec array during the call; the memory it
    // describes is the caller's to keep valid (see above).
    let result = unsafe iovecs.withUnsafeBufferPointer { buffer in
      unsafe io_uring_register_buffers(raw, buffer.baseAddress, UInt32(buffer.count))
    }
    if result < 0 { throw RingRegistrationError(result: result) }
  }

  /// Unregisters the ring's fixed buffers (`io_uring_unregister_buffers`,
  /// `IORING_UNREGISTER_BUFFERS`). The kernel unpins their pages; afterwards
  /// the memory is the owner's again and another set may be registered.
  ///
  /// Thread-safety: as ``registerBuffers(_:)``.
  ///
  /// - Throws: ``RingRegistrationError``; ``RingRegistrationError/Cause/notRegistered``
  ///   when there is no set.
  public mutating func unregisterBuffers() throws(RingRegistrationError) {
    let result = unsafe io_uring_unregister_buffers(raw)
    if result < 0 { throw RingRegistrationError(result: result) }
  }
}
