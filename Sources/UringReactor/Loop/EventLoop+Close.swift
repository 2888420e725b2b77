import Glibc
import Uring

extension EventLoop {
  /// Closes `fd`, which its owner has just given up (`IORING_OP_CLOSE`), and
  /// waits for the result, whatever the calling task's cancellation or
  /// ``IODeadline``: an owner that has taken its descriptor out must close
  /// it, or it leaks. `close(2)` at once when the loop no longer takes
  /// operations (shutting down). Loop thread.
  nonisolated(nonsending) func close(_ fd: CInt) async -> OperationOutcome {
    guard lifecycle == .running else {
      let result = Glibc.close(fd) == 0 ? 0 : -errno
      return OperationOutcome(result: result, flags: 0, cancellation: nil)
    }
    let userData = unsafe table.insert(
      InFlight(
        opcode: .close, waiter: .none, retained: (nil, nil), createsDescriptor: false,
        armed: false, cancellation: nil, linkedTimeout: false))
    // Never cancelled: no cancellation handler, no linked timeout.
    let submission = unsafe Submission(operation: .close(fd: fd), flags: [], limit: nil)
    return await withLoopContinuation { continuation in
      arm(userData, submission, .task(continuation))
    }
  }

  /// Closes `fd` once every SQE prepared before is submitted
  /// (`IORING_OP_CLOSE` after them), so that no operation already prepared
  /// can meet the number reused by another descriptor; `close(2)` at once
  /// when the loop no longer runs or this is not its thread.
  func closeAfterPrepared(_ fd: CInt) {
    if ownsLoopState, lifecycle == .running {
      unsafe submitInternal(.close(fd: fd))
    } else {
      Glibc.close(fd)
    }
  }
}
