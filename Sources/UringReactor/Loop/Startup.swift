import Dispatch
import Synchronization
import Uring

/// The two handshakes between `Reactor.init` and its new loop thread: the
/// thread reports its ring (or why it could not make one), then waits until the
/// reactor has told the loop which executors its jobs run on.
final class Startup: Sendable {
  private let reply = Locked<Result<EventLoop, UringUnavailableError>?>(nil)
  private let replied = DispatchSemaphore(value: 0)
  private let started = DispatchSemaphore(value: 0)

  /// Loop thread: reports the outcome of ring creation.
  func report(_ result: Result<EventLoop, UringUnavailableError>) {
    reply.withLock { $0 = result }
    replied.signal()
  }

  /// Reactor: waits for the report.
  func awaitReport() -> Result<EventLoop, UringUnavailableError> {
    replied.wait()
    return reply.withLock { $0! }
  }

  /// Reactor: lets the loop run.
  func start() { started.signal() }

  /// Loop thread: waits to be let run.
  func awaitStart() { started.wait() }
}

/// Lets `shutdown() async` wait for the loop thread to leave its loop without
/// blocking a cooperative thread.
@safe
final class ExitSignal: Sendable {
  // @safe: each continuation is resumed exactly once, under its lock.
  private let state = unsafe Locked<(exited: Bool, waiters: [UnsafeContinuation<Void, Never>])>(
    (false, []))

  /// Loop thread, last thing before it exits.
  func signal() {
    let waiters = unsafe state.withLock { state in
      unsafe state.exited = true
      let waiters = unsafe state.waiters
      unsafe state.waiters = unsafe []
      return unsafe waiters
    }
    for index in unsafe waiters.indices { unsafe waiters[index].resume() }
  }

  func wait() async {
    unsafe await withUnsafeContinuation { continuation in
      let resumeNow = unsafe state.withLock { state in
        if unsafe state.exited { return true }
        unsafe state.waiters.append(continuation)
        return false
      }
      if resumeNow { unsafe continuation.resume() }
    }
  }
}
