/// How to set up a ``Ring``.
///
/// Every flag is a request: ``Ring/init(options:)`` steps down flag by flag when
/// the kernel refuses one (`EINVAL`), and ``Ring/setup`` says what was applied.
public struct RingOptions: Sendable, Hashable {
  /// Submission queue entries (rounded up to a power of two by the kernel).
  public var submissionQueueEntries: UInt32 = 256
  /// Completion queue entries (`IORING_SETUP_CQSIZE`); `nil` lets the kernel pick
  /// twice the SQ size.
  public var completionQueueEntries: UInt32? = 4096
  /// `IORING_SETUP_SINGLE_ISSUER`: only the creating thread submits (6.0+).
  public var singleIssuer = true
  /// `IORING_SETUP_DEFER_TASKRUN`: completion work runs only when the issuer
  /// waits for completions (6.1+, requires `singleIssuer`).
  public var deferTaskrun = true
  /// `IORING_SETUP_COOP_TASKRUN` + `TASKRUN_FLAG`: no IPI to interrupt the issuer
  /// (5.19+). Ignored when `deferTaskrun` is applied.
  public var coopTaskrun = true
  /// `IORING_SETUP_SQPOLL` with this idle time in milliseconds; `nil` (default)
  /// disables the kernel polling thread. Opt-in: it burns a core while busy.
  public var submissionQueuePollIdleMilliseconds: UInt32? = nil
  /// Register the ring fd (`io_uring_register_ring_fd`, 5.18+) so each
  /// `io_uring_enter` skips an fd lookup.
  public var registerRingFD = true

  public init() {}

  /// Options for the smallest ring that works everywhere: no optional flags.
  public static var minimal: RingOptions {
    var options = RingOptions()
    options.singleIssuer = false
    options.deferTaskrun = false
    options.coopTaskrun = false
    options.registerRingFD = false
    return options
  }
}

/// What ``Ring/init(options:)`` actually applied, after stepping down.
public struct RingSetup: Sendable, Hashable, CustomStringConvertible {
  public var submissionQueueEntries: UInt32
  public var completionQueueEntries: UInt32
  public var singleIssuer: Bool
  public var deferTaskrun: Bool
  public var coopTaskrun: Bool
  public var submissionQueuePolling: Bool
  public var registeredRingFD: Bool
  /// The raw `IORING_SETUP_*` flags the kernel accepted.
  public var flags: UInt32
  /// Flags that were requested but refused by the kernel, by name.
  public var refused: [String]

  public var description: String {
    var applied: [String] = []
    if singleIssuer { applied.append("SINGLE_ISSUER") }
    if deferTaskrun { applied.append("DEFER_TASKRUN") }
    if coopTaskrun { applied.append("COOP_TASKRUN") }
    if submissionQueuePolling { applied.append("SQPOLL") }
    if registeredRingFD { applied.append("registered ring fd") }
    let refusedText = refused.isEmpty ? "" : "; refused: \(refused.joined(separator: ", "))"
    return
      "SQ \(submissionQueueEntries), CQ \(completionQueueEntries), "
      + "\(applied.isEmpty ? "no optional flags" : applied.joined(separator: ", "))\(refusedText)"
  }
}
