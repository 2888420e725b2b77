import Uring

extension Reactor {
  /// Submits `IORING_OP_NOP` and waits for its completion: one full trip
  /// through the ring, for measuring and testing the pipeline.
  ///
  /// Cancellation: an already-cancelled task gets ``IOError/Kind/cancelled``
  /// and submits nothing; otherwise the nop completes within one loop
  /// iteration, so no cancellation handler is registered. Thread-safety: call
  /// from anywhere; cheapest on the reactor's own thread.
  nonisolated(nonsending) public func nop() async throws(IOError) {
    _ = try await onLoop { loop throws(IOError) in
      unsafe try await loop.perform(.nop, cancellable: false).value(.nop)
    }
  }

  /// `IORING_OP_NOP` linked to an `IORING_OP_LINK_TIMEOUT` at `deadline`: the
  /// smallest operation that shows the deadline machinery (a nop completes at
  /// once, so it times out only if `deadline` has already passed, in which case
  /// nothing is submitted and it throws ``IOError/Kind/timedOut``).
  nonisolated(nonsending) public func nop(deadline: ContinuousClock.Instant) async throws(IOError) {
    let limit = OperationDeadline(deadline)
    _ = try await onLoop { loop throws(IOError) in
      unsafe try await loop.perform(.nop, cancellable: false, deadline: limit).value(.nop)
    }
  }
}
