import Glibc

/// A value behind a `pthread_mutex_t`, for the test helpers' shared state.
///
/// Not `Synchronization.Mutex`: ThreadSanitizer intercepts pthread mutexes
/// but does not see the futex-based `Mutex` of the prebuilt standard library,
/// and reports every access it protects as a race (the library's own
/// `Locked` exists for the same reason; test helpers cannot import it).
final class PthreadLocked<State>: @unchecked Sendable {
  // SAFETY: allocated once, initialised in `init`, destroyed and freed in
  // `deinit`; its address never changes, as pthread requires.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  // SAFETY: read and written only while `mutex` is held.
  private var state: State

  init(_ state: State) {
    self.state = state
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    let result = pthread_mutex_init(mutex, nil)
    precondition(result == 0, "pthread_mutex_init failed: \(result)")
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with exclusive access to the state.
  func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&state)
  }
}
