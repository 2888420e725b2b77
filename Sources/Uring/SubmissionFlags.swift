import CLibUring

/// Per-submission `IOSQE_*` flags.
public struct SubmissionFlags: OptionSet, Sendable, Hashable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  /// `IOSQE_FIXED_FILE`: the fd is an index in the registered file table.
  public static let fixedFile = SubmissionFlags(rawValue: CLU_IOSQE_FIXED_FILE)
  /// `IOSQE_IO_DRAIN`: start only after every earlier submission completed.
  public static let drain = SubmissionFlags(rawValue: CLU_IOSQE_IO_DRAIN)
  /// `IOSQE_IO_LINK`: the next submission starts only if this one succeeds.
  public static let link = SubmissionFlags(rawValue: CLU_IOSQE_IO_LINK)
  /// `IOSQE_IO_HARDLINK`: like `link`, whatever this one's result.
  public static let hardLink = SubmissionFlags(rawValue: CLU_IOSQE_IO_HARDLINK)
  /// `IOSQE_ASYNC`: go straight to the kernel's worker pool.
  public static let async = SubmissionFlags(rawValue: CLU_IOSQE_ASYNC)
  /// `IOSQE_BUFFER_SELECT`: take a buffer from a provided-buffer group.
  public static let bufferSelect = SubmissionFlags(rawValue: CLU_IOSQE_BUFFER_SELECT)
  /// `IOSQE_CQE_SKIP_SUCCESS`: post no completion when it succeeds.
  public static let skipSuccess = SubmissionFlags(rawValue: CLU_IOSQE_CQE_SKIP_SUCCESS)
}
