import Glibc
import Uring

/// An access pattern announced with ``File/advise(_:offset:length:)``
/// (`posix_fadvise(2)` advice).
public enum FileAdvice: Sendable, Hashable {
  /// `POSIX_FADV_NORMAL`: no particular pattern.
  case normal
  /// `POSIX_FADV_SEQUENTIAL`: read front to back (more read-ahead).
  case sequential
  /// `POSIX_FADV_RANDOM`: random access (no read-ahead).
  case random
  /// `POSIX_FADV_WILLNEED`: start reading the range into the page cache.
  case willNeed
  /// `POSIX_FADV_DONTNEED`: drop the range's clean pages from the cache.
  case dontNeed
  /// `POSIX_FADV_NOREUSE`: the data is used once.
  case noReuse

  var rawValue: CInt {
    switch self {
    case .normal: 0
    case .random: 1
    case .sequential: 2
    case .willNeed: 3
    case .dontNeed: 4
    case .noReuse: 5
    }
  }
}

extension File {
  /// Tells the kernel how the range `offset..<offset+length` will be used
  /// (`IORING_OP_FADVISE`). A `length` of 0 means "to the end of the file".
  /// Advice is a hint: it changes caching, never results.
  ///
  /// Thread-safety: call from any task. Cancellation: as ``sync()``.
  nonisolated(nonsending) public func advise(
    _ advice: FileAdvice, offset: UInt64 = 0, length: UInt32 = 0
  )
    async throws(IOError)
  {
    try await reactor.onLoop { loop throws(IOError) in
      let fd = try self.liveDescriptor(for: .fadvise)
      let outcome = unsafe await loop.perform(
        .fadvise(fd: fd, offset: offset, length: length, advice: advice.rawValue),
        retaining: (self, nil))
      _ = try outcome.value(.fadvise, path: self.path)
    }
  }
}
