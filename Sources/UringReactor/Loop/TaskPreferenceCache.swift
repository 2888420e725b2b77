/// Remembers which task executor recently-run tasks prefer: this reactor, or
/// its group.
///
/// Why: the runtime runs two same-executor actor hops inline only if the task
/// executor it is running "on" equals the task's preferred one. An actor job
/// run `on:` the serial executor has no task executor, so a task that prefers
/// the reactor would pay a full enqueue per hop (~450 ns instead of ~15 ns);
/// run `isolatedTo:taskExecutor:` instead, a task *without* a preference would
/// pay it. Jobs carry no public "preferred task executor", but a task is its
/// own job: the task-path and group-path jobs the loop runs tell it which tasks
/// prefer what.
///
/// A direct-mapped table of job addresses, each tagged (in its two low bits:
/// jobs are at least 16-byte aligned) with the preference. A wrong guess (a
/// stale entry of a finished task whose memory was reused, or a task that never
/// came through a task path) only costs speed, never correctness: the job runs
/// on the reactor's thread either way, and the runtime switches executors
/// whenever the claimed task executor does not match. The loop corrects a guess
/// when the running job re-enqueues itself on the serial path (the runtime
/// could not hop inline): see `EventLoop.enqueue`.
///
/// Loop thread only.
@safe
struct TaskPreferenceCache: ~Copyable {
  // @safe: it owns its slot array (freed in deinit, move-only).
  /// What a task prefers as its task executor, as far as the loop knows.
  enum Preference: UInt {
    case none = 0
    case reactor = 1
    case group = 2
  }

  private static let slotCount = 1024
  private static let tagMask: UInt = 3
  // SAFETY: allocated in `init`, freed in `deinit`; `TaskPreferenceCache` is
  // ~Copyable, so exactly one owner frees it.
  private let slots: UnsafeMutablePointer<UInt>

  init() {
    unsafe slots = .allocate(capacity: Self.slotCount)
    unsafe slots.initialize(repeating: 0, count: Self.slotCount)
  }

  deinit {
    unsafe slots.deallocate()
  }

  @inline(__always)
  private static func address(_ job: UnownedJob) -> UInt {
    unsafe unsafeBitCast(job, to: UInt.self)
  }

  @inline(__always)
  private static func slot(_ address: UInt) -> Int {
    Int(truncatingIfNeeded: (address >> 4) ^ (address >> 14)) & (slotCount - 1)
  }

  /// Records that `job` (a task) prefers `preference`.
  @inline(__always)
  func remember(_ job: UnownedJob, _ preference: Preference) {
    let address = Self.address(job)
    unsafe slots[Self.slot(address)] = address | preference.rawValue
  }

  /// Forgets `job`: it turned out to prefer nothing.
  @inline(__always)
  func forget(_ job: UnownedJob) {
    let address = Self.address(job)
    if unsafe slots[Self.slot(address)] & ~Self.tagMask == address {
      unsafe slots[Self.slot(address)] = 0
    }
  }

  /// The address identifying `job`.
  @inline(__always)
  static func identity(_ job: UnownedJob) -> UInt { address(job) }

  /// What `job` (a task) was last seen to prefer.
  @inline(__always)
  func preference(_ job: UnownedJob) -> Preference {
    let address = Self.address(job)
    let value = unsafe slots[Self.slot(address)]
    guard value & ~Self.tagMask == address else { return .none }
    return Preference(rawValue: value & Self.tagMask) ?? .none
  }
}
