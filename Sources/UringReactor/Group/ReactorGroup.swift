import CLibUring
import Synchronization
public import Uring

/// N reactors, one thread and one ring each, used as one executor.
///
/// - Size: by default one reactor per CPU the process may run on
///   (`sched_getaffinity`), each optionally pinned to its CPU
///   (`pthread_setaffinity_np`), see ``Pinning``.
/// - As a `TaskExecutor` (`Task(executorPreference: group)`,
///   `addTask(executorPreference: group)`): work stealing. A task made ready
///   on a reactor (spawned, woken by another task, yielding) is queued on
///   that reactor; a reactor with nothing to run takes half of a busy
///   sibling's queue before it sleeps, and a busy reactor wakes a sleeping
///   sibling only when it has two or more such tasks waiting. New tasks from
///   outside the group are spread round-robin. See ``enqueue(_:)`` for what
///   can move between reactors and what cannot.
/// - Pick a reactor yourself with ``next()`` or ``reactors``, e.g. for an
///   actor (`unownedExecutor` = `group.next().asUnownedSerialExecutor()`).
/// - Cross-reactor traffic (a task on one reactor calling an actor on another,
///   a task moved to another reactor) is batched: one inbox lock and at most
///   one wake-up per target reactor per loop iteration; the wake-up is an
///   `IORING_OP_MSG_RING` where the kernel has it (no syscall of its own: it
///   goes out with the sender's next `io_uring_enter`), else an eventfd
///   write; a reactor that is busy is not woken at all.
/// - Blocking work io_uring has no operation for goes to the group's bounded
///   ``offloadPool`` (``offload(_:)``), shut down with the group.
/// - A job that blocks its reactor's thread (a long computation, a blocking
///   syscall) holds up everything that must run on that reactor: its actors'
///   jobs, tasks that prefer it, its completions and timers. Group tasks
///   queued behind it are taken by the other reactors. Run blocking calls
///   with ``offload(_:)`` and split long computations with `Task.yield()`.
///
/// Thread-safety: `Sendable`; every method may be called from any thread.
/// Lifetime: call ``shutdown()`` (or ``shutdownBlocking()``); it shuts every
/// reactor down (see ``Reactor/shutdown()``) and then the offload pool.
public final class ReactorGroup: Sendable {
  /// Whether to pin each reactor's thread to a CPU.
  public enum Pinning: Sendable, Hashable {
    /// Leave threads to the scheduler.
    case none
    /// Reactor `i` runs on the `i`-th usable CPU (wrapping around).
    case usableCPUs
  }

  private let members = Members()
  let scheduler = GroupScheduler()
  private let cursor = Atomic<Int>(0)
  /// The pool for blocking work (directory listing, calls with no io_uring
  /// opcode); shut down with the group.
  public let offloadPool: OffloadPool

  /// The reactors, in index order.
  public var reactors: [Reactor] { members.reactors }

  /// The reactors' loops, in index order.
  var memberLoops: [EventLoop] { members.loops }

  /// Starts `reactorCount` reactors (default: one per usable CPU), named
  /// `"\(options.name)-\(index)"`.
  ///
  /// - Parameters:
  ///   - reactorCount: how many reactors (`nil`: one per usable CPU).
  ///   - pinning: which CPUs the reactors' threads are pinned to, if any.
  ///   - offloadThreads: threads of the ``offloadPool`` (default 2).
  ///   - options: every reactor's options; each gets its own ring.
  /// - Throws: `UringUnavailableError` if a ring cannot be created; the
  ///   reactors already started are shut down first.
  public convenience init(
    reactorCount: Int? = nil, pinning: Pinning = .none, offloadThreads: Int = 2,
    options: ReactorOptions = ReactorOptions()
  ) throws(UringUnavailableError) {
    try self.init(
      reactorCount: reactorCount, pinning: pinning, offloadThreads: offloadThreads,
      options: options, firstOnCallingThread: false)
  }

  /// `firstOnCallingThread`: reactor 0 runs on the calling thread, in
  /// ``runFirstOnCallingThread()`` (``ReactorRuntime``'s main thread).
  init(
    reactorCount: Int?, pinning: Pinning, offloadThreads: Int, options: ReactorOptions,
    firstOnCallingThread: Bool
  ) throws(UringUnavailableError) {
    let cpus = ReactorGroup.usableCPUs
    let count = max(1, reactorCount ?? cpus.count)
    offloadPool = OffloadPool(threadCount: max(1, offloadThreads), name: "\(options.name)-off")
    var started: [Reactor] = []
    for index in 0..<count {
      var reactorOptions = options
      reactorOptions.name = "\(options.name)-\(index)"
      if pinning == .usableCPUs, !cpus.isEmpty { reactorOptions.cpu = cpus[index % cpus.count] }
      let membership = unsafe GroupMembership(
        executor: UnownedTaskExecutor(ordinary: self), identity: ObjectIdentifier(self),
        index: index, scheduler: scheduler)
      do throws(UringUnavailableError) {
        if index == 0 && firstOnCallingThread {
          started.append(
            try Reactor(onCallingThread: reactorOptions) { $0.group = membership })
        } else {
          started.append(try Reactor(options: reactorOptions) { $0.group = membership })
        }
      } catch {
        for reactor in started { reactor.requestShutdown() }
        offloadPool.shutdownBlocking()
        throw error
      }
    }
    members.reactors = started
    members.loops = started.map(\.loop)
    scheduler.publish(
      GroupScheduler.Peers(
        runQueues: started.map(\.loop.runQueue), remotes: started.map(\.loop.remote)))
  }

  /// The number of reactors.
  public var count: Int { members.reactors.count }

  /// The next reactor in round-robin order.
  public func next() -> Reactor {
    let reactors = members.reactors
    // Ordering: relaxed; only spreads load, orders nothing.
    let ticket = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
    return reactors[Int(UInt(bitPattern: ticket) % UInt(reactors.count))]
  }

  /// Runs `work` (blocking) on the group's ``offloadPool``; the caller is
  /// suspended meanwhile and resumes on its own executor.
  public func offload<T: Sendable>(
    _ work: @escaping @Sendable () -> T
  ) async throws(OffloadPoolError) -> T {
    try await offloadPool.run(work)
  }

  /// Shuts every reactor down, then the offload pool. May be called from a
  /// task running on one of the reactors.
  ///
  /// Every `Task.sleep` waiting on the group's reactors returns at once,
  /// early and without throwing; see ``Reactor/shutdown()``.
  public func shutdown() async {
    for reactor in members.reactors { reactor.requestShutdown() }
    for reactor in members.reactors { await reactor.shutdown() }
    await offloadPool.shutdown()
  }

  /// Like ``shutdown()``, blocking the calling thread (not a reactor's thread).
  public func shutdownBlocking() {
    for reactor in members.reactors { reactor.requestShutdown() }
    for reactor in members.reactors { reactor.shutdownBlocking() }
    offloadPool.shutdownBlocking()
  }

  /// Runs reactor 0's loop on the calling thread until it is shut down (for a
  /// group created with `firstOnCallingThread`).
  func runFirstOnCallingThread() {
    members.reactors[0].runOnCallingThread()
  }

  /// The CPUs this process may run on (`sched_getaffinity`), ascending.
  public static var usableCPUs: [Int] {
    var cpus = [CInt](repeating: 0, count: 1024)
    let count = unsafe Int(clu_usable_cpus(&cpus, CInt(cpus.count)))
    guard count > 0 else { return [0] }
    return cpus.prefix(min(count, cpus.count)).map(Int.init)
  }
}

/// The group's reactors, set once at the end of `ReactorGroup.init` (the
/// reactors need the group to exist first, to know their membership).
private final class Members: @unchecked Sendable {
  // SAFETY: written once in `ReactorGroup.init`, before the group is
  // published; read-only afterwards.
  var reactors: [Reactor] = []
  var loops: [EventLoop] = []
}

extension Reactor {
  /// This reactor's index in its ``ReactorGroup``'s ``ReactorGroup/reactors``,
  /// or `nil` if it belongs to no group. With ``Reactor/current``, how a task
  /// finds per-reactor resources (a file opened on each reactor, a buffer pool).
  public var groupIndex: Int? { loop.group?.index }
}
