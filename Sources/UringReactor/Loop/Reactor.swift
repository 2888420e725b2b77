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
/// `io_uring_enter` that also waits, and resumes the tasks whose operations
/// completed.
///
/// Thread-safety: every method may be called from any thread. Only the loop
/// thread touches the ring; other threads post to it.
///
/// Lifetime: call ``shutdown()`` (or ``shutdownBlocking()``) when done. It stops
/// taking operations, cancels every one in flight, waits for every completion,
/// resumes every waiter with ``IOError/Kind/reactorShutDown`` and joins the
/// thread. Dropping the last reference does the same. Jobs that arrive after
/// that still run (serially, on a fallback queue) and their I/O fails.
public final class Reactor: Sendable {
  let loop: EventLoop
  private let thread: LoopThread
  private let exit = ExitSignal()
  private let joined = Locked(false)

  /// What the ring applied at set-up.
  public let setup: RingSetup
  /// What the kernel supports.
  public let probe: Probe
  /// The features the kernel reported.
  public let features: RingFeatures

  /// Starts a reactor thread and its ring.
  ///
  /// - Throws: ``UringUnavailableError`` when io_uring cannot be used here; the
  ///   error names the cause and what to do.
  public init(options: ReactorOptions = ReactorOptions()) throws(UringUnavailableError) {
    let eventFD = clu_eventfd(0, CLU_EFD_CLOEXEC)
    guard eventFD >= 0 else {
      throw UringUnavailableError(
        cause: .other(Errno(rawValue: errno)), errno: Errno(rawValue: errno))
    }
    let remote = RemoteQueue(eventFD: eventFD)
    let startup = Startup()
    let exit = self.exit
    thread = LoopThread.spawn(name: options.name) {
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
      loop.run()
      exit.signal()
    }
    switch startup.awaitReport() {
    case .failure(let error):
      thread.join()
      throw error
    case .success(let loop):
      self.loop = loop
    }
    setup = loop.setup
    features = loop.features
    probe = loop.probe
    // The loop thread waits in `awaitStart` and runs no job until `start()`;
    // the semaphore orders these writes before every read on the loop thread.
    loop.serialExecutor = UnownedSerialExecutor(ordinary: self)
    loop.taskExecutor = UnownedTaskExecutor(ordinary: self)
    startup.start()
  }

  deinit {
    requestShutdown()
    if loop.isOnLoopThread {
      thread.detach()
    } else {
      joinOnce()
    }
  }

  /// Whether the calling code runs on this reactor's loop thread.
  public var isCurrent: Bool { loop.isOnLoopThread }

  /// Shuts the reactor down and waits until its thread has exited.
  ///
  /// Stops taking operations, cancels (`IORING_OP_ASYNC_CANCEL`) every one in
  /// flight, waits for every CQE, resumes every waiter with
  /// ``IOError/Kind/reactorShutDown``, then joins the thread. Idempotent. May be
  /// called from a task running on the reactor itself.
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

  private func requestShutdown() {
    if loop.ownsLoopState {
      loop.beginShutdown()
    } else {
      _ = loop.remote.push { $0.shutdownRequested = true }
    }
  }

  private func joinOnce() {
    joined.withLock { joined in
      guard !joined else { return }
      thread.join()
      joined = true
    }
  }
}
