import Glibc
import Uring

extension File {
  /// Reads until `buffer` is full or the file ends, looping over short reads
  /// (one `IORING_OP_READ` each), into the buffer from its start; returns the
  /// bytes read, which is also the buffer's new `count`. Fewer than
  /// `buffer.capacity` means the file ended.
  ///
  /// `offset` is where the first byte comes from; `nil` reads from the file
  /// position and advances it.
  ///
  /// Ownership: the buffer is lent to the kernel (user access refused) from
  /// the first read's submission to the last read's CQE, and retained by
  /// each read's in-flight slot until its CQE.
  ///
  /// Thread-safety: call from any task. Cancellation: the read in flight is
  /// cancelled (`IORING_OP_ASYNC_CANCEL`) and the call throws
  /// ``IOError/Kind/cancelled`` after its CQE; no later read is submitted.
  /// On any failure the buffer's `count` says how many bytes arrived first.
  @discardableResult
  nonisolated(nonsending) public func readAll(into buffer: SharedBuffer, at offset: UInt64? = nil)
    async throws(IOError)
    -> Int
  {
    try await reactor.onLoop { loop throws(IOError) -> Int in
      try self.checkOffset(offset, for: .read)
      try self.lendMemory(buffer, .write, for: .read)
      var progress = 0
      defer {
        buffer.endKernelAccess(.write)
        buffer.setCount(progress)
      }
      unsafe try await self.transferAll(
        read: true, buffer.unsafeRegion, at: offset, retaining: buffer, on: loop,
        progress: &progress)
      return progress
    }
  }

  /// Writes all of the buffer's filled bytes (`0..<buffer.count`), looping
  /// over short writes (one `IORING_OP_WRITE` each).
  ///
  /// `offset` is where the first byte goes; `nil` writes at the file
  /// position (or the end, with `O_APPEND`) and advances it.
  ///
  /// Ownership: the kernel only reads the buffer: user writes to it are
  /// refused until the last write's CQE; each write's in-flight slot retains
  /// it until its CQE.
  ///
  /// Thread-safety: call from any task. Cancellation: as
  /// ``readAll(into:at:)->Int``; the bytes of writes that completed before stay
  /// written.
  nonisolated(nonsending) public func writeAll(from buffer: SharedBuffer, at offset: UInt64? = nil)
    async throws(IOError)
  {
    try await reactor.onLoop { loop throws(IOError) in
      try self.checkOffset(offset, for: .write)
      let count = buffer.count
      try self.lendMemory(buffer, .read, for: .write)
      defer { buffer.endKernelAccess(.read) }
      var progress = 0
      unsafe try await self.transferAll(
        read: false, UnsafeMutableRawBufferPointer(rebasing: buffer.unsafeRegion[..<count]),
        at: offset, retaining: buffer, on: loop, progress: &progress)
    }
  }

  /// Reads until the buffer's capacity is full or the file ends, and hands
  /// the buffer back with its `count` set to the bytes read (also the
  /// result). Short reads are looped over; on failure the result carries
  /// the error and `count` the bytes that arrived first.
  ///
  /// Ownership: the buffer is consumed until the last CQE (as
  /// ``read(into:at:)-(OwnedBuffer,_)``). Thread-safety and cancellation: as
  /// ``readAll(into:at:)->Int``.
  nonisolated(nonsending) public func readAll(
    into buffer: consuming OwnedBuffer, at offset: UInt64? = nil
  ) async -> IOResult<OwnedBuffer> {
    let storage = buffer.storage
    let (count, error) = await ownedTransfer(read: true, storage, count: storage.capacity, offset)
    buffer.count = count
    return IOResult(buffer: buffer, result: error.map { .failure($0) } ?? .success(count))
  }

  /// Writes all of the buffer's filled bytes, looping over short writes, and
  /// hands the buffer back (bytes and `count` unchanged) with the bytes
  /// written or the error.
  ///
  /// Ownership, thread-safety and cancellation: as
  /// ``readAll(into:at:)-(OwnedBuffer,_)``; the kernel only reads the buffer.
  nonisolated(nonsending) public func writeAll(
    from buffer: consuming OwnedBuffer, at offset: UInt64? = nil
  ) async -> IOResult<OwnedBuffer> {
    let storage = buffer.storage
    let (count, error) = await ownedTransfer(read: false, storage, count: buffer.count, offset)
    return IOResult(buffer: buffer, result: error.map { .failure($0) } ?? .success(count))
  }

  /// Writes `bytes` (copied once into a page-aligned buffer), looping over
  /// short writes. As ``writeAll(from:at:)-(SharedBuffer,_)``.
  nonisolated(nonsending) public func writeAll(
    contentsOf bytes: some Collection<UInt8>, at offset: UInt64? = nil
  )
    async throws(IOError)
  {
    try await writeAll(from: SharedBuffer(bytes), at: offset)
  }

  /// Reads from `offset` to the end of the file into a new array, in reads
  /// of up to `chunkSize` bytes.
  ///
  /// - Throws: ``IOError/Kind/invalidRequest(_:)`` when the file holds more
  ///   than `limit` bytes (nothing beyond the limit is kept); the errors of
  ///   ``readAll(into:at:)->Int``.
  nonisolated(nonsending) public func readToEnd(
    from offset: UInt64 = 0, limit: Int = 1 << 30, chunkSize: Int = 1 << 20
  ) async throws(IOError) -> [UInt8] {
    var result: [UInt8] = []
    let buffer = SharedBuffer(capacity: max(4096, min(chunkSize, limit + 1)))
    var position = offset
    while true {
      let count = try await readAll(into: buffer, at: position)
      guard count > 0 else { return result }
      guard result.count + count <= limit else {
        throw IOError(
          .invalidRequest("the file holds more than \(limit) bytes from offset \(offset)"),
          operation: .read, path: path)
      }
      // SAFETY: `readAll` returned: the kernel is done with the buffer, and
      // it is this call's alone.
      unsafe result.append(
        contentsOf: UnsafeRawBufferPointer(rebasing: buffer.unsafeRegion[..<count]))
      position += UInt64(count)
      if count < buffer.capacity { return result }
    }
  }

  nonisolated(nonsending) private func ownedTransfer(
    read: Bool, _ storage: OwnedBufferStorage, count: Int, _ offset: UInt64?
  ) async -> (Int, IOError?) {
    await reactor.onLoop { loop throws(Never) -> (Int, IOError?) in
      var progress = 0
      do throws(IOError) {
        try self.checkOffset(offset, for: read ? .read : .write)
        unsafe try await self.transferAll(
          read: read, UnsafeMutableRawBufferPointer(rebasing: storage.region[..<count]),
          at: offset, retaining: storage, on: loop, progress: &progress)
        return (progress, nil)
      } catch {
        return (progress, error)
      }
    }
  }

  /// The loop: one read or write at a time over the rest of `region` until
  /// it is done (or, for reads, the file ends). Loop thread only; `progress`
  /// counts the bytes moved so far, also when it throws.
  nonisolated(nonsending) func transferAll(
    read: Bool, _ region: UnsafeMutableRawBufferPointer, at offset: UInt64?,
    retaining memory: AnyObject, on loop: EventLoop, progress: inout Int
  ) async throws(IOError) {
    let opcode: Opcode = read ? .read : .write
    while progress < region.count {
      let fd = try liveDescriptor(for: opcode)
      let end = min(region.count, progress + File.maximumTransfer)
      let rest = unsafe UnsafeMutableRawBufferPointer(rebasing: region[progress..<end])
      let position = offset.map { $0 + UInt64(progress) }
      unsafe try checkDirectIO(rest, offset: position, for: opcode)
      // SAFETY: `rest` lies in memory that `memory` owns; the in-flight slot
      // retains `memory` (and this file) until the final CQE.
      let operation: RingOperation =
        unsafe read
        ? .read(fd: fd, buffer: rest, offset: position)
        : .write(fd: fd, buffer: UnsafeRawBufferPointer(rest), offset: position)
      let outcome = unsafe await loop.perform(
        operation, retaining: (memory, self), registration: read ? .lazy : .eager)
      let count = Int(try outcome.value(opcode, path: path))
      if count == 0 {
        if read { return }  // end of file
        // A write that moves nothing would loop forever.
        throw IOError(.system(.ioError), operation: opcode, path: path)
      }
      progress += count
    }
  }
}
