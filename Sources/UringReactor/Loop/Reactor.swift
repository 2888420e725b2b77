import CLibUring
import Glibc
import SystemPackage
public import Uring

/// A reactor: one long-lived thread that owns one io_uring and runs Swift jobs.
///
/// It is the executor for the tasks and actors that use it:
/// - a `SerialExecutor`: pin an actor with
///   `nonisolated var unownedExecutor: UnownedSerialExecutor { reactor.asUnownedSerialExecutor() }`;
/// - a `TaskExecutor`: `Task(executorPreference: reactor)`,
///   `withTaskExecutorPreference(reactor) { ... }`, `group.addTask(executorPreference: reactor)`.
///
/// Code running on the reactor starts I/O with no lock and no syscall; each loop
/// iteration runs the ready jobs, submits every SQE they prepared in one
/// `io_uring_enter` (which also waits when nothing is ready), and resumes the
/// tasks whose operations completed. The iteration's last job submits its
/// own operation at once when nothing else is ready, and goes on without
/// suspending if it completes inside that submission.
///
/// Thread-safety: every method may be called from any thread. Only the loop
/// thread touches the ring; other threads post to it.
///
/// Signals: a write whose reader is gone throws ``IOError`` `EPIPE` and
/// never raises `SIGPIPE`. Socket sends pass `MSG_NOSIGNAL`; for
/// `IORING_OP_WRITE` (pipes, files), which has no such flag, the loop thread
/// blocks `SIGPIPE` in its own signal mask (the kernel raises it in the
/// thread that issues the write, the loop thread, inside `io_uring_enter`).
/// The process's disposition is never changed. Threads created from a job on
/// the loop thread inherit that mask.
///
/// Lifetime: call ``shutdown()`` (or ``shutdownBlocking()``) when done. It stops
/// taking operations, cancels every one in flight, waits for every completion,
/// resumes every waiter with ``IOError/Kind/reactorShutDown``, ends every
/// `Task.sleep` waiting on it (they return early) and joins the thread.
/// Dropping the last reference does the same. Jobs that arrive after
/// that still run (serially, on a fallback queue) and their I/O fails.
public final class Reactor: Sendable {
  let loop: EventLoop
  /// The loop's own thread; `nil` for a reactor that runs on the thread that
  /// created it (the main thread, under ``ReactorRuntime``).
  private let thread: LoopThread?
  private let exit = ExitSignal()
  private let joined = Locked(false)

  /// The loop thread's name (``ReactorOptions/name``).
  public var name: String { loop.name }

  /// What the ring applied at set-up.
  public var setup: RingSetup { loop.setup }
  /// What the kernel supports.
  public var probe: Probe { loop.probe }
  /// The features the kernel reported.
  public var features: RingFeatures { loop.features }

  /// Starts a reactor thread and its ring.
  ///
  /// - Throws: `UringUnavailableError` when io_uring cannot be used here; the
  ///   error names the cause and what to do.
  public convenience init(options: ReactorOptions = ReactorOptions()) throws(UringUnavailableError)
  {
    try self.init(options: options, configure: { _ in })
  }

  /// Starts a reactor thread; `configure` runs before the loop runs any job
  /// (a group records its membership there).
  init(
    options: ReactorOptions, configure: (EventLoop) -> Void
  ) throws(UringUnavailableError) {
    let remote = try Self.makeRemoteQueue()
    let startup = Startup()
    let exit = self.exit
    let spawned = LoopThread.spawn(name: options.name, cpu: options.cpu) {
      let loop: EventLoop
      do throws(UringUnavailableError) {
        loop = EventLoop(ring: try Ring(options: options.ring), remote: remote, name: options.name)
      } catch {
        remote.closeEventFD()
        startup.report(.failure(error))
        return
      }
      startup.report(.success(loop))
      startup.awaitStart()
      // A broken pipe is an EPIPE, never a SIGPIPE (the thread ends with it).
      _ = BrokenPipeSignal.blockOnLoopThread()
      loop.run()
      exit.signal()
    }
    switch startup.awaitReport() {
    case .failure(let error):
      spawned.join()
      throw error
    case .success(let loop):
      self.loop = loop
    }
    thread = spawned
    // The loop thread waits in `awaitStart` and runs no job until `start()`;
    // the semaphore orders these writes before every read on the loop thread.
    attachLoop(configure, diagnostics: options.diagnostics)
    startup.start()
  }

  /// A reactor whose loop will run on the calling thread, in
  /// ``runOnCallingThread()``: the ring is created here, so with
  /// `SINGLE_ISSUER` this thread is its issuer. Jobs enqueued meanwhile wait
  /// in the inbox.
  init(
    onCallingThread options: ReactorOptions, configure: (EventLoop) -> Void
  ) throws(UringUnavailableError) {
    let remote = try Self.makeRemoteQueue()
    let ring: Ring
    do throws(UringUnavailableError) {
      ring = try Ring(options: options.ring)
    } catch {
      remote.closeEventFD()
      throw error
    }
    loop = EventLoop(ring: ring, remote: remote, name: options.name)
    thread = nil
    attachLoop(configure, diagnostics: options.diagnostics)
  }

  /// The inbox other threads post to, with the eventfd that wakes the loop.
  private static func makeRemoteQueue() throws(UringUnavailableError) -> RemoteQueue {
    let eventFD = clu_eventfd(0, CLU_EFD_CLOEXEC)
    guard eventFD >= 0 else {
      throw UringUnavailableError(
        cause: .other(Errno(rawValue: errno)), errno: Errno(rawValue: errno))
    }
    return RemoteQueue(eventFD: eventFD)
  }

  /// Makes this reactor the loop's executors and owner, then lets
  /// `configure` see the loop, before the loop runs any job.
  /// Reports the ring's set-up to `diagnostics` (on the creating thread).
  private func attachLoop(
    _ configure: (EventLoop) -> Void, diagnostics: ReactorDiagnostics?
  ) {
    unsafe loop.serialExecutor = unsafe UnownedSerialExecutor(ordinary: self)
    unsafe loop.taskExecutor = unsafe UnownedTaskExecutor(ordinary: self)
    loop.owner = self
    loop.diagnostics = diagnostics
    configure(loop)
    diagnostics?.reportSetUp(of: loop)
  }

  /// Runs the loop on the calling thread (which created this reactor with
  /// `init(onCallingThread:configure:)`) until it is shut down.
  func runOnCallingThread() {
    precondition(thread == nil, "reactor '\(name)' runs on its own thread")
    // A broken pipe is an EPIPE, never a SIGPIPE, while the loop runs here.
    let signalMask = BrokenPipeSignal.blockOnLoopThread()
    loop.run()
    BrokenPipeSignal.restore(signalMask)
    exit.signal()
  }

  deinit {
    requestShutdown()
    guard let thread else { return }
    if loop.isOnLoopThread {
      // The loop thread itself, or, after termination, the fallback queue
      // (marked as this loop): the thread may have been joined already, and
      // its handle reused by another thread, so only an unjoined one detaches.
      joined.withLock { joined in
        if !joined { thread.detach() }
        joined = true
      }
    } else {
      joinOnce()
    }
  }

  /// Whether the calling code runs on this reactor's loop thread.
  public var isCurrent: Bool { loop.isOnLoopThread }

  /// The reactor whose loop thread is calling, or `nil` on any other thread.
  ///
  /// A task that prefers a ``ReactorGroup`` (or runs under ``ReactorRuntime``)
  /// uses it to reach the reactor it runs on, e.g. to open a file there.
  public static var current: Reactor? {
    LoopThreadMarker.current?.owner
  }

  /// Shuts the reactor down and waits until its thread has exited.
  ///
  /// Stops taking operations, cancels (`IORING_OP_ASYNC_CANCEL`) every one in
  /// flight, waits for every CQE, resumes every waiter with
  /// ``IOError/Kind/reactorShutDown``, then joins the thread. Idempotent. May be
  /// called from a task running on the reactor itself.
  ///
  /// Sleeping tasks do not hold it up: every `Task.sleep` waiting on this
  /// reactor (tasks that prefer it, or its group, or any task under
  /// ``ReactorRuntime``) returns at once, early and without throwing, as if
  /// its deadline had passed. (An executor can only run a sleep's wake-up
  /// job; only cancelling the task makes a sleep throw.) Code that must tell
  /// checks the clock, or `Task.isCancelled` if it cancels its tasks. A sleep
  /// begun during the shutdown also ends when the loop stops; one begun after
  /// the reactor terminated waits for its deadline off the reactor (a task
  /// sleeping in a loop keeps its pace instead of spinning): cancel that
  /// task to end it.
  public func shutdown() async {
    requestShutdown()
    await exit.wait()
    joinOnce()
  }

  /// Like ``shutdown()``, blocking the calling thread. Must not be called on
  /// the loop thread (it would wait for itself).
  public func shutdownBlocking() {
    precondition(!loop.isOnLoopThread, "shutdownBlocking() called on the reactor's own thread")
    requestShutdown()
    joinOnce()
  }

  func requestShutdown() {
    if loop.ownsLoopState {
      loop.beginShutdown()
    } else {
      _ = loop.remote.push { $0.shutdownRequested = true }
    }
  }

  private func joinOnce() {
    guard let thread else { return }
    joined.withLock { joined in
      guard !joined else { return }
      thread.join()
      joined = true
    }
  }
}
