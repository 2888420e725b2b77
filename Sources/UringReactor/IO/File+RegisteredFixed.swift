import Uring

extension RegisteredFile {
  /// Reads up to `buffer.capacity` bytes at `offset` (`nil`: the file
  /// position) into the start of a registered buffer, through this file's
  /// fixed table slot: `IORING_OP_READ_FIXED` with `IOSQE_FIXED_FILE`, so the
  /// kernel neither looks up the descriptor nor maps the buffer's pages for
  /// this read. It hands the lease back with the result.
  ///
  /// On success the lease's `count` is the number of bytes read, which the
  /// result also carries (0 at end of file); on failure `count` is 0.
  ///
  /// The buffer's pool must be registered with this file's reactor; otherwise
  /// nothing is submitted and the result is `EINVAL`. An offset past
  /// `Int64.max`, or a buffer or offset that does not fit the file's
  /// ``File/directIO`` alignment, is refused before submitting, with
  /// ``IOError/Kind/invalidRequest(_:)``.
  ///
  /// Ownership: the lease is consumed, so the buffer stays lent (its pool
  /// cannot be unregistered) until the lease comes back, after the
  /// operation's final CQE. The reactor's in-flight slot retains the pool
  /// (the buffer's memory) and this handle (its table slot, and so the open
  /// file) until that CQE.
  ///
  /// Thread-safety: call from any task; the SQE is prepared on the loop thread.
  ///
  /// Cancellation: a cancelled task's read is cancelled with
  /// `IORING_OP_ASYNC_CANCEL` (or never submitted); the lease comes back after
  /// the CQE with ``IOError/Kind/cancelled`` in the result, or with the byte
  /// count if the read completed first. It never throws.
  nonisolated(nonsending) public func readFixed(
    into buffer: consuming RegisteredBuffer,
    at offset: UInt64? = nil
  ) async -> IOResult<RegisteredBuffer> {
    await file.readFixed(into: buffer, at: offset, through: self)
  }

  /// Writes a registered buffer's filled bytes (`0..<buffer.count`) at
  /// `offset` (`nil`: the file position) through this file's fixed table
  /// slot (`IORING_OP_WRITE_FIXED` with `IOSQE_FIXED_FILE`), and hands the
  /// lease back with the bytes written (possibly fewer) or the error. The
  /// lease's bytes and `count` are unchanged.
  ///
  /// Requirements, ownership, thread-safety and cancellation: as
  /// ``readFixed(into:at:)``; the kernel only reads the buffer.
  nonisolated(nonsending) public func writeFixed(
    from buffer: consuming RegisteredBuffer,
    at offset: UInt64? = nil
  ) async -> IOResult<RegisteredBuffer> {
    await file.writeFixed(from: buffer, at: offset, through: self)
  }
}
