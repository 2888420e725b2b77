import Glibc
import Uring

extension EventLoop {
  /// Dispatches one completion to its waiter. A slot is released only on the
  /// final CQE (rule 2); its retained references are dropped after the waiter
  /// has been resumed.
  func handle(_ completion: Completion) {
    if completion.userData == EventLoop.messageUserData {
      // An `IORING_OP_MSG_RING` from another loop: it only ended the wait.
      return
    }
    if completion.hasMore {
      // Multishot (or the first CQE of a zero-copy send): the slot stays.
      let handler = unsafe table.withEntry(completion.userData) {
        entry -> (any CompletionHandler)? in
        if case .handler(let handler) = entry.waiter { return handler }
        return nil
      }
      let reason = unsafe table.withEntry(completion.userData) { $0.cancellation } ?? nil
      handler??.complete(completion, isFinal: false, cancellation: reason)
      return
    }
    if let observer,
      let opcode = unsafe table.withEntry(
        completion.userData,
        { entry -> Opcode? in
          if case .wakeup = entry.waiter { return nil }
          return entry.opcode
        }) ?? nil
    {
      observer.completing(completion, opcode: opcode)
    }
    let parked = unsafe table.withEntry(completion.userData) { entry -> Bool in
      guard case .registering = entry.waiter else { return false }
      // No waiter yet (submitted inline, or its task is registering a
      // cancellation handler): the task takes the outcome, and frees the
      // slot, when it waits or returns. Such a slot creates no descriptor
      // (`perform`'s precondition), so rule 4 has nothing to close.
      entry.waiter = .finished(
        OperationOutcome(
          result: completion.result, flags: completion.flags,
          cancellation: entry.cancellation(of: completion)))
      return true
    }
    if parked == true { return }
    guard let entry = unsafe table.remove(completion.userData) else {
      preconditionFailure("completion for unknown user_data \(completion.userData)")
    }
    switch entry.waiter {
    case .task(let continuation), .unregisteredTask(let continuation):
      continuation.resume(returning: finalOutcome(completion, entry))
    case .handler(let handler):
      handler.complete(completion, isFinal: true, cancellation: entry.cancellation(of: completion))
    case .wakeup:
      wakeupArmed = false
      if lifecycle.rawValue < Lifecycle.closing.rawValue { armWakeup() }
    case .none:
      break
    case .registering, .finished:
      preconditionFailure("a second final completion for user_data \(completion.userData)")
    }
    withExtendedLifetime(entry) {}
  }

  /// What the final CQE of a task's operation reports. Rule 4: if the
  /// operation created a descriptor its waiter gave up on, it is closed here.
  private func finalOutcome(_ completion: Completion, _ entry: InFlight) -> OperationOutcome {
    var outcome = OperationOutcome(
      result: completion.result, flags: completion.flags,
      cancellation: entry.cancellation(of: completion))
    if entry.createsDescriptor, entry.cancellation != nil, completion.result >= 0 {
      // Rule 4: the caller gave up; the descriptor must not leak.
      unsafe submitInternal(.close(fd: completion.result))
      outcome.result = -ECANCELED
    }
    return outcome
  }

  /// Arms the eventfd read that lets other threads wake the loop.
  func armWakeup() {
    let userData = unsafe table.insert(
      InFlight(
        opcode: .read, waiter: .wakeup, retained: (nil, nil),
        createsDescriptor: false, armed: true, cancellation: nil))
    // SAFETY: `wakeupBuffer` lives until the loop's `deinit`, which runs only
    // after `finish()` has reaped this read's final CQE.
    let buffer = unsafe UnsafeMutableRawBufferPointer(start: wakeupBuffer, count: 8)
    unsafe ring!.prepare(.read(fd: remote.eventFD, buffer: buffer, offset: nil), userData: userData)
    wakeupArmed = true
  }
}
