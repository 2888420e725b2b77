/// Memory the reactor can lend to the kernel.
///
/// Ownership: an operation that uses a `BackingMemory` holds a strong reference
/// to it in the reactor's in-flight table from before its SQE is prepared until
/// its final CQE, however the awaiting task ends (completed, errored,
/// cancelled, or the reactor shut down). So the memory's address stays valid
/// for as long as the kernel may touch it.
///
/// Thread-safety: conformers are `Sendable`; concurrent user access and kernel
/// access are arbitrated by ``beginKernelAccess(_:)`` and ``endKernelAccess(_:)``.
public protocol BackingMemory: AnyObject, Sendable {
  /// The memory's address and size; stable for the object's lifetime.
  @unsafe
  var unsafeRegion: UnsafeMutableRawBufferPointer { get }

  /// Called on the loop thread before an operation's SQE is prepared. Throws
  /// (and the operation is not submitted) if the access conflicts with another
  /// one: the kernel may not write memory that anyone else reads or writes.
  func beginKernelAccess(_ access: KernelAccess) throws(MemoryAccessError)

  /// Called once the operation's final CQE has been reaped.
  func endKernelAccess(_ access: KernelAccess)
}

/// How the kernel uses lent memory.
public enum KernelAccess: Sendable, Hashable {
  /// The kernel reads it (a write to a file or socket).
  case read
  /// The kernel writes it (a read from a file or socket).
  case write
}

/// User access refused while the kernel may use the memory.
public struct MemoryAccessError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Reason: Sendable, Hashable {
    /// The kernel may be writing the memory (a read is in flight into it).
    case kernelWriting
    /// The kernel reads the memory (a write is in flight from it).
    case kernelReading
  }

  public var reason: Reason

  public init(_ reason: Reason) { self.reason = reason }

  public var description: String {
    switch reason {
    case .kernelWriting:
      "the kernel may be writing this memory: wait for the operation that reads into it"
    case .kernelReading:
      "the kernel is reading this memory: it cannot be modified until the operation completes"
    }
  }
}
