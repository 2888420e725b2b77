import Glibc
import Uring

extension File {
  /// Reads up to `buffer.capacity` bytes at `offset` (`nil`: the file
  /// position) into the start of a registered buffer with
  /// `IORING_OP_READ_FIXED`, and hands the lease back with the result.
  ///
  /// On success the lease's `count` is the number of bytes read, which the
  /// result also carries (0 at end of file); on failure `count` is 0.
  ///
  /// Only a ``RegisteredBuffer`` is accepted: its type proves the memory is
  /// registered with a ring. It must be the ring of this file's reactor;
  /// otherwise nothing is submitted and the result is `EINVAL`. An offset
  /// past `Int64.max`, or a buffer or offset that does not fit the file's
  /// ``File/directIO`` alignment, is refused before submitting, with
  /// ``IOError/Kind/invalidRequest(_:)``.
  ///
  /// Ownership: the lease is consumed, so the buffer stays lent (its pool
  /// cannot be unregistered) until the lease comes back, after the
  /// operation's final CQE. The pool (and so the buffer's memory) is retained
  /// by the reactor's in-flight slot until that CQE.
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
    await readFixed(into: buffer, at: offset, through: nil)
  }

  /// Writes a registered buffer's filled bytes (`0..<buffer.count`) at
  /// `offset` (`nil`: the file position) with `IORING_OP_WRITE_FIXED`, and
  /// hands the lease back with the bytes written (possibly fewer) or the
  /// error. The lease's bytes and `count` are unchanged.
  ///
  /// Requirements, ownership, thread-safety and cancellation: as
  /// ``readFixed(into:at:)``; the kernel only reads the buffer.
  nonisolated(nonsending) public func writeFixed(
    from buffer: consuming RegisteredBuffer,
    at offset: UInt64? = nil
  ) async -> IOResult<RegisteredBuffer> {
    await writeFixed(from: buffer, at: offset, through: nil)
  }

  /// ``readFixed(into:at:)``, through `registered`'s table slot if given.
  nonisolated(nonsending) func readFixed(
    into buffer: consuming RegisteredBuffer, at offset: UInt64?, through registered: RegisteredFile?
  ) async -> IOResult<RegisteredBuffer> {
    let result = await fixed(
      .readFixed, pool: buffer.pool, index: buffer.index, count: 0, offset: offset,
      through: registered)
    if case .success(let count) = result {
      buffer.count = count
    } else {
      buffer.count = 0
    }
    return IOResult(buffer: buffer, result: result)
  }

  /// ``writeFixed(from:at:)``, through `registered`'s table slot if given.
  nonisolated(nonsending) func writeFixed(
    from buffer: consuming RegisteredBuffer, at offset: UInt64?, through registered: RegisteredFile?
  ) async -> IOResult<RegisteredBuffer> {
    let result = await fixed(
      .writeFixed, pool: buffer.pool, index: buffer.index, count: buffer.count, offset: offset,
      through: registered)
    return IOResult(buffer: buffer, result: result)
  }

  /// Runs one fixed operation on buffer `index` of `pool`: a read into its
  /// whole capacity, or a write of its first `count` bytes. The caller holds
  /// the lease throughout, so the buffer stays lent and registered.
  ///
  /// `registered`: submit through that handle's fixed file table slot
  /// (`IOSQE_FIXED_FILE`) instead of the descriptor; the in-flight slot then
  /// retains the handle (its table slot and this file) instead of the file.
  nonisolated(nonsending) private func fixed(
    _ opcode: Opcode, pool: RegisteredBufferPool, index: UInt16, count: Int, offset: UInt64?,
    through registered: RegisteredFile?
  ) async -> Result<Int, IOError> {
    guard pool.reactor === reactor else {
      // Its index names a buffer of another ring (or none) here.
      return .failure(IOError(.system(.invalidArgument), operation: opcode, path: path))
    }
    return await reactor.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        // SAFETY: the in-flight slot retains `pool` (its mapping) and the file
        // (or its registered handle, which holds the file and its table slot)
        // until the final CQE; the caller holds the lease until then, so the
        // buffer stays registered and no user code can touch it.
        let whole = unsafe pool.region(index)
        let isRead = opcode == .readFixed
        let region =
          isRead ? unsafe whole : unsafe UnsafeMutableRawBufferPointer(rebasing: whole[..<count])
        let fd: CInt
        if let registered {
          unsafe try self.checkTransfer(for: opcode, at: offset, unsafe .region(region))
          fd = registered.index
        } else {
          fd = unsafe try self.transferDescriptor(for: opcode, at: offset, unsafe .region(region))
        }
        let operation: RingOperation =
          isRead
          ? unsafe .readFixed(fd: fd, buffer: region, offset: offset, index: index)
          : unsafe .writeFixed(
            fd: fd, buffer: UnsafeRawBufferPointer(region), offset: offset, index: index)
        let holder: AnyObject = registered ?? self
        let outcome = unsafe await loop.perform(
          operation, retaining: (pool, holder),
          registration: isRead ? .lazy : .eager, flags: registered == nil ? [] : .fixedFile)
        return .success(Int(try outcome.value(opcode, path: self.path)))
      } catch {
        return .failure(error)
      }
    }
  }
}
