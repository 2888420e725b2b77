import Glibc
import Uring

extension EventLoop {
  /// Submits `operation` and suspends until its final completion.
  ///
  /// Must be called on the loop thread. `retained` is held by the in-flight
  /// slot until the final CQE (rule 1, rule 2). If the task is cancelled, the
  /// cancellation goes to the loop, which submits `IORING_OP_ASYNC_CANCEL`; the
  /// waiter still waits for the operation's own CQE (rule 3).
  ///
  /// `cancellable: false` skips the cancellation handler, for operations that
  /// always complete in one loop iteration (`nop`): registering a handler
  /// takes a per-task runtime lock twice, the largest cost of a round trip.
  ///
  /// `deadline` (else the innermost ``IODeadline`` scope's) links an
  /// `IORING_OP_LINK_TIMEOUT` to the operation: if it passes first, the kernel
  /// cancels the operation, which still keeps its memory until its own CQE,
  /// and the outcome maps to ``IOError/Kind/timedOut``. A deadline already
  /// past submits nothing.
  nonisolated(nonsending) func perform(
    _ operation: RingOperation,
    retaining retained: (AnyObject?, AnyObject?) = (nil, nil),
    createsDescriptor: Bool = false,
    cancellable: Bool = true,
    deadline: OperationDeadline? = nil
  ) async -> OperationOutcome {
    guard lifecycle == .running else {
      return OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .shutdown)
    }
    precondition(ownsLoopState, "an operation must be prepared on its reactor's loop thread")
    if Task.isCancelled {
      return OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .task)
    }
    var limit: Int64? = nil
    if let effective = IODeadline.effective(deadline) {
      if effective.hasPassed {
        return OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .deadline)
      }
      limit = effective.nanoseconds
    }
    let userData = table.insert(
      InFlight(
        opcode: operation.opcode, waiter: .none, retained: retained,
        createsDescriptor: createsDescriptor, armed: false, cancellation: nil,
        linkedTimeout: limit != nil))
    guard cancellable else {
      return await withUnsafeContinuation { continuation in
        arm(userData, operation, limit, continuation)
      }
    }
    let isolation = #isolation
    if let actor = isolation {
      // SAFETY: `actor` is the caller's own isolation (`#isolation`): the
      // operation does not change threads, though the compiler cannot see it.
      return await awaitCancellable(userData, SameThread(operation), limit, isolation: actor)
    }
    // Nonisolated on the loop thread: the task prefers the reactor, so the
    // handler's (nonisolated) operation closure runs here too.
    return await withTaskCancellationHandler {
      await withUnsafeContinuation { continuation in
        arm(userData, operation, limit, continuation)
      }
    } onCancel: {
      requestCancel(userData, reason: .task)
    }
  }

  /// The cancellable wait for a caller isolated to an actor pinned to the
  /// reactor. The handler's operation closure captures `isolation`, so it
  /// stays on that actor (the loop thread): a non-Sendable closure that does
  /// not capture it would run on the global executor (see the field notes).
  private func awaitCancellable(
    _ userData: UInt64,
    _ operation: SameThread<RingOperation>,
    _ limit: Int64?,
    isolation: isolated any Actor
  ) async -> OperationOutcome {
    await withTaskCancellationHandler {
      _ = isolation
      return await withUnsafeContinuation { continuation in
        arm(userData, operation.value, limit, continuation)
      }
    } onCancel: {
      requestCancel(userData, reason: .task)
    }
  }

  /// Stores the waiter and prepares the SQE, unless a cancellation arrived
  /// first, in which case nothing reaches the kernel and the waiter resumes.
  private func arm(
    _ userData: UInt64,
    _ operation: RingOperation,
    _ limit: Int64?,
    _ continuation: UnsafeContinuation<OperationOutcome, Never>
  ) {
    // Rule 5: only the loop thread touches the SQ.
    precondition(ownsLoopState, "an operation was armed off its reactor's loop thread")
    let earlyCancellation = table.withEntry(userData) { entry -> CancellationReason? in
      entry.waiter = .task(continuation)
      if let reason = entry.cancellation { return reason }
      entry.armed = true
      return nil
    }
    if let reason = earlyCancellation ?? nil {
      let entry = table.remove(userData)
      continuation.resume(
        returning: OperationOutcome(result: -ECANCELED, flags: 0, cancellation: reason))
      _ = entry
      return
    }
    if let limit {
      prepareLinked(operation, userData: userData, deadline: limit)
    } else {
      ring!.prepare(operation, userData: userData)
    }
    observer?.prepared(userData, opcode: operation.opcode)
  }

  /// Starts an operation whose completions go to `handler` (multishot ops,
  /// bridges). Loop thread only. Returns its `user_data`, or `nil` when the
  /// loop no longer accepts operations.
  func start(
    _ operation: RingOperation,
    handler: any CompletionHandler,
    retaining retained: (AnyObject?, AnyObject?) = (nil, nil),
    flags: SubmissionFlags = []
  ) -> UInt64? {
    guard lifecycle == .running, ownsLoopState else { return nil }
    let userData = table.insert(
      InFlight(
        opcode: operation.opcode, waiter: .handler(handler), retained: retained,
        createsDescriptor: false, armed: true, cancellation: nil))
    ring!.prepare(operation, userData: userData, flags: flags)
    observer?.prepared(userData, opcode: operation.opcode)
    return userData
  }

  /// Submits an internal operation nobody waits for (a cancel request, the
  /// close of an abandoned descriptor, a timeout update); its slot keeps
  /// shutdown waiting for it, and `retained` alive until its CQE (rule 1).
  func submitInternal(
    _ operation: RingOperation, retaining retained: (AnyObject?, AnyObject?) = (nil, nil)
  ) {
    let userData = table.insert(
      InFlight(
        opcode: operation.opcode, waiter: .none, retained: retained,
        createsDescriptor: false, armed: true, cancellation: nil))
    ring!.prepare(operation, userData: userData)
    observer?.prepared(userData, opcode: operation.opcode)
  }

  /// Asks the loop to cancel the operation `userData`. Any thread (rule 5: only
  /// the loop thread touches the SQ, so other threads post the request).
  func requestCancel(_ userData: UInt64, reason: CancellationReason) {
    if ownsLoopState {
      cancelOnLoop(userData, reason: reason)
    } else {
      // A closed inbox means the loop has reaped every operation already.
      _ = remote.push { $0.cancellations.append(userData) }
    }
  }

  /// Marks the operation cancelled and, if its SQE was prepared, submits
  /// `IORING_OP_ASYNC_CANCEL` for it. Its slot stays until its own CQE.
  func cancelOnLoop(_ userData: UInt64, reason: CancellationReason) {
    let mustCancel = table.withEntry(userData) { entry -> Bool in
      guard entry.cancellation == nil else { return false }
      entry.cancellation = reason
      return entry.armed
    }
    if mustCancel == true {
      submitInternal(.cancel(userData: userData, flags: 0))
    }
  }
}

/// A value handed to a function that runs on the same thread, where the
/// compiler cannot prove it: see the `SAFETY` note at each use.
struct SameThread<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
