import Glibc
import Uring

extension File {
  /// Moves up to `count` bytes from this file to `output` inside the kernel,
  /// with no copy through user memory (`IORING_OP_SPLICE`, like
  /// `splice(2)`); returns how many bytes moved (0 at end of input).
  ///
  /// One of the two must be a pipe (wrap pipe descriptors with
  /// ``init(adopting:path:on:)``). An offset applies to a file that is not a
  /// pipe: `nil` uses and advances its position; a pipe's offset must be
  /// `nil`.
  ///
  /// Ownership: both files are retained by the in-flight slot until the
  /// final CQE, so neither descriptor can be closed under the kernel.
  ///
  /// Thread-safety: call from any task; both files must belong to the same
  /// reactor. Cancellation: a splice blocked on a pipe is cancelled
  /// (`IORING_OP_ASYNC_CANCEL`); the call returns after its CQE, throwing
  /// ``IOError/Kind/cancelled`` unless bytes moved first.
  ///
  /// - Throws: ``IOError/Kind/invalidRequest(_:)`` before submitting for an
  ///   offset past `Int64.max` (which the kernel would take for "the file
  ///   position"; the error carries the path of the file it belongs to),
  ///   `EINVAL` if neither is a pipe or the offsets are wrong, `EBADF`,
  ///   ``IOError/Kind/cancelled``. `O_DIRECT` alignment is left to the
  ///   kernel: no user memory is involved.
  nonisolated(nonsending) public func splice(
    count: Int, from offset: UInt64? = nil, to output: File, at outputOffset: UInt64? = nil,
    moreComing: Bool = false
  ) async throws(IOError) -> Int {
    guard output.reactor === reactor else {
      throw IOError(
        .invalidRequest("splice between files of different reactors"), operation: .splice,
        path: path)
    }
    let length = UInt32(clamping: min(max(count, 0), File.maximumTransfer))
    // SPLICE_F_MOVE is a hint; SPLICE_F_MORE tells a socket more data follows.
    let flags: UInt32 = 0x01 | (moreComing ? 0x04 : 0)
    return try await reactor.onLoop { loop throws(IOError) -> Int in
      let input = unsafe try self.transferDescriptor(for: .splice, at: offset, .none)
      let destination = unsafe try output.transferDescriptor(for: .splice, at: outputOffset, .none)
      // Both offsets are at most Int64.max (checked): -1 only for `nil`.
      let outcome = unsafe await loop.perform(
        .splice(
          input: input, inputOffset: offset.map { Int64($0) } ?? -1,
          output: destination, outputOffset: outputOffset.map { Int64($0) } ?? -1,
          count: length, flags: flags),
        retaining: (self, output))
      return Int(try outcome.value(.splice, path: self.path))
    }
  }
}
