import Uring

/// A prepared operation on its way to the loop thread.
struct PendingOperation: @unchecked Sendable {
  // SAFETY: the pointers inside point into memory kept alive by `retained`
  // (Sendable objects), and the operation is encoded into an SQE only on the
  // loop thread.
  let operation: RingOperation
  let retained: ((any AnyObject & Sendable)?, (any AnyObject & Sendable)?)
  let createsDescriptor: Bool
}

extension Reactor {
  /// Runs `operation` on the loop thread and waits for its final completion.
  ///
  /// On the loop thread (a task preferring the reactor, or an actor pinned to
  /// it) this prepares the SQE directly: no lock, no syscall, no hop. Elsewhere
  /// it hops to the loop with a task-executor preference and back, which costs
  /// two thread hand-offs: I/O-heavy code should run on the reactor.
  nonisolated(nonsending) func execute(
    _ operation: RingOperation,
    retaining first: (any AnyObject & Sendable)? = nil,
    _ second: (any AnyObject & Sendable)? = nil,
    createsDescriptor: Bool = false
  ) async -> OperationOutcome {
    if loop.ownsLoopState {
      return await loop.perform(
        operation, retaining: (first, second), createsDescriptor: createsDescriptor)
    }
    let pending = PendingOperation(
      operation: operation, retained: (first, second), createsDescriptor: createsDescriptor)
    return await withTaskExecutorPreference(self) {
      await self.performOnLoop(pending)
    }
  }

  /// Runs on the generic executor, which under the preference set by
  /// `execute` is this reactor: so on the loop thread.
  @concurrent
  private func performOnLoop(_ pending: PendingOperation) async -> OperationOutcome {
    await loop.perform(
      pending.operation, retaining: pending.retained,
      createsDescriptor: pending.createsDescriptor)
  }
}
