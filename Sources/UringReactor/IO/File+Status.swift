import Glibc
import Uring

extension File {
  /// The file's status (`IORING_OP_STATX` on the descriptor, with
  /// `AT_EMPTY_PATH`): type, size, permissions, owner, times, and the
  /// `O_DIRECT` alignment where the file system reports it.
  ///
  /// Ownership: the 256-byte `statx` buffer the kernel writes is retained by
  /// the reactor's in-flight slot (with this file) until the final CQE and
  /// decoded only after it.
  ///
  /// Thread-safety: call from any task. Cancellation: a cancelled task's
  /// request is cancelled (`IORING_OP_ASYNC_CANCEL`) and the call throws
  /// ``IOError/Kind/cancelled`` once its CQE arrived.
  nonisolated(nonsending) public func status() async throws(IOError) -> FileStatus {
    let request = StatxRequest(path: "")
    return try await reactor.onLoop { loop throws(IOError) in
      let fd = try self.liveDescriptor(for: .statx)
      let outcome = unsafe await loop.perform(
        .statx(
          directory: fd, path: request.path.pointer, flags: File.emptyPathFlag,
          mask: StatxRequest.mask, buffer: request.buffer),
        retaining: (request, self))
      _ = try outcome.value(.statx, path: self.path)
      return request.status()
    }
  }

  /// `AT_EMPTY_PATH`: operate on the descriptor itself.
  static let emptyPathFlag: CInt = 0x1000
}
