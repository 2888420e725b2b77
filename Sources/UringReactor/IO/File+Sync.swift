import Glibc
import Uring

extension File {
  /// Flushes the file's data and metadata to stable storage
  /// (`IORING_OP_FSYNC`, like `fsync(2)`).
  ///
  /// Ordering: io_uring does not order this after writes still in flight;
  /// await the writes first (a ``FileWriter`` does in ``FileWriter/finish()``).
  ///
  /// Thread-safety: call from any task. Cancellation: the request is
  /// cancelled if the kernel has not started it; the call returns after its
  /// CQE, throwing ``IOError/Kind/cancelled`` unless it completed.
  nonisolated(nonsending) public func sync() async throws(IOError) {
    try await fsync(flags: 0)
  }

  /// Flushes the file's data, and only the metadata needed to read it back
  /// (`IORING_OP_FSYNC` with `IORING_FSYNC_DATASYNC`, like `fdatasync(2)`).
  ///
  /// Ordering, thread-safety and cancellation: as ``sync()``.
  nonisolated(nonsending) public func dataSync() async throws(IOError) {
    try await fsync(flags: 1)  // IORING_FSYNC_DATASYNC
  }

  private func fsync(flags: UInt32) async throws(IOError) {
    try await reactor.onLoop { loop throws(IOError) in
      let fd = try self.liveDescriptor(for: .fsync)
      let outcome = unsafe await loop.perform(.fsync(fd: fd, flags: flags), retaining: (self, nil))
      _ = try outcome.value(.fsync, path: self.path)
    }
  }
}
