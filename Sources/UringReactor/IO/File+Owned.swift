import Glibc
import Uring

extension File {
  /// Reads up to `buffer.capacity` bytes at `offset` (`nil`: the file
  /// position) into the start of `buffer` with `IORING_OP_READ`, and hands
  /// the buffer back with the result.
  ///
  /// On success the buffer's `count` is the number of bytes read, which the
  /// result also carries (0 at end of file). On failure the result carries the
  /// error and `count` is 0. An offset past `Int64.max`, or a region or
  /// offset that does not fit the file's ``File/directIO`` alignment, is
  /// refused before anything is submitted, with
  /// ``IOError/Kind/invalidRequest(_:)``.
  ///
  /// Ownership: the buffer is consumed; its storage is retained by the
  /// reactor's in-flight slot until the operation's final CQE, and the buffer
  /// comes back only after that CQE, so the kernel can never write memory that
  /// was freed or that user code is reading.
  ///
  /// Thread-safety: call from any task; the SQE is prepared on the loop thread.
  ///
  /// Cancellation: a cancelled task's read is cancelled with
  /// `IORING_OP_ASYNC_CANCEL` (or never submitted); the buffer comes back after
  /// the CQE with ``IOError/Kind/cancelled`` in the result, or with the byte
  /// count if the read completed first. It never throws: every outcome is in
  /// the result.
  nonisolated(nonsending) public func read(
    into buffer: consuming OwnedBuffer,
    at offset: UInt64? = nil
  ) async -> IOResult<OwnedBuffer> {
    let storage = buffer.storage
    let result = await reactor.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        // SAFETY: the kernel writes `storage`'s bytes until the final CQE; the
        // in-flight slot retains `storage` (and the file) until then, and no
        // user can reach them: the buffer is consumed into this call.
        let count = min(storage.capacity, File.maximumTransfer)
        let region = unsafe OwnedOperation.region(of: storage, count: count)
        let fd = unsafe try self.transferDescriptor(for: .read, at: offset, .region(region))
        let outcome = await loop.perform(
          .read(fd, into: storage, count: count, at: offset, descriptorOwner: self),
          registration: .lazy)
        return .success(Int(try outcome.value(.read, path: self.path)))
      } catch {
        return .failure(error)
      }
    }
    if case .success(let count) = result {
      buffer.count = count
    } else {
      buffer.count = 0
    }
    return IOResult(buffer: buffer, result: result)
  }

  /// Writes the buffer's filled bytes (`0..<buffer.count`) at `offset` (`nil`:
  /// the file position) with `IORING_OP_WRITE`, and hands the buffer back
  /// with the result: the bytes written (possibly fewer than `count`) or the
  /// error. The buffer's bytes and `count` are unchanged either way. Offset
  /// and `O_DIRECT` checks: as the owned-buffer `read(into:at:)`.
  ///
  /// Ownership, thread-safety and cancellation: as the owned-buffer `read(into:at:)`;
  /// the kernel only reads the buffer.
  nonisolated(nonsending) public func write(
    from buffer: consuming OwnedBuffer,
    at offset: UInt64? = nil
  ) async -> IOResult<OwnedBuffer> {
    let storage = buffer.storage
    let count = min(buffer.count, File.maximumTransfer)
    let result = await reactor.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        // SAFETY: the kernel reads `storage`'s bytes until the final CQE; the
        // in-flight slot retains `storage` (and the file) until then.
        let region = unsafe OwnedOperation.region(of: storage, count: count)
        let fd = unsafe try self.transferDescriptor(for: .write, at: offset, .region(region))
        let outcome = await loop.perform(
          .write(fd, from: storage, count: count, at: offset, descriptorOwner: self))
        return .success(Int(try outcome.value(.write, path: self.path)))
      } catch {
        return .failure(error)
      }
    }
    return IOResult(buffer: buffer, result: result)
  }

  /// The most bytes one read or write transfers (the kernel's `MAX_RW_COUNT`,
  /// `INT_MAX` rounded down to a page); longer requests are shortened to it.
  static let maximumTransfer = 0x7FFF_F000
}
