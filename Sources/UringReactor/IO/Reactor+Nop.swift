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
      try await loop.perform(.nop, cancellable: false).value(.nop)
    }
  }
}
