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
  /// `registration: .lazy` registers it only if the operation is still in
  /// flight after its submission (see ``CancellationRegistration``). Either
  /// kind is submitted at once, and its completion taken without suspending,
  /// when nothing else waits to run (``completeInline(_:_:)``).
  ///
  /// `flags` are the SQE's `IOSQE_*` flags (e.g. `.fixedFile`, with an index
  /// of the registered file table as the operation's descriptor).
  ///
  /// `deadline` (else the innermost ``IODeadline`` scope's) links an
  /// `IORING_OP_LINK_TIMEOUT` to the operation: if it passes first, the kernel
  /// cancels the operation, which still keeps its memory until its own CQE,
  /// and the outcome maps to ``IOError/Kind/timedOut``. A deadline already
  /// past submits nothing.
  ///
  /// Its synchronous part (``prepare(_:retaining:createsDescriptor:cancellable:registration:flags:deadline:)``)
  /// and each way of waiting are functions of their own, so that this async
  /// frame, which the calling task's allocator holds for the whole wait, stays
  /// small: a new task that does one operation then fits in its first
  /// allocator slab instead of mallocing another.
  nonisolated(nonsending) func perform(
    _ operation: RingOperation,
    retaining retained: (AnyObject?, AnyObject?) = (nil, nil),
    createsDescriptor: Bool = false,
    cancellable: Bool = true,
    registration: CancellationRegistration = .eager,
    flags: SubmissionFlags = [],
    deadline: OperationDeadline? = nil
  ) async -> OperationOutcome {
    let start = unsafe prepare(
      operation, retaining: retained, createsDescriptor: createsDescriptor,
      cancellable: cancellable, registration: registration, flags: flags, deadline: deadline)
    switch start {
    case .done(let outcome):
      return outcome
    case .inFlight(let userData) where cancellable:
      // Submitted inline and still in flight: register, then wait for the
      // same slot.
      unsafe statistics.lateRegistrations += 1
      return await awaitRegistered(userData, armed: nil)
    case .inFlight(let userData):
      return await waitUncancellable(userData, nil)
    case .prepared(let userData, let submission) where !cancellable:
      return await waitUncancellable(userData, submission)
    case .prepared(let userData, let submission) where registration == .lazy:
      return await waitLazily(userData, submission)
    case .prepared(let userData, let submission):
      return await awaitRegistered(userData, armed: submission)
    }
  }

  /// What ``prepare(_:retaining:createsDescriptor:cancellable:registration:flags:deadline:)`` did.
  enum Start {
    /// Nothing to wait for: refused (shut down, cancelled, deadline past) or
    /// completed inline.
    case done(OperationOutcome)
    /// Submitted inline and still in flight: no waiter yet (`.registering`).
    case inFlight(UInt64)
    /// In the in-flight table, not yet armed.
    case prepared(UInt64, Submission)
  }

  /// The synchronous part of ``perform(_:retaining:createsDescriptor:cancellable:registration:flags:deadline:)``:
  /// checks, the in-flight slot, and the inline submission when nothing else
  /// waits to run.
  @inline(never)
  private func prepare(
    _ operation: RingOperation,
    retaining retained: (AnyObject?, AnyObject?),
    createsDescriptor: Bool,
    cancellable: Bool,
    registration: CancellationRegistration,
    flags: SubmissionFlags,
    deadline: OperationDeadline?
  ) -> Start {
    guard lifecycle == .running else {
      return .done(OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .shutdown))
    }
    precondition(ownsLoopState, "an operation must be prepared on its reactor's loop thread")
    // Rule 4 needs the task's handler in place before the descriptor exists:
    // a slot armed without one (`.registering`) never closes a result.
    precondition(
      !createsDescriptor || (cancellable && registration == .eager),
      "an operation that creates a descriptor registers its cancellation handler first")
    if Task.isCancelled {
      return .done(OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .task))
    }
    var limit: Int64? = nil
    if let effective = IODeadline.effective(deadline) {
      if effective.hasPassed {
        return .done(OperationOutcome(result: -ECANCELED, flags: 0, cancellation: .deadline))
      }
      limit = effective.nanoseconds
    }
    let userData = unsafe table.insert(
      InFlight(
        opcode: operation.opcode, waiter: .none, retained: retained,
        createsDescriptor: createsDescriptor, armed: false, cancellation: nil,
        linkedTimeout: limit != nil))
    let submission = unsafe Submission(operation: operation, flags: flags, limit: limit)
    if !cancellable || registration == .lazy, mayCompleteInline {
      if let outcome = completeInline(userData, submission) { return .done(outcome) }
      return .inFlight(userData)
    }
    return .prepared(userData, submission)
  }

  /// Arms `submission` (or, `nil`: waits for the operation submitted
  /// inline) with no cancellation handler.
  @inline(never)
  nonisolated(nonsending) private func waitUncancellable(
    _ userData: UInt64, _ submission: Submission?
  ) async -> OperationOutcome {
    await withLoopContinuation { continuation in wait(userData, submission, continuation) }
  }

  /// Arms `submission` with no handler yet: the loop resumes the task with
  /// `mustRegister` if the operation outlives its submission, and does not
  /// sleep meanwhile; the task then registers and waits again.
  @inline(never)
  nonisolated(nonsending) private func waitLazily(
    _ userData: UInt64, _ submission: Submission
  ) async -> OperationOutcome {
    let outcome = await withLoopContinuation { continuation in
      arm(userData, submission, .unregisteredTask(continuation))
    }
    guard outcome.mustRegister else { return outcome }
    return await awaitRegistered(userData, armed: nil)
  }

  /// The cancellable wait: registers the task's cancellation handler, then
  /// arms `submission` or, when it was armed lazily, waits again for it.
  @inline(never)
  nonisolated(nonsending) private func awaitRegistered(
    _ userData: UInt64, armed submission: Submission?
  ) async -> OperationOutcome {
    let isolation = #isolation
    if let actor = isolation {
      // SAFETY: `actor` is the caller's own isolation (`#isolation`): the
      // operation does not change threads, though the compiler cannot see it.
      return await awaitCancellable(userData, SameThread(submission), isolation: actor)
    }
    // Nonisolated on the loop thread: the task prefers the reactor, so the
    // handler's (nonisolated) operation closure runs here too.
    return await withTaskCancellationHandler {
      await withLoopContinuation { continuation in
        wait(userData, submission, continuation)
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
    _ submission: SameThread<Submission?>,
    isolation: isolated any Actor
  ) async -> OperationOutcome {
    await withTaskCancellationHandler {
      _ = isolation
      return await withLoopContinuation { continuation in
        wait(userData, submission.value, continuation)
      }
    } onCancel: {
      requestCancel(userData, reason: .task)
    }
  }

  /// Arms `submission` with `continuation` as its waiter, or (`nil`: it was
  /// armed lazily and its task has now registered its handler) makes
  /// `continuation` the waiter of the operation in flight, resuming it at
  /// once if the final CQE came meanwhile.
  private func wait(
    _ userData: UInt64, _ submission: Submission?,
    _ continuation: LoopContinuation<OperationOutcome>
  ) {
    if let submission {
      arm(userData, submission, .task(continuation))
      return
    }
    precondition(ownsLoopState, "a registering operation resumed off its reactor's loop thread")
    let finished = unsafe table.withEntry(userData) { entry -> OperationOutcome? in
      if case .finished(let outcome) = entry.waiter { return outcome }
      entry.waiter = .task(continuation)
      return nil
    }
    guard let finished else {
      preconditionFailure("a registering operation lost its in-flight slot")
    }
    if let outcome = finished {
      // Its final CQE came: the slot goes now, its references after the resume.
      let entry = unsafe table.remove(userData)
      continuation.resume(returning: outcome)
      _ = entry
    }
  }

  /// Stores the waiter and prepares the SQE, unless a cancellation arrived
  /// first, in which case nothing reaches the kernel and the waiter resumes.
  func arm(_ userData: UInt64, _ submission: Submission, _ waiter: Waiter) {
    // Rule 5: only the loop thread touches the SQ.
    precondition(ownsLoopState, "an operation was armed off its reactor's loop thread")
    let earlyCancellation = unsafe table.withEntry(userData) { entry -> CancellationReason? in
      entry.waiter = waiter
      if let reason = entry.cancellation { return reason }
      entry.armed = true
      return nil
    }
    if let reason = earlyCancellation ?? nil {
      let entry = unsafe table.remove(userData)
      let outcome = OperationOutcome(result: -ECANCELED, flags: 0, cancellation: reason)
      switch waiter {
      case .task(let continuation), .unregisteredTask(let continuation):
        continuation.resume(returning: outcome)
      default:
        break
      }
      _ = entry
      return
    }
    if case .unregisteredTask = waiter { unsafe unregistered.append(userData) }
    let operation = unsafe submission.operation
    if let limit = submission.limit {
      unsafe prepareLinked(operation, userData: userData, flags: submission.flags, deadline: limit)
    } else {
      unsafe ring!.prepare(operation, userData: userData, flags: submission.flags)
    }
    unsafe observer?.prepared(userData, opcode: operation.opcode)
  }

  /// Called once the submissions of this iteration have returned and their
  /// completions were handled: every operation armed lazily that is still in
  /// flight resumes its task, which registers its cancellation handler and
  /// waits again (``CancellationRegistration/lazy``).
  func promptRegistrations() {
    // Like a completion, the resumption keeps a group's task on this reactor
    // (`ReactorGroup.enqueue`): it must wait again on this loop.
    unsafe resumingWaiters = true
    defer { unsafe resumingWaiters = false }
    for userData in unsafe unregistered {
      let waiting = unsafe table.withEntry(userData) {
        entry -> LoopContinuation<OperationOutcome>? in
        guard case .unregisteredTask(let continuation) = entry.waiter else { return nil }
        entry.waiter = .registering
        return continuation
      }
      if let continuation = waiting ?? nil {
        unsafe statistics.lateRegistrations += 1
        continuation.resume(
          returning: OperationOutcome(result: 0, flags: 0, cancellation: nil, mustRegister: true))
      }
    }
    unsafe unregistered.removeAll(keepingCapacity: true)
  }

  /// Starts an operation whose completions go to `handler` (multishot ops,
  /// bridges, streams). Loop thread only. Returns its `user_data`, or `nil`
  /// when the loop no longer accepts operations.
  ///
  /// With a `deadline` (the caller checked it has not passed) the operation
  /// is linked to an `IORING_OP_LINK_TIMEOUT`; if the timeout cancels it, the
  /// handler's final `complete` gets ``CancellationReason/deadline``.
  func start(
    _ operation: RingOperation,
    handler: any CompletionHandler,
    retaining retained: (AnyObject?, AnyObject?) = (nil, nil),
    flags: SubmissionFlags = [],
    deadline: OperationDeadline? = nil
  ) -> UInt64? {
    guard lifecycle == .running, ownsLoopState else { return nil }
    let userData = unsafe table.insert(
      InFlight(
        opcode: operation.opcode, waiter: .handler(handler), retained: retained,
        createsDescriptor: false, armed: true, cancellation: nil,
        linkedTimeout: deadline != nil))
    if let deadline {
      unsafe prepareLinked(
        operation, userData: userData, flags: flags, deadline: deadline.nanoseconds)
    } else {
      unsafe ring!.prepare(operation, userData: userData, flags: flags)
    }
    unsafe observer?.prepared(userData, opcode: operation.opcode)
    return userData
  }

  /// Submits an internal operation nobody waits for (a cancel request, the
  /// close of an abandoned descriptor, a timeout update); its slot keeps
  /// shutdown waiting for it, and `retained` alive until its CQE (rule 1).
  func submitInternal(
    _ operation: RingOperation, retaining retained: (AnyObject?, AnyObject?) = (nil, nil)
  ) {
    let userData = unsafe table.insert(
      InFlight(
        opcode: operation.opcode, waiter: .none, retained: retained,
        createsDescriptor: false, armed: true, cancellation: nil))
    unsafe ring!.prepare(operation, userData: userData)
    unsafe observer?.prepared(userData, opcode: operation.opcode)
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
    let mustCancel = unsafe table.withEntry(userData) { entry -> Bool in
      guard entry.cancellation == nil else { return false }
      // Completed already: its task takes the result when it waits again.
      if case .finished = entry.waiter { return false }
      entry.cancellation = reason
      return entry.armed
    }
    if mustCancel == true {
      unsafe submitInternal(.cancel(userData: userData, flags: 0))
    }
  }
}

/// What `arm` prepares: an operation, its SQE flags and its linked deadline.
@safe
struct Submission {
  // @safe: its operation's pointers stay valid while the in-flight slot it
  // was prepared for retains their owners (rule 1).
  let operation: RingOperation
  let flags: SubmissionFlags
  /// `IORING_OP_LINK_TIMEOUT` at these nanoseconds of `CLOCK_BOOTTIME`.
  let limit: Int64?
}

/// A value handed to a function that runs on the same thread, where the
/// compiler cannot prove it: see the `SAFETY` note at each use.
struct SameThread<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
