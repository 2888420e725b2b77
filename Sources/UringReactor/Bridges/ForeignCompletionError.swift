public import SystemPackage

/// Why waiting for a foreign transfer (a C library or device working on lent
/// memory from its own thread) failed.
///
/// Whatever the kind, the call that throws it returned only once the foreign
/// side was done with the memory, except for ``Kind/eventFDFailed(_:)``, where
/// that can never be known and the memory is kept alive for good instead.
public struct ForeignCompletionError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Sendable, Hashable {
    /// The foreign side completed the transfer with this errno.
    case device(Errno)
    /// `start` threw this errno: the foreign side never took the memory.
    case startFailed(Errno)
    /// The calling task was cancelled. The foreign transfer cannot be
    /// cancelled by the reactor: the call waited until it completed (its
    /// result is in ``ForeignCompletionError/deviceResult``).
    case cancelled
    /// The reactor shut down before the transfer completed (or before it
    /// started). If it had started, the call still waited for it to complete.
    case reactorShutDown
    /// The memory could not be lent: the kernel or another foreign transfer
    /// uses it, or a user holds it.
    case memoryBusy(MemoryAccessError)
    /// Waiting for the eventfd failed with this errno (a bad descriptor, or
    /// one that is not an eventfd), so the transfer's end can never be seen.
    /// The memory is kept alive, and lent, for the rest of the process: the
    /// foreign side may still be using it.
    case eventFDFailed(Errno)
  }

  public var kind: Kind
  /// What the foreign side reported (bytes, or a negated errno) when it
  /// completed; `nil` if it never started or its end cannot be known.
  public var deviceResult: Int?

  public init(_ kind: Kind, deviceResult: Int? = nil) {
    self.kind = kind
    self.deviceResult = deviceResult
  }

  /// The errno: the foreign side's, or the one that stands for the kind.
  public var errno: Errno {
    switch kind {
    case .device(let errno), .startFailed(let errno), .eventFDFailed(let errno): errno
    case .cancelled, .reactorShutDown: .canceled
    case .memoryBusy: .resourceBusy
    }
  }

  public var description: String {
    switch kind {
    case .device(let errno): "foreign transfer failed: \(errno)"
    case .startFailed(let errno): "foreign transfer did not start: \(errno)"
    case .cancelled: "cancelled (after the foreign transfer completed)"
    case .reactorShutDown: "the reactor shut down"
    case .memoryBusy(let error): "foreign transfer not started: \(error)"
    case .eventFDFailed(let errno):
      "cannot wait for the foreign transfer's eventfd: \(errno); its memory is kept for good"
    }
  }
}
