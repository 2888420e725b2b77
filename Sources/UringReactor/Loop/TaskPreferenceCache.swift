/// Remembers which tasks recently ran through the reactor's `TaskExecutor`
/// path, i.e. prefer the reactor as their task executor.
///
/// Why: the runtime runs two same-executor actor hops inline only if the task
/// executor it is running "on" equals the task's preferred one. An actor job
/// run `on:` the serial executor has no task executor, so a task that prefers
/// the reactor would pay a full enqueue per hop (~450 ns instead of ~15 ns);
/// run `isolatedTo:taskExecutor:` instead, a task *without* a preference would
/// pay it. Jobs carry no public "preferred task executor", but a task is its
/// own job: the task-path jobs the loop runs tell it which tasks prefer it.
///
/// A direct-mapped table of job addresses. A wrong guess (a stale entry of a
/// finished task whose memory was reused, or a task that never came through
/// the task path) only costs speed, never correctness: the job runs on the
/// reactor's thread either way, and the runtime switches executors whenever
/// the claimed task executor does not match. The loop corrects a guess when
/// the running job re-enqueues itself on the serial path (the runtime could
/// not hop inline): see `EventLoop.enqueue`.
///
/// Loop thread only.
struct TaskPreferenceCache: ~Copyable {
  private static let slotCount = 1024
  // SAFETY: allocated in `init`, freed in `deinit`; `TaskPreferenceCache` is
  // ~Copyable, so exactly one owner frees it.
  private let slots: UnsafeMutablePointer<UInt>

  init() {
    slots = .allocate(capacity: Self.slotCount)
    slots.initialize(repeating: 0, count: Self.slotCount)
  }

  deinit {
    slots.deallocate()
  }

  @inline(__always)
  private static func address(_ job: UnownedJob) -> UInt {
    unsafeBitCast(job, to: UInt.self)
  }

  @inline(__always)
  private static func slot(_ address: UInt) -> Int {
    Int(truncatingIfNeeded: (address >> 4) ^ (address >> 14)) & (slotCount - 1)
  }

  /// Records that `job` (a task) came through the task-executor path.
  @inline(__always)
  func remember(_ job: UnownedJob) {
    let address = Self.address(job)
    slots[Self.slot(address)] = address
  }

  /// Forgets `job`: it turned out not to prefer the reactor.
  @inline(__always)
  func forget(_ job: UnownedJob) {
    let address = Self.address(job)
    if slots[Self.slot(address)] == address { slots[Self.slot(address)] = 0 }
  }

  /// The address identifying `job`.
  @inline(__always)
  static func identity(_ job: UnownedJob) -> UInt { address(job) }

  /// Whether `job` is a task that recently came through the task-executor path.
  @inline(__always)
  func prefersReactor(_ job: UnownedJob) -> Bool {
    let address = Self.address(job)
    return slots[Self.slot(address)] == address
  }
}
