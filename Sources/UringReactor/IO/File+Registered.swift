import Uring

/// A ``File`` whose descriptor sits in its reactor's fixed file table
/// (``RegisteredFileTable``): its operations submit with `IOSQE_FIXED_FILE`
/// and the slot ``index`` instead of the descriptor.
///
/// - Ownership: holds the ``File`` and its table. The table holds the
///   kernel's own reference to the open file: operations through the slot
///   keep working after ``File/close()`` closes the descriptor, until the
///   slot is emptied. Every operation retains this handle in the
///   reactor's in-flight slot until its final CQE; the table slot is emptied
///   only after the handle is gone, so never under an operation.
/// - Thread-safety: `Sendable`; call from any task.
/// - Cancellation: as the ``File`` operations: `IORING_OP_ASYNC_CANCEL`,
///   then the call returns after the CQE.
public final class RegisteredFile: Sendable {
  /// The file whose descriptor is registered.
  public let file: File
  /// Its slot in the table.
  public let index: Int32
  let table: RegisteredFileTable

  init(file: File, index: Int32, table: RegisteredFileTable) {
    self.file = file
    self.index = index
    self.table = table
  }

  deinit {
    table.release(index)
  }

  /// Reads up to `buffer.capacity` bytes at `offset` (`nil`: the file
  /// position) into `buffer` (`IORING_OP_READ` with `IOSQE_FIXED_FILE`) and
  /// sets its `count`, which it returns. Lending rules: as
  /// ``File/read(into:at:)-(SharedBuffer,_)``.
  nonisolated(nonsending) public func read(into buffer: SharedBuffer, at offset: UInt64? = nil)
    async throws(IOError) -> Int
  {
    try await file.reactor.onLoop { loop throws(IOError) -> Int in
      let region = unsafe UnsafeMutableRawBufferPointer(
        rebasing: buffer.unsafeRegion[..<min(buffer.capacity, File.maximumTransfer)])
      unsafe try self.file.checkTransfer(for: .read, at: offset, .region(region))
      try self.file.lendMemory(buffer, .write, for: .read)
      // SAFETY: the in-flight slot retains the buffer and this handle (its
      // table slot and file) until the final CQE.
      let outcome = unsafe await loop.perform(
        .read(fd: self.index, buffer: region, offset: offset), retaining: (buffer, self),
        registration: .lazy, flags: .fixedFile)
      buffer.endKernelAccess(.write)
      let count = Int(try outcome.value(.read, path: self.file.path))
      buffer.setCount(count)
      return count
    }
  }

  /// Writes the buffer's filled bytes at `offset` (`nil`: the file
  /// position) with `IORING_OP_WRITE` and `IOSQE_FIXED_FILE`; returns the
  /// bytes written. Lending rules: as ``File/write(from:at:)-(SharedBuffer,_)``.
  nonisolated(nonsending) public func write(from buffer: SharedBuffer, at offset: UInt64? = nil)
    async throws(IOError)
    -> Int
  {
    try await file.reactor.onLoop { loop throws(IOError) -> Int in
      let count = min(buffer.count, File.maximumTransfer)
      let region = unsafe UnsafeMutableRawBufferPointer(rebasing: buffer.unsafeRegion[..<count])
      unsafe try self.file.checkTransfer(for: .write, at: offset, .region(region))
      try self.file.lendMemory(buffer, .read, for: .write)
      // SAFETY: as in `read(into:at:)`; the kernel only reads the buffer.
      let outcome = unsafe await loop.perform(
        .write(fd: self.index, buffer: UnsafeRawBufferPointer(region), offset: offset),
        retaining: (buffer, self), flags: .fixedFile)
      buffer.endKernelAccess(.read)
      return Int(try outcome.value(.write, path: self.file.path))
    }
  }
}
