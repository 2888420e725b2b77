import Uring

extension Reactor {
  /// Submits `IORING_OP_NOP` and waits for its completion: one full trip
  /// through the ring, for measuring and testing the pipeline.
  ///
  /// Cancellation: a cancelled task gets ``IOError/Kind/cancelled`` if the
  /// nop had not completed. Thread-safety: call from anywhere; cheapest on the
  /// reactor's own thread.
  nonisolated(nonsending) public func nop() async throws(IOError) {
    _ = try await onLoop { loop throws(IOError) in
      try await loop.perform(.nop).value(.nop)
    }
  }
}
