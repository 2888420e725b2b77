import CLibUring
import Dispatch
import Glibc
import Synchronization
import Uring

/// The state of one reactor thread: its ring, its in-flight table and its job
/// queues. Created on, and (but for `remote` and `lifecycle`) only touched by,
/// the loop thread.
///
/// Thread-safety: `@unchecked Sendable` because references cross threads (the
/// reactor and cancellation handlers hold one), but every stored `var` is
/// confined to the loop thread. Other threads talk to the loop only through
/// `remote` (a locked inbox) and read `lifecycle` (an atomic).
@safe
final class EventLoop: @unchecked Sendable {
  // @safe: its unsafe storage (ring, in-flight memory, continuations) is touched only on its loop
  // thread, which the preconditions check; see the SAFETY notes on each field.
  enum Lifecycle: UInt8 {
    /// Accepting jobs and operations.
    case running = 0
    /// Shutdown requested: in-flight operations are being cancelled and reaped;
    /// new operations fail with "shut down"; jobs still run.
    case draining = 1
    /// No more jobs accepted; reaping the loop's own last operations.
    case closing = 2
    /// The thread has left the loop; the ring is gone.
    case terminated = 3
  }

  // Ordering: written only by the loop thread (release); other threads read it
  // with acquire to learn that operations are refused or the ring is gone.
  private let lifecycleState = Atomic<UInt8>(Lifecycle.running.rawValue)
  let remote: RemoteQueue
  let name: String

  // MARK: Loop-thread state
  // These are touched by one thread only (the loop's), so the dynamic
  // exclusivity checks Swift adds to class properties buy nothing here but
  // cost about 7% of a nop round trip.
  @exclusivity(unchecked) var ring: Ring?
  @exclusivity(unchecked) var table = InFlightTable(capacity: 1024)
  /// Jobs ready to run next iteration that must run on this reactor.
  @exclusivity(unchecked) var ready: [ReadyJob] = []
  /// Closures to run next iteration (``Reactor/execute(_:)``).
  @exclusivity(unchecked) var readyClosures: [LoopClosure] = []
  /// The batch of closures being run (kept to reuse its capacity).
  @exclusivity(unchecked) var runningClosures: [LoopClosure] = []
  /// Group jobs ready to run here or, if a sibling is idle, there
  /// (``GroupScheduler``). Unused outside a group.
  let runQueue = RunQueue()
  /// Jobs taken from a sibling's run queue (kept to reuse its capacity).
  @exclusivity(unchecked) var stolen: [UnownedJob] = []
  /// The batch being run (kept to reuse its capacity).
  @exclusivity(unchecked) var running: [ReadyJob] = []
  /// The remote inbox's next job buffer (kept to reuse its capacity).
  @exclusivity(unchecked) var spareInbox: [ReadyJob] = []
  /// Operations armed lazily since the last submission, whose tasks have no
  /// cancellation handler yet (``CancellationRegistration/lazy``): while any
  /// is in flight the loop does not sleep.
  @exclusivity(unchecked) var unregistered: [UInt64] = []
  /// Completions drained this iteration (kept to reuse its capacity).
  @exclusivity(unchecked) var completions: [Completion] = []
  /// The job being run (its address), and whether it runs with the reactor
  /// as its task executor: how the loop corrects `preferences`.
  @exclusivity(unchecked) var runningJob: UInt = 0
  @exclusivity(unchecked) var runningWithTaskExecutor = false
  /// The executors jobs run on; set once by the reactor before the loop starts.
  var serialExecutor: UnownedSerialExecutor?
  var taskExecutor: UnownedTaskExecutor?
  /// The group this reactor belongs to, if any; set once before the loop starts.
  var group: GroupMembership?
  /// The reactor that owns this loop (for `Reactor.current`).
  weak var owner: Reactor?
  /// The delayed jobs (`Task.sleep`) and the kernel timeouts armed for them.
  @exclusivity(unchecked) var timers = TimerQueues()
  /// Jobs for other reactors' loops, sent in one batch per loop per iteration.
  @exclusivity(unchecked) var outbox: [OutboundJobs] = []
  /// The loop is resuming tasks that wait in it (completions being handled,
  /// wait deadlines expiring, lazily armed operations asking for their
  /// handler, a ``LoopContinuation`` resumed): a group's task resumed now stays
  /// on this reactor (`ReactorGroup.enqueue`), since it goes on inside this
  /// loop's code.
  @exclusivity(unchecked) var resumingWaiters = false
  /// How many more operations the running job may complete inline
  /// (``completeInline(_:_:)``) before it must suspend like any other.
  @exclusivity(unchecked) var inlineBudget = 0
  /// The kind of job being run.
  @exclusivity(unchecked) var runningKind = ReadyJob.Kind.serial
  /// Whether the kernel has `IORING_OP_MSG_RING` (cross-reactor wake-ups).
  let canMessageRings: Bool
  /// Whether the eventfd read is armed.
  var wakeupArmed = false
  // SAFETY: 8 bytes the kernel writes when the eventfd read completes. Freed
  // only in `deinit`, after `finish()` reaped the read's final CQE (rule 2).
  let wakeupBuffer = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
  /// Tasks known to prefer this reactor as their task executor.
  let preferences = TaskPreferenceCache()
  /// Sees operations come and go (tests, diagnostics). Loop thread only.
  var observer: (any LoopObserver)?
  /// Where set-up facts and the final counters are reported; set once
  /// before the loop starts.
  var diagnostics: ReactorDiagnostics?
  /// The direct descriptor slots of ``FileSystem/readFiles(_:maximumSize:)``
  /// (``DirectSlotTable``), registered on first use. Loop thread only.
  var directSlots = DirectSlotTable.State.unregistered
  /// Counters for tests and diagnostics (loop thread only).
  @exclusivity(unchecked) var statistics = LoopStatistics()
  /// The idle pipes `SocketStream.send(file:range:)` splices through.
  @exclusivity(unchecked) var splicePipes = SplicePipePool()

  /// Copied from the ring at creation, readable from any thread.
  let setup: RingSetup
  /// The ring's file descriptor: the target of `IORING_OP_MSG_RING` wake-ups.
  /// Open until `finish()`, which first waits for every sender (`RemoteQueue`).
  let ringFD: CInt
  let features: RingFeatures
  let probe: Probe

  init(ring: consuming Ring, remote: RemoteQueue, name: String) {
    self.setup = ring.setup
    self.features = ring.features
    self.probe = ring.probe()
    self.canMessageRings = probe.supports(.msgRing)
    self.ringFD = ring.fileDescriptor.rawValue
    unsafe self.ring = consume ring
    self.remote = remote
    self.name = name
    unsafe ready.reserveCapacity(1024)
    unsafe running.reserveCapacity(1024)
    unsafe completions.reserveCapacity(1024)
    unsafe unregistered.reserveCapacity(1024)
  }

  deinit {
    unsafe wakeupBuffer.deallocate()
  }

  var lifecycle: Lifecycle {
    Lifecycle(rawValue: lifecycleState.load(ordering: .acquiring))!
  }

  func setLifecycle(_ state: Lifecycle) {
    lifecycleState.store(state.rawValue, ordering: .releasing)
  }

  /// Whether the calling thread runs this loop's jobs: the loop thread, or the
  /// fallback queue after termination. This is what isolation checks use.
  @inline(__always)
  var isOnLoopThread: Bool { LoopThreadMarker.isMarked(self) }

  /// Whether the calling thread may touch the loop's state (ring, table, queues):
  /// it is the loop thread, and the loop has not begun closing.
  @inline(__always)
  var ownsLoopState: Bool {
    isOnLoopThread && lifecycleState.load(ordering: .relaxed) < Lifecycle.closing.rawValue
  }
}

/// Counters kept by the loop thread.
struct LoopStatistics: Sendable {
  var iterations = 0
  var jobsRun = 0
  var completions = 0
  var waits = 0
  /// `IORING_OP_TIMEOUT`s armed, updated and removed for delayed jobs.
  var timeoutsArmed = 0
  var timeoutsUpdated = 0
  var timeoutsRemoved = 0
  /// Delayed jobs scheduled on this loop (`Task.sleep`s), those run when
  /// their kernel timeout fired, and sleeps recognised as cancelled.
  var delayedJobs = 0
  var timersFired = 0
  var sleepsCancelled = 0
  /// Jobs sent to other reactors, the batches they went in, and the
  /// `IORING_OP_MSG_RING` / eventfd wake-ups those batches needed.
  var jobsSent = 0
  var batchesSent = 0
  var ringMessages = 0
  var eventFDWakes = 0
  /// Operations submitted with an `IORING_OP_LINK_TIMEOUT`.
  var linkedTimeouts = 0
  /// Operations armed lazily (``CancellationRegistration/lazy``) whose task
  /// had to register its cancellation handler after all: still in flight
  /// after their submission.
  var lateRegistrations = 0
  var inlineCompletions = 0
  /// Work stealing in a group: steals from a sibling, the jobs they took,
  /// and the sleeping siblings this loop woke to give them work.
  var steals = 0
  var jobsStolen = 0
  var siblingsWoken = 0
}
