import CLibUring
import Glibc

/// A joinable pthread that runs one closure: the reactor's loop.
struct LoopThread: Sendable {
  private final class Start: @unchecked Sendable {
    // SAFETY: written before pthread_create, read once by the new thread.
    let body: @Sendable () -> Void
    let name: String
    let cpu: Int?
    init(body: @escaping @Sendable () -> Void, name: String, cpu: Int?) {
      self.body = body
      self.name = name
      self.cpu = cpu
    }
  }

  let handle: pthread_t

  /// Starts a thread named `name` (at most 15 bytes are kept) running `body`,
  /// pinned to `cpu` if given.
  static func spawn(
    name: String, cpu: Int? = nil, _ body: @escaping @Sendable () -> Void
  ) -> LoopThread {
    let start = unsafe Unmanaged.passRetained(Start(body: body, name: name, cpu: cpu)).toOpaque()
    var handle = pthread_t()
    let result = unsafe pthread_create(
      &handle, nil,
      { raw in
        let start = unsafe Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
        _ = unsafe clu_set_thread_name(LoopThread.kernelName(start.name))
        // A CPU outside the affinity mask is refused (EINVAL): run unpinned.
        if let cpu = start.cpu { _ = clu_pin_thread_to_cpu(CInt(cpu)) }
        start.body()
        return nil
      }, unsafe start)
    precondition(result == 0, "pthread_create failed: \(result)")
    return LoopThread(handle: handle)
  }

  /// `name` cut to the kernel's 15 bytes of thread name, at a character
  /// boundary (a multi-byte character is never split).
  static func kernelName(_ name: String) -> String {
    var cut = Substring(name)
    while cut.utf8.count > 15 { cut.removeLast() }
    return String(cut)
  }

  /// Waits for the thread to exit.
  func join() {
    let result = pthread_join(handle, nil)
    precondition(result == 0, "pthread_join failed: \(result)")
  }

  /// Lets the thread exit on its own.
  func detach() {
    _ = pthread_detach(handle)
  }

  /// Whether the calling thread is this one.
  var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }
}
