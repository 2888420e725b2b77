import Uring

extension EventLoop {
  /// How many operations one job may complete inline in a row before it
  /// suspends like any other, so a task reading in a loop cannot keep the
  /// loop from the rest of its work.
  static let inlineBudgetPerJob = 32

  /// Whether the running job may submit its operation at once and take the
  /// completion without suspending: nothing else is waiting to run, so
  /// batching its SQE with later ones would gain nothing.
  var mayCompleteInline: Bool {
    unsafe inlineBudget > 0 && ready.isEmpty && runQueue.count == 0 && !resumingWaiters
      && !remote.hasPending
      && outbox.isEmpty && !timers.needsReconcile
  }

  /// Arms `submission` with no waiter yet (`.registering`), submits it and
  /// handles every completion the submission produced. Returns the outcome
  /// if the operation's final CQE came (its slot is freed: the kernel is done
  /// with the memory); `nil` if it is still in flight, in
  /// which case its task waits for the same slot (`wait(_:nil:_:)`), after
  /// registering its cancellation handler if it has one
  /// (`awaitRegistered(_:armed: nil)`), exactly as after a lazy arm.
  ///
  /// Loop thread only, from a running job (rule 5). Rule 1 and rule 2 hold
  /// as for any operation: the slot retains the memory until the final CQE.
  func completeInline(_ userData: UInt64, _ submission: Submission) -> OperationOutcome? {
    unsafe inlineBudget -= 1
    // A fresh slot has no cancellation yet (no handler could have asked for
    // one), so `arm` prepares the SQE.
    arm(userData, submission, .registering)
    unsafe ring!.submitAndFlushCompletions()
    handleCompletions()
    let finished = unsafe table.withEntry(userData) { entry -> OperationOutcome? in
      if case .finished(let outcome) = entry.waiter { return outcome }
      return nil
    }
    guard let outcome = finished ?? nil else { return nil }
    unsafe statistics.inlineCompletions += 1
    _ = unsafe table.remove(userData)
    return outcome
  }
}
