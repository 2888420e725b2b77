import CLibUring

/// One completion queue entry, copied out of the ring.
public struct Completion: Sendable, Hashable {
  /// The `user_data` of the submission this completes.
  public var userData: UInt64
  /// `res`: a non-negative result, or a negated errno.
  public var result: Int32
  /// `IORING_CQE_F_*` flags.
  public var flags: UInt32

  public init(userData: UInt64, result: Int32, flags: UInt32) {
    self.userData = userData
    self.result = result
    self.flags = flags
  }

  init(_ cqe: io_uring_cqe) {
    self.init(userData: cqe.user_data, result: cqe.res, flags: cqe.flags)
  }

  /// `IORING_CQE_F_MORE`: more completions will follow for this submission
  /// (multishot, or the first CQE of a zero-copy send). Its slot must stay.
  public var hasMore: Bool { flags & UInt32(IORING_CQE_F_MORE) != 0 }

  /// `IORING_CQE_F_NOTIF`: the notification CQE of a zero-copy send.
  public var isNotification: Bool { flags & UInt32(IORING_CQE_F_NOTIF) != 0 }

  /// The provided buffer the kernel picked (`IORING_CQE_F_BUFFER`), if any.
  public var bufferID: UInt16? {
    guard flags & UInt32(IORING_CQE_F_BUFFER) != 0 else { return nil }
    return UInt16(truncatingIfNeeded: flags >> UInt32(IORING_CQE_BUFFER_SHIFT))
  }
}
