import Glibc

/// `SIGPIPE` and the loop thread.
///
/// A write to a pipe (or a socket written without `MSG_NOSIGNAL`) whose
/// reader is gone fails with `EPIPE` and raises `SIGPIPE` in the thread that
/// performed it. With io_uring that is the thread in `io_uring_enter` when
/// the write is issued inline: the loop thread (measured on Linux 6.18: the
/// process was killed unless that thread blocked `SIGPIPE`). A write the
/// kernel hands to an io-wq worker raises nothing (those threads block every
/// signal). So each loop thread blocks `SIGPIPE` in its own signal mask
/// while it runs: the write fails with `EPIPE` (an ``IOError``), the signal
/// stays pending on the loop thread, never delivered, and the process's
/// disposition (`SIG_DFL`, `SIG_IGN` or a handler) is left as the program
/// set it, for every other thread.
enum BrokenPipeSignal {
  /// Blocks `SIGPIPE` in the calling thread; returns the mask it had.
  static func blockOnLoopThread() -> sigset_t {
    var blocked = pipeSignalSet()
    var previous = sigset_t()
    unsafe pthread_sigmask(SIG_BLOCK, &blocked, &previous)
    return previous
  }

  /// Restores the calling thread's `previous` mask (when a loop ran on a
  /// thread that goes on: the main thread under ``ReactorRuntime``). A
  /// `SIGPIPE` left pending by a failed write is discarded first, unless
  /// `previous` blocked it too: unblocking would deliver it.
  static func restore(_ previous: sigset_t) {
    var previous = previous
    var signals = pipeSignalSet()
    var pending = sigset_t()
    if unsafe sigismember(&previous, SIGPIPE) == 0, unsafe sigpending(&pending) == 0,
      unsafe sigismember(&pending, SIGPIPE) == 1
    {
      var noWait = timespec(tv_sec: 0, tv_nsec: 0)
      _ = unsafe sigtimedwait(&signals, nil, &noWait)
    }
    unsafe pthread_sigmask(SIG_SETMASK, &previous, nil)
  }

  private static func pipeSignalSet() -> sigset_t {
    var set = sigset_t()
    unsafe sigemptyset(&set)
    unsafe sigaddset(&set, SIGPIPE)
    return set
  }
}
