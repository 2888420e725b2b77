import Glibc
import Uring

extension SocketStream {
  /// Sends the buffer's filled bytes (`0..<buffer.count`) with one
  /// `IORING_OP_SEND` (`MSG_NOSIGNAL`); returns how many were sent, which may
  /// be fewer. User writes to the buffer are refused until the CQE.
  ///
  /// - Throws: ``IOError``: `EPIPE` (``IOError/isBrokenPipe``) or
  ///   `ECONNRESET` when the peer is gone.
  nonisolated(nonsending) public func write(from buffer: SharedBuffer) async throws(IOError) -> Int
  {
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      try await lend(CollectionOfOne(buffer), handle, for: .send) {
        () async throws(IOError) -> Int in
        let region = unsafe UnsafeRawBufferPointer(rebasing: buffer.unsafeRegion[..<buffer.count])
        return unsafe try await loop.send(region, once: true, retaining: buffer, handle: handle)
      }
    }
  }

  /// Sends all the buffer's filled bytes, with as many `IORING_OP_SEND`s as
  /// it takes.
  ///
  /// Cancellation: stops after the send in flight (whose CQE it awaits);
  /// some bytes may have been sent.
  nonisolated(nonsending) public func writeAll(from buffer: SharedBuffer) async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      _ = try await lend(CollectionOfOne(buffer), handle, for: .send) {
        () async throws(IOError) -> Int in
        let region = unsafe UnsafeRawBufferPointer(rebasing: buffer.unsafeRegion[..<buffer.count])
        return unsafe try await loop.send(region, once: false, retaining: buffer, handle: handle)
      }
    }
  }

  /// Sends the filled bytes (`0..<count`) of every buffer, in order, with
  /// one `IORING_OP_SENDMSG` (`MSG_NOSIGNAL`) gathering them all (an `iovec`
  /// per non-empty buffer), and as many more as it takes after a partial
  /// send, each resuming in the middle of a buffer where the last one
  /// stopped. Empty buffers are skipped; with no bytes at all, nothing is
  /// submitted.
  ///
  /// - Ownership: every buffer is lent to the kernel for the whole call:
  ///   user writes to it are refused (``MemoryAccessError``), user reads
  ///   stay allowed. The buffers and the `iovec` array that points into them
  ///   are held by one object which each send's in-flight slot retains until
  ///   its final CQE, whatever happens to the calling task (rule 1). The same
  ///   buffer may appear more than once.
  /// - Thread-safety: call from any task; the SQEs are prepared on the
  ///   stream's loop thread. Concurrent writes from other tasks may
  ///   interleave their bytes with these at a partial send.
  /// - Cancellation and deadlines: as ``writeAll(from:)-(SharedBuffer)``. A
  ///   cancelled task (or one past its ``IODeadline``) has the send in flight
  ///   cancelled (`IORING_OP_ASYNC_CANCEL`, or the linked timeout), awaits its
  ///   CQE, keeps the buffers lent until then, and throws
  ///   ``IOError/Kind/cancelled`` (``IOError/Kind/timedOut``); some bytes may
  ///   have been sent.
  /// - Throws: ``IOError`` with operation `.sendmsg`: `EPIPE`
  ///   (``IOError/isBrokenPipe``) or `ECONNRESET` when the peer is gone;
  ///   ``IOError/Kind/memoryBusy(_:)`` when a buffer is being written by the
  ///   kernel (nothing is sent then).
  nonisolated(nonsending) public func writeAll(from buffers: [SharedBuffer]) async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      try await lend(buffers, handle, for: .sendmsg) { () async throws(IOError) in
        let regions = unsafe buffers.map {
          unsafe UnsafeRawBufferPointer(rebasing: $0.unsafeRegion[..<$0.count])
        }
        let total = unsafe regions.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        // SAFETY: the box holds the buffers (lent until this returns, after
        // the last send's CQE) and the iovecs; each send's slot retains it.
        let box = unsafe MessageBox(gathering: regions, memory: buffers)
        _ = unsafe try await loop.sendRepeatedly(
          total, once: false, retaining: box, handle: handle, opcode: .sendmsg
        ) { fd, sent, flags in
          box.skip(to: sent)
          return unsafe .sendMessage(fd: fd, message: box.header, flags: UInt32(bitPattern: flags))
        }
      }
    }
  }

  /// Sends the buffer's filled bytes with one `IORING_OP_SEND` and hands the
  /// buffer back, with the bytes sent (possibly fewer) or the error, after
  /// the CQE.
  nonisolated(nonsending) public func write(from buffer: consuming OwnedBuffer) async -> IOResult<
    OwnedBuffer
  > {
    await send(buffer, once: true)
  }

  /// Sends all the buffer's filled bytes and hands the buffer back, with the
  /// byte count or the error, after the last CQE.
  nonisolated(nonsending) public func writeAll(from buffer: consuming OwnedBuffer) async
    -> IOResult<OwnedBuffer>
  {
    await send(buffer, once: false)
  }

  /// Sends received bytes, straight from the provided buffer they were
  /// received into (an echo copies nothing), then gives the buffer back to
  /// the ring, once the kernel has read it.
  nonisolated(nonsending) public func writeAll(_ bytes: consuming ReceivedBytes)
    async throws(IOError)
  {
    let (pool, chunk) = bytes.take()
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      // The buffer stays out of the ring until the last send's CQE.
      defer { pool.release(chunk.id) }
      _ = unsafe try await loop.send(
        pool.bytes(chunk.id, count: chunk.count), once: false, retaining: pool, handle: handle)
    }
  }

  /// Copies `bytes` into memory the reactor owns and sends them all. For
  /// bytes already in a ``SharedBuffer``, ``OwnedBuffer`` or
  /// ``ReceivedBytes``, use the variants that send them in place.
  nonisolated(nonsending) public func writeAll(copying bytes: some Collection<UInt8>)
    async throws(IOError)
  {
    let storage = OwnedBufferStorage(capacity: bytes.count)
    // SAFETY: fresh storage, not shared with anyone yet.
    unsafe storage.region.copyBytes(from: bytes)
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      _ = unsafe try await loop.send(
        UnsafeRawBufferPointer(storage.region), once: false, retaining: storage, handle: handle)
    }
  }

  nonisolated(nonsending) private func send(_ buffer: consuming OwnedBuffer, once: Bool) async
    -> IOResult<OwnedBuffer>
  {
    let storage = buffer.storage
    let count = buffer.count
    let handle = self.handle
    let result = await handle.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        // SAFETY: the kernel reads `storage` until the final CQE; the slot
        // retains it, and the consumed buffer keeps users out.
        let region = unsafe UnsafeRawBufferPointer(rebasing: storage.region[..<count])
        return unsafe .success(
          try await loop.send(region, once: once, retaining: storage, handle: handle))
      } catch {
        return .failure(error)
      }
    }
    return IOResult(buffer: buffer, result: result)
  }
}

/// Lends `buffers` for the kernel to read during `body` (all of them, or
/// none: a busy one throws `operation`'s ``IOError/Kind/memoryBusy(_:)``).
nonisolated(nonsending) private func lend<R>(
  _ buffers: some Collection<SharedBuffer>, _ handle: SocketHandle, for operation: Opcode,
  _ body: () async throws(IOError) -> R
) async throws(IOError) -> R {
  var lent = 0
  defer { for buffer in buffers.prefix(lent) { buffer.endKernelAccess(.read) } }
  for buffer in buffers {
    do throws(MemoryAccessError) {
      try buffer.beginKernelAccess(.read)
    } catch {
      throw handle.error(.memoryBusy(error), operation)
    }
    lent += 1
  }
  return try await body()
}

extension EventLoop {
  /// Sends `region` (`IORING_OP_SEND`, `MSG_NOSIGNAL`): once, or until every
  /// byte is sent. `memory` (which owns `region`) and the socket are
  /// retained by each send's slot. Returns the bytes sent. Loop thread.
  nonisolated(nonsending) func send(
    _ region: UnsafeRawBufferPointer, once: Bool, retaining memory: AnyObject,
    handle: SocketHandle
  ) async throws(IOError) -> Int {
    unsafe try await sendRepeatedly(
      region.count, once: once, retaining: memory, handle: handle, opcode: .send
    ) { fd, sent, flags in
      unsafe .send(fd: fd, buffer: UnsafeRawBufferPointer(rebasing: region[sent...]), flags: flags)
    }
  }

  /// Sends `total` bytes with the sends `operation` makes (given the
  /// descriptor, the bytes sent so far and the flags: `MSG_NOSIGNAL`, maybe
  /// `MSG_DONTWAIT`): once, or until every byte is sent. `memory` (which owns
  /// what the operations point at) and the socket are retained by each
  /// send's slot. Returns the bytes sent. Loop thread.
  nonisolated(nonsending) func sendRepeatedly(
    _ total: Int, once: Bool, retaining memory: AnyObject, handle: SocketHandle, opcode: Opcode,
    _ operation: (_ fd: CInt, _ sent: Int, _ flags: CInt) -> RingOperation
  ) async throws(IOError) -> Int {
    var sent = 0
    var mayBlock = false
    while true {
      let fd = try handle.liveDescriptor(for: opcode)
      let outcome: OperationOutcome
      if mayBlock {
        outcome = unsafe await perform(operation(fd, sent, noSignal), retaining: (memory, handle))
      } else {
        // First try without waiting (`MSG_DONTWAIT`: the kernel answers at
        // submission, `EAGAIN` if the socket's send buffer is full). Such a
        // send completes within the loop iteration, so, like a nop, it needs
        // no cancellation handler: registering one costs two runtime locks.
        outcome = unsafe await perform(
          operation(fd, sent, noSignal | dontWait), retaining: (memory, handle),
          cancellable: false)
        if outcome.result == -EAGAIN || outcome.result == -EWOULDBLOCK {
          mayBlock = true
          continue
        }
      }
      let count = Int(try outcome.value(opcode, socket: handle))
      // A stream send of a non-empty region never sends 0 bytes; if the
      // kernel ever said so, retrying would never end.
      if count == 0 && sent < total {
        throw handle.error(.system(.brokenPipe), opcode)
      }
      sent += count
      if once || sent >= total { return sent }
    }
  }
}

/// `MSG_NOSIGNAL`: a send to a vanished peer fails with `EPIPE` instead of
/// raising `SIGPIPE`.
let noSignal = CInt(MSG_NOSIGNAL)

/// `MSG_DONTWAIT`: the send fails with `EAGAIN` rather than wait for room.
let dontWait = CInt(MSG_DONTWAIT)
