import Glibc
public import SystemPackage
public import Uring

/// Why registering, lending or unregistering fixed buffers failed.
public struct RegisteredBufferError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong.
  public enum Kind: Sendable, Hashable {
    /// `count` must be in `1...Ring.maximumRegisteredBuffers` and `bufferSize`
    /// in `1...Ring.maximumRegisteredBufferSize`.
    case invalidLayout(count: Int, bufferSize: Int)
    /// The reactor's ring already has a registered buffer set: the kernel keeps
    /// one per ring (`EBUSY`). Unregister the other pool first.
    case alreadyRegistered
    /// Unregistering was refused: buffers are lent out (some possibly in
    /// flight). Every ``RegisteredBuffer`` must be released first.
    case buffersInUse(lent: Int)
    /// The pool has been unregistered: it lends nothing and cannot be
    /// unregistered again.
    case notRegistered
    /// The task waiting in ``RegisteredBufferPool/next()`` was cancelled.
    case cancelled
    /// The reactor has shut down (its ring is gone).
    case reactorShutDown
    /// The memory could not be mapped (`mmap` failed with this errno).
    case allocationFailed(Errno)
    /// The kernel refused the registration or unregistration.
    case kernel(RingRegistrationError)
  }

  /// What went wrong.
  public var kind: Kind

  /// An error of `kind`.
  public init(_ kind: Kind) { self.kind = kind }

  /// What went wrong and what to do, in one sentence.
  public var description: String {
    switch kind {
    case .invalidLayout(let count, let size):
      "invalid registered buffer layout: \(count) buffers of \(size) bytes "
        + "(1...\(Ring.maximumRegisteredBuffers) buffers of 1...\(Ring.maximumRegisteredBufferSize) bytes)"
    case .alreadyRegistered:
      "the ring already has a registered buffer set (the kernel allows one per ring)"
    case .buffersInUse(let lent):
      "\(lent) registered buffer(s) still lent out: release them before unregistering"
    case .notRegistered:
      "the registered buffer pool was unregistered"
    case .cancelled:
      "cancelled while waiting for a registered buffer"
    case .reactorShutDown:
      "the reactor shut down"
    case .allocationFailed(let errno):
      "could not map registered buffer memory: \(errno)"
    case .kernel(let error):
      "\(error)"
    }
  }
}
