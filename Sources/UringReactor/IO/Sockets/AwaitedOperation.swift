import CLibUring
import Glibc
import Uring

/// A handler-driven operation (`loop.start`) that one task awaits: used where
/// `perform` cannot go, for an operation with more than one CQE (zero-copy
/// send: the result, then the notification).
///
/// Loop-confined. The task resumes on the operation's final CQE only, when
/// its slot (and the memory it retains) is released (rules 1 and 2).
final class AwaitedOperation: CompletionHandler, @unchecked Sendable {
  enum Mode {
    /// `IORING_OP_SEND_ZC`: the first CQE carries the byte count (with
    /// `IORING_CQE_F_MORE` when a notification follows); the notification
    /// (`IORING_CQE_F_NOTIF`) is the final one, once the kernel no longer
    /// reads the memory. A failed send may have no notification.
    case zeroCopySend
  }

  private let mode: Mode
  /// Linked to an `IORING_OP_LINK_TIMEOUT` at this deadline
  /// (``EventLoop/awaitStarted(_:start:)`` checks it, `start` passes it on).
  let deadline: OperationDeadline?
  var continuation: LoopContinuation<OperationOutcome>?
  private var firstResult: Int32?
  /// Why the first CQE ended the send, if it was cancelled.
  private var firstCancellation: CancellationReason?
  /// Zero-copy send: the kernel copied the bytes after all
  /// (`IORING_NOTIF_USAGE_ZC_COPIED`, e.g. on loopback).
  private(set) var kernelCopied = false

  init(_ mode: Mode, deadline: OperationDeadline? = nil) {
    self.mode = mode
    self.deadline = deadline
  }

  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    var result = completion.result
    var reason = cancellation
    if mode == .zeroCopySend {
      if completion.isNotification {
        kernelCopied = UInt32(bitPattern: completion.result) & IORING_NOTIF_USAGE_ZC_COPIED != 0
        result = firstResult ?? 0
        reason = reason ?? firstCancellation
      } else {
        firstResult = completion.result
        firstCancellation = cancellation
      }
    }
    guard isFinal, let continuation else { return }
    self.continuation = nil
    // The loop maps a linked timeout's `-ECANCELED` to `.deadline` from the
    // final CQE; here the result came with the first one.
    if reason == nil, deadline != nil, result == -ECANCELED || result == -EINTR {
      reason = .deadline
    }
    continuation.resume(
      returning: OperationOutcome(result: result, flags: completion.flags, cancellation: reason))
  }
}

extension EventLoop {
  /// Starts an operation with `start` (which returns the `user_data` of the
  /// submission to cancel, or `nil` if the loop refused it) and suspends
  /// until `operation`'s final CQE. Loop thread.
  ///
  /// Cancellation: the task's cancellation submits `IORING_OP_ASYNC_CANCEL`
  /// through the loop (or, before the start, keeps it from starting); the
  /// task still resumes only on the final CQE (rule 3).
  ///
  /// Deadline: `operation`'s ``AwaitedOperation/deadline``, which `start`
  /// must pass to ``start(_:handler:retaining:flags:deadline:)``. If it has
  /// passed already nothing starts and the outcome is `.deadline`
  /// (after a cancellation's `.task`, which wins).
  nonisolated(nonsending) func awaitStarted(
    _ operation: AwaitedOperation,
    start: @escaping (EventLoop) -> UInt64?
  ) async -> OperationOutcome {
    let token = CancellationToken(loop: self)
    // SAFETY: `start` runs on this (the loop) thread, synchronously, inside
    // `register`, before `suspend` returns.
    let start = SameThread(start)
    return await suspend { (continuation: LoopContinuation<OperationOutcome>) in
      if token.isCancelledBeforeStart || Task.isCancelled {
        continuation.resume(
          returning: OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .task))
        return
      }
      if let deadline = operation.deadline, deadline.hasPassed {
        continuation.resume(
          returning: OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .deadline))
        return
      }
      guard self.lifecycle == .running, let userData = start.value(self) else {
        continuation.resume(
          returning: OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .shutdown))
        return
      }
      operation.continuation = continuation
      token.started(userData, on: self)
    } onCancel: {
      token.cancel()
    }
  }
}
