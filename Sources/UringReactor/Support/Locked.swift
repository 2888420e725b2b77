import Glibc

/// A value behind a `pthread_mutex_t`.
///
/// Used instead of `Synchronization.Mutex` because ThreadSanitizer intercepts
/// pthread mutexes but does not see the futex-based `Mutex` of the prebuilt
/// (uninstrumented) standard library, and would report every access it
/// protects as a race.
@safe
final class Locked<State>: @unchecked Sendable {
  // @safe: it owns its mutex (freed in deinit); the state is touched only with the mutex held.
  // SAFETY: allocated once, initialised in `init`, destroyed and freed in
  // `deinit`; its address never changes, as pthread requires.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  // SAFETY: read and written only while `mutex` is held.
  private var state: State

  init(_ state: State) {
    self.state = state
    unsafe mutex = .allocate(capacity: 1)
    unsafe mutex.initialize(to: pthread_mutex_t())
    let result = unsafe pthread_mutex_init(mutex, nil)
    precondition(result == 0, "pthread_mutex_init failed: \(result)")
  }

  deinit {
    unsafe pthread_mutex_destroy(mutex)
    unsafe mutex.deallocate()
  }

  /// Runs `body` with exclusive access to the state.
  func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
    unsafe pthread_mutex_lock(mutex)
    defer { unsafe pthread_mutex_unlock(mutex) }
    return try body(&state)
  }
}
