import CLibUring
import Glibc

/// Why ``OffloadPool/run(_:)`` did not run the work.
public enum OffloadPoolError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The pool was shut down before the work started.
  case shutDown
  /// The calling task was cancelled before the work started.
  case cancelled

  public var description: String {
    switch self {
    case .shutDown: "the offload pool was shut down"
    case .cancelled: "cancelled before the offloaded work started"
    }
  }
}

/// A small, bounded pool of threads for the blocking work io_uring cannot do
/// (listing a directory: there is no `getdents` opcode; `ftruncate` on
/// kernels before 6.9), so that such work never runs on a reactor's loop
/// thread nor on Swift's cooperative pool.
///
/// - Bounds: `threadCount` worker threads and a queue of at most
///   `queueCapacity` jobs waiting to start. A caller of ``run(_:)`` that
///   finds the queue full is suspended (no thread blocks) until a job
///   starts: backpressure, not an error.
/// - Resumption: ``run(_:)`` suspends the caller and resumes it on its own
///   executor (a task preferring a reactor continues on that reactor's loop
///   thread; an actor's method continues on the actor).
/// - Lifecycle: the pool's threads start in `init` and run until
///   ``shutdown()`` (or ``shutdownBlocking()``), which refuses new work, lets
///   every queued job finish, and joins the threads. Dropping the last
///   reference does the same without waiting. Whoever creates a pool owns
///   it; ``shared`` is a process-wide pool for callers that do not bring
///   their own.
/// - Cancellation: a job cancelled while queued is removed and its caller
///   throws ``OffloadPoolError/cancelled``; a job already running runs to
///   completion (a blocking system call cannot be interrupted) and its result
///   is returned.
/// - Thread-safety: `Sendable`; every method may be called from any thread.
public final class OffloadPool: Sendable {
  /// The number of worker threads.
  public let threadCount: Int
  /// How many jobs may wait to start before callers are suspended.
  public let queueCapacity: Int
  private let shared: PoolCore
  private let threads: [LoopThread]

  /// A process-wide pool of 2 threads and a queue of 256, started on first
  /// use and never shut down (its threads sleep while idle). Create your own
  /// pool for an explicit lifetime.
  public static let shared = OffloadPool(threadCount: 2, queueCapacity: 256, name: "offload")

  /// Starts `threadCount` threads (named `name-N`) that run queued work.
  public init(threadCount: Int = 2, queueCapacity: Int = 64, name: String = "offload") {
    precondition(threadCount >= 1, "an offload pool needs a thread")
    precondition(queueCapacity >= 1, "an offload pool needs a queue")
    self.threadCount = threadCount
    self.queueCapacity = queueCapacity
    let core = PoolCore(capacity: queueCapacity, threads: threadCount)
    self.shared = core
    threads = (0..<threadCount).map { index in
      LoopThread.spawn(name: "\(name)-\(index)") { core.work() }
    }
  }

  deinit {
    // Workers hold only the core: they drain the queue and exit on their own.
    shared.close()
    let threads = self.threads
    shared.joinLock.withLock { joined in
      guard !joined else { return }
      for thread in threads { thread.detach() }
      joined = true
    }
  }

  /// Runs `work` on one of the pool's threads and returns its result,
  /// suspending the caller meanwhile (no thread of the caller blocks).
  ///
  /// - Throws: ``OffloadPoolError/shutDown`` if the pool no longer takes
  ///   work, ``OffloadPoolError/cancelled`` if the task was cancelled before
  ///   the work started. Errors of the work itself travel in `T` (e.g. a
  ///   `Result`).
  public func run<T: Sendable>(
    _ work: @escaping @Sendable () -> T
  ) async throws(OffloadPoolError) -> T {
    if Task.isCancelled { throw .cancelled }
    let job = OffloadJob()
    let handoff = job.handoff
    let outcome = await withTaskCancellationHandler {
      unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<T?, Never>) in
        job.body = { started in
          let value = started ? work() : nil
          handoff.withLock { resumed in
            resumed = true
            unsafe continuation.resume(returning: value)
          }
        }
        shared.submit(job)
      }
    } onCancel: {
      shared.cancel(job)
    }
    // The worker resumed us under `handoff`; taking it here orders what the
    // resume touched before what this task does next, visibly to
    // ThreadSanitizer (the runtime's own synchronisation is not instrumented).
    _ = handoff.withLock { $0 }
    if let outcome { return outcome }
    throw job.refusal
  }

  /// Refuses new work, waits until every queued job has run, and joins the
  /// threads. Idempotent. Must not be called from the pool's own work.
  public func shutdown() async {
    shared.close()
    await shared.exited.wait()
    joinAll()
  }

  /// Like ``shutdown()``, blocking the calling thread (not from a worker).
  public func shutdownBlocking() {
    shared.close()
    joinAll()
  }

  /// How many jobs are queued or waiting for room in the queue (diagnostics).
  public var pendingCount: Int { shared.pendingCount }

  private func joinAll() {
    shared.joinLock.withLock { joined in
      guard !joined else { return }
      for thread in threads {
        precondition(!thread.isCurrent, "an offload pool was shut down from its own work")
        thread.join()
      }
      joined = true
    }
  }
}

/// One submitted piece of work. `body(true)` runs it and resumes its caller;
/// `body(false)` resumes the caller without running it (`refusal` says why).
final class OffloadJob: @unchecked Sendable {
  // SAFETY: `body` is set before `submit` publishes the job (under the core's
  // mutex) and called exactly once, by whoever removes the job from the
  // core's lists under that mutex. `refusal` is written before `body(false)`.
  var body: ((Bool) -> Void)?
  var refusal = OffloadPoolError.shutDown
  /// Held by the worker while it resumes the caller, and taken by the caller
  /// once resumed (a pthread mutex, which ThreadSanitizer sees).
  let handoff = Locked(false)
}

/// The state shared by the pool and its workers: a mutex, a condition
/// variable, the queue and the callers waiting for room in it.
@safe
final class PoolCore: @unchecked Sendable {
  // @safe: its continuations and memory are touched only under its lock, each continuation resumed
  // once.
  // SAFETY: `mutex` and `condition` are allocated once and never move; every
  // stored `var` below is read and written only while `mutex` is held.
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var queue: [OffloadJob] = []
  private var queueHead = 0
  private var overflow: [OffloadJob] = []
  private var closed = false
  private var running: Int
  private let capacity: Int
  let exited = ExitSignal()
  let joinLock = Locked(false)

  init(capacity: Int, threads: Int) {
    self.capacity = capacity
    self.running = threads
    unsafe mutex.initialize(to: pthread_mutex_t())
    unsafe condition.initialize(to: pthread_cond_t())
    unsafe precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    unsafe precondition(pthread_cond_init(condition, nil) == 0, "pthread_cond_init failed")
  }

  deinit {
    unsafe pthread_cond_destroy(condition)
    unsafe pthread_mutex_destroy(mutex)
    unsafe condition.deallocate()
    unsafe mutex.deallocate()
  }

  private func locked<R>(_ body: () -> R) -> R {
    unsafe pthread_mutex_lock(mutex)
    defer { unsafe pthread_mutex_unlock(mutex) }
    return body()
  }

  var pendingCount: Int { locked { queue.count - queueHead + overflow.count } }

  /// Queues `job`, or parks it until there is room, or refuses it.
  func submit(_ job: OffloadJob) {
    let refused = locked { () -> Bool in
      if closed { return true }
      if queue.count - queueHead < capacity {
        queue.append(job)
        unsafe pthread_cond_signal(condition)
      } else {
        overflow.append(job)
      }
      return false
    }
    if refused {
      job.refusal = .shutDown
      job.body!(false)
    }
  }

  /// Removes `job` if it has not started; its caller then throws `cancelled`.
  func cancel(_ job: OffloadJob) {
    let removed = locked { () -> Bool in
      if let index = overflow.firstIndex(where: { $0 === job }) {
        overflow.remove(at: index)
        return true
      }
      if let index = queue[queueHead...].firstIndex(where: { $0 === job }) {
        queue.remove(at: index)
        return true
      }
      return false
    }
    if removed {
      job.refusal = .cancelled
      job.body!(false)
    }
  }

  /// Stops taking work; queued work still runs.
  func close() {
    locked {
      closed = true
      unsafe pthread_cond_broadcast(condition)
    }
  }

  /// A worker thread's loop: takes jobs until the pool is closed and empty.
  func work() {
    while let job = next() {
      job.body!(true)
      job.body = nil
    }
    let last = locked { () -> Bool in
      running -= 1
      return running == 0
    }
    if last { exited.signal() }
  }

  private func next() -> OffloadJob? {
    locked { () -> OffloadJob? in
      while queueHead == queue.count {
        if closed && overflow.isEmpty { return nil }
        if !overflow.isEmpty {
          queue.append(overflow.removeFirst())
          continue
        }
        unsafe pthread_cond_wait(condition, mutex)
      }
      let job = queue[queueHead]
      queueHead += 1
      if queueHead >= 64 && queueHead * 2 >= queue.count {
        queue.removeFirst(queueHead)
        queueHead = 0
      }
      // Room in the queue: the oldest parked caller moves in.
      if !overflow.isEmpty { queue.append(overflow.removeFirst()) }
      return job
    }
  }
}
