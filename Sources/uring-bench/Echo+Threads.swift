import CLibUring
import Glibc
import UringReactor

/// Threads, CPUs and CPU clocks for the echo workloads whose server is driven
/// by the C client: the client gets a thread of its own (pinned, or not), the
/// server's CPU time is read around the client's run.
enum EchoThreads {
  /// The CPUs this process may run on (sched_getaffinity), in order.
  static let usableCPUs: [Int] = {
    var cpus = [CInt](repeating: 0, count: 1024)
    let count = unsafe Int(clu_usable_cpus(&cpus, CInt(cpus.count)))
    return count > 0 ? cpus.prefix(min(count, cpus.count)).map(Int.init) : []
  }()

  /// Pins the calling thread to `cpu` (if given).
  static func pin(_ cpu: Int?) throws(BenchError) {
    guard let cpu else { return }
    let error = clu_pin_thread_to_cpu(CInt(cpu))
    guard error == 0 else { throw BenchError("cannot pin a thread to CPU \(cpu): errno \(error)") }
  }

  /// Names the calling thread (what profiles show).
  static func name(_ name: String) {
    _ = unsafe clu_set_thread_name(name)
  }

  /// CPU time of every thread of this process but the calling one: for a
  /// server in this process, read on its client's thread.
  static func otherThreadsCPU() -> Duration {
    CPUTime.process() - (CPUTime.read(CLOCK_THREAD_CPUTIME_ID) ?? .zero)
  }

  /// Runs `body` on a new thread (a blocking C client must not hold a thread
  /// of Swift's cooperative pool, nor the reactor's) and returns its result.
  /// The thread (named `echo-client`, for profiles) starts with the
  /// caller's affinity; `body` pins it if needed.
  static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<T, Never>) in
      let start = unsafe Unmanaged.passRetained(
        ThreadStart { unsafe continuation.resume(returning: body()) }
      ).toOpaque()
      var thread = pthread_t()
      let created = unsafe pthread_create(
        &thread, nil,
        { raw in
          // SAFETY: `raw` is the +1 reference passed below, taken once here.
          let start = unsafe Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
          _ = unsafe clu_set_thread_name("echo-client")
          start.body()
          return nil
        }, unsafe start)
      if created == 0 {
        pthread_detach(thread)
      } else {
        // SAFETY: the thread was not created: the reference is still ours.
        unsafe Unmanaged<ThreadStart>.fromOpaque(start).release()
        unsafe continuation.resume(returning: body())
      }
    }
  }

  /// Pins the reactor's loop thread to `cpu` until `restore()`.
  static func pinLoopThread(of reactor: Reactor, to cpu: Int) async throws(BenchError)
    -> LoopAffinity
  {
    let pinned = await Task(executorPreference: reactor) { () -> Result<LoopAffinity, BenchError> in
      var saved = LoopAffinity(reactor: reactor)
      guard unsafe sched_getaffinity(0, MemoryLayout<cpu_set_t>.size, &saved.mask) == 0 else {
        return .failure(BenchError("sched_getaffinity: errno \(errno)"))
      }
      return Result { () throws(BenchError) in
        try pin(cpu)
        return saved
      }
    }.value
    return try pinned.get()
  }
}

/// The loop thread's affinity before it was pinned.
struct LoopAffinity: @unchecked Sendable {
  // @unchecked: `cpu_set_t` is plain bits, copied.
  let reactor: Reactor
  var mask = cpu_set_t()

  /// Gives the loop thread its former affinity back.
  func restore() async {
    let mask = self
    await Task(executorPreference: reactor) {
      var set = mask.mask
      _ = unsafe pthread_setaffinity_np(pthread_self(), MemoryLayout<cpu_set_t>.size, &set)
    }.value
  }
}

private final class ThreadStart {
  let body: () -> Void
  init(_ body: @escaping () -> Void) { self.body = body }
}
