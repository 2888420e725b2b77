import CLibUring
public import SystemPackage

/// One io_uring: a submission queue, a completion queue and what the kernel
/// supports. No threads and no async: whoever owns the ring drives it.
///
/// Ownership and thread-safety: `Ring` is move-only and not `Sendable`. Exactly
/// one owner prepares, submits and drains it, from one thread (with
/// ``RingSetup/singleIssuer`` the kernel enforces that it is the creating thread).
/// The ring is torn down (`io_uring_queue_exit`) when the owner drops it.
///
/// Guarantees: a prepared submission is never dropped (a full SQ is flushed and
/// retried) and a completion is never lost (CQ overflow is flushed from the
/// kernel's backlog; `EBUSY` from submission spills ready completions and retries).
@safe
public struct Ring: ~Copyable {
  // @safe: it owns the io_uring and the drain batch (freed in deinit, move-only); preparing
  // submissions that carry pointers is the @unsafe part of its API.
  // SAFETY: allocated in `init`, initialised by io_uring_queue_init_params and
  // torn down in `deinit`; `Ring` is ~Copyable, so exactly one owner frees it.
  let raw: UnsafeMutablePointer<io_uring>
  // SAFETY: the drain batch; owned and freed like `raw`.
  let batch: UnsafeMutablePointer<io_uring_cqe>
  let batchCapacity: Int
  /// Completions taken off the CQ ring while retrying a submission that the
  /// kernel refused with `EBUSY`; handed out first by the next drain.
  var spilled: [Completion] = []

  /// What was applied at setup, after stepping down refused flags.
  public let setup: RingSetup
  /// The features the kernel reported.
  public let features: RingFeatures

  /// Creates a ring, stepping down flag by flag while the kernel answers `EINVAL`.
  ///
  /// - Throws: ``UringUnavailableError`` naming the cause (`ENOSYS`, `EPERM` from
  ///   seccomp or `io_uring_disabled`, `ENOMEM` from memlock) and what to do.
  public init(options: RingOptions = RingOptions()) throws(UringUnavailableError) {
    let raw = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
    unsafe raw.initialize(to: io_uring())
    let created: (RingSetup, RingFeatures)
    do {
      created = unsafe try Ring.create(raw, options: options)
    } catch {
      unsafe raw.deallocate()
      throw error
    }
    guard created.1.contains(.noDrop) else {
      unsafe io_uring_queue_exit(raw)
      unsafe raw.deallocate()
      throw UringUnavailableError(cause: .missingFeature("IORING_FEAT_NODROP (5.5+)"), errno: nil)
    }
    unsafe self.raw = unsafe raw
    self.setup = created.0
    self.features = created.1
    self.batchCapacity = Int(min(max(created.0.completionQueueEntries, 64), 1024))
    unsafe self.batch = .allocate(capacity: batchCapacity)
  }

  deinit {
    unsafe io_uring_queue_exit(raw)
    unsafe raw.deallocate()
    unsafe batch.deallocate()
  }

  /// The ring's file descriptor (for `IORING_OP_MSG_RING` targets and diagnostics).
  public var fileDescriptor: FileDescriptor { unsafe FileDescriptor(rawValue: raw.pointee.ring_fd) }

  /// Submissions prepared but not yet handed to the kernel.
  public var pendingSubmissions: UInt32 { unsafe io_uring_sq_ready(raw) }

  /// Completions ready in the CQ ring (not counting the kernel's overflow backlog).
  public var readyCompletions: UInt32 { unsafe io_uring_cq_ready(raw) }

  /// Completions the kernel could not post to a full CQ ring (its
  /// `koverflow` counter). With `IORING_FEAT_NODROP` none is lost: they wait
  /// in the kernel's backlog, which ``hasOverflowBacklog`` reports.
  public var completionOverflows: UInt32 {
    // SAFETY: `koverflow` points into the CQ ring mapping, which lives as
    // long as `raw` (until `deinit`); the kernel only increments it, so a
    // torn or stale read is at worst one behind.
    unsafe raw.pointee.cq.koverflow.pointee
  }

  /// Whether the kernel holds overflowed completions not yet in the CQ ring.
  public var hasOverflowBacklog: Bool {
    unsafe clu_sq_flags(raw) & UInt32(IORING_SQ_CQ_OVERFLOW) != 0
  }

  /// The opcodes this kernel supports.
  public func probe() -> Probe {
    guard let probe = unsafe io_uring_get_probe_ring(raw) else { return Probe.empty }
    defer { unsafe io_uring_free_probe(probe) }
    return unsafe Probe(probe)
  }
}

extension Probe {
  static var empty: Probe { Probe() }
  private init() {}
}
