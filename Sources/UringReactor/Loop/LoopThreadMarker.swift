import Glibc

/// Marks the thread that is running an event loop's jobs, so that "am I on the
/// loop?" is one thread-local read (`pthread_getspecific`), no lock, no syscall.
enum LoopThreadMarker {
  /// One key for the process; never deleted.
  static let key: pthread_key_t = {
    var key = pthread_key_t()
    let result = unsafe pthread_key_create(&key, nil)
    precondition(result == 0, "pthread_key_create failed: \(result)")
    return key
  }()

  /// Marks the calling thread as running `loop`'s jobs (or clears the mark).
  static func mark(_ loop: EventLoop?) {
    let value = unsafe loop.map { unsafe UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) }
    unsafe pthread_setspecific(key, value)
  }

  /// The loop whose jobs the calling thread runs, if any.
  static var current: EventLoop? {
    guard let pointer = unsafe pthread_getspecific(key) else { return nil }
    // SAFETY: a loop marks only the thread that runs it (or the fallback queue
    // while it runs one of its jobs); the loop is alive while it runs.
    return unsafe Unmanaged<EventLoop>.fromOpaque(pointer).takeUnretainedValue()
  }

  /// Whether the calling thread is marked as running `loop`'s jobs.
  @inline(__always)
  static func isMarked(_ loop: EventLoop) -> Bool {
    unsafe pthread_getspecific(key) == Unmanaged.passUnretained(loop).toOpaque()
  }
}
