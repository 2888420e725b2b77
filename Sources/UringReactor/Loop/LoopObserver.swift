import Uring

/// Sees operations enter and leave the in-flight table, on the loop thread.
/// For tests and diagnostics: it is how tests prove that memory stays alive
/// until the final CQE without sleeping.
protocol LoopObserver: AnyObject {
  /// An SQE for `userData` was prepared.
  func prepared(_ userData: UInt64, opcode: Opcode)
  /// The final CQE for `userData` arrived; its slot (and what it retains) is
  /// released right after this returns.
  func completing(_ completion: Completion, opcode: Opcode)
}
