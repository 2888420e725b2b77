import CLibUring
import Glibc
import SystemPackage

extension Ring {
  /// The optional setup flags in the order they are given up when refused:
  /// newest first, so an older kernel keeps as much as it supports.
  private static let stepDownOrder: [(flag: UInt32, name: String)] = [
    (UInt32(IORING_SETUP_DEFER_TASKRUN), "DEFER_TASKRUN"),
    (UInt32(IORING_SETUP_SINGLE_ISSUER), "SINGLE_ISSUER"),
    (UInt32(IORING_SETUP_COOP_TASKRUN) | UInt32(IORING_SETUP_TASKRUN_FLAG), "COOP_TASKRUN"),
    (UInt32(IORING_SETUP_SUBMIT_ALL), "SUBMIT_ALL"),
    (UInt32(IORING_SETUP_SQPOLL), "SQPOLL"),
    (UInt32(IORING_SETUP_CQSIZE) | UInt32(IORING_SETUP_CLAMP), "CQSIZE"),
  ]

  static func requestedFlags(_ options: RingOptions) -> UInt32 {
    var flags = UInt32(IORING_SETUP_SUBMIT_ALL)
    if options.completionQueueEntries != nil {
      flags |= UInt32(IORING_SETUP_CQSIZE) | UInt32(IORING_SETUP_CLAMP)
    }
    if options.singleIssuer { flags |= UInt32(IORING_SETUP_SINGLE_ISSUER) }
    if options.deferTaskrun && options.singleIssuer {
      flags |= UInt32(IORING_SETUP_DEFER_TASKRUN)
    } else if options.coopTaskrun {
      // TASKRUN_FLAG makes the kernel say (IORING_SQ_TASKRUN) when completion
      // work waits, so liburing enters to run it.
      flags |= UInt32(IORING_SETUP_COOP_TASKRUN) | UInt32(IORING_SETUP_TASKRUN_FLAG)
    }
    if options.submissionQueuePollIdleMilliseconds != nil {
      flags |= UInt32(IORING_SETUP_SQPOLL)
    }
    return flags
  }

  /// Initialises `raw`, dropping refused flags one at a time.
  static func create(
    _ raw: UnsafeMutablePointer<io_uring>,
    options: RingOptions
  ) throws(UringUnavailableError) -> (RingSetup, RingFeatures) {
    var flags = requestedFlags(options)
    var refused: [String] = []
    while true {
      var params = io_uring_params()
      params.flags = flags
      if let cq = options.completionQueueEntries { params.cq_entries = cq }
      if let idle = options.submissionQueuePollIdleMilliseconds { params.sq_thread_idle = idle }
      let result = unsafe io_uring_queue_init_params(options.submissionQueueEntries, raw, &params)
      if result == 0 {
        var registered = false
        if options.registerRingFD { registered = unsafe io_uring_register_ring_fd(raw) == 1 }
        if options.registerRingFD && !registered { refused.append("registered ring fd") }
        let setup = RingSetup(
          submissionQueueEntries: params.sq_entries,
          completionQueueEntries: params.cq_entries,
          singleIssuer: params.flags & UInt32(IORING_SETUP_SINGLE_ISSUER) != 0,
          deferTaskrun: params.flags & UInt32(IORING_SETUP_DEFER_TASKRUN) != 0,
          coopTaskrun: params.flags & UInt32(IORING_SETUP_COOP_TASKRUN) != 0,
          submissionQueuePolling: params.flags & UInt32(IORING_SETUP_SQPOLL) != 0,
          registeredRingFD: registered,
          flags: params.flags,
          refused: refused
        )
        return (setup, RingFeatures(rawValue: params.features))
      }
      let errno = Errno(rawValue: -result)
      if errno == .invalidArgument && !sizesAccepted(options) {
        // Not a flag the kernel does not know: the sizes themselves.
        throw UringUnavailableError(cause: .invalidOptions, errno: errno)
      }
      // EINVAL: an unknown flag. EPERM with SQPOLL: unprivileged SQPOLL on old kernels.
      let canStepDown =
        errno == .invalidArgument
        || (errno == .notPermitted && flags & UInt32(IORING_SETUP_SQPOLL) != 0)
      guard canStepDown, let next = stepDownOrder.first(where: { flags & $0.flag != 0 }) else {
        throw UringUnavailableError.classify(errno)
      }
      flags &= ~next.flag
      refused.append(next.name)
      if next.flag & UInt32(IORING_SETUP_SINGLE_ISSUER) != 0 {
        flags &= ~UInt32(IORING_SETUP_DEFER_TASKRUN)
      }
    }
  }

  /// Whether the kernel accepts `options`' sizes with no optional flag: tells
  /// an options error apart from a refused flag when set-up answers `EINVAL`.
  private static func sizesAccepted(_ options: RingOptions) -> Bool {
    var params = io_uring_params()
    if let cq = options.completionQueueEntries {
      params.flags = UInt32(IORING_SETUP_CQSIZE) | UInt32(IORING_SETUP_CLAMP)
      params.cq_entries = cq
    }
    let fd = unsafe clu_sys_io_uring_setup(options.submissionQueueEntries, &params)
    guard fd >= 0 else { return false }
    close(fd)
    return true
  }
}
