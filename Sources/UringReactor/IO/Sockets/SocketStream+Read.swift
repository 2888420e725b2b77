import Glibc
import Uring

extension SocketStream {
  /// The next bytes received, lent from the stream's provided-buffer pool;
  /// `nil` at end of stream (the peer closed or shut down its writing half).
  ///
  /// The first call arms a multishot receive (`IORING_OP_RECV`,
  /// `IORING_RECV_MULTISHOT`, `IOSQE_BUFFER_SELECT`) that lasts as long as
  /// the stream: bytes that arrive are queued (at most
  /// ``ProvidedBufferPool/maximumQueuedPerConnection`` chunks; then the
  /// receive pauses until this consumer catches up) and a call with bytes
  /// queued returns at once, with no system call.
  ///
  /// - Ownership: the returned ``ReceivedBytes`` holds a buffer of the pool;
  ///   releasing it gives the buffer back to the kernel. Hold few at a time:
  ///   while they are held, the pool has fewer buffers for every connection.
  /// - Cancellation: the waiting task throws ``IOError/Kind/cancelled``; no
  ///   byte is lost (bytes that arrive are queued for the next call).
  /// - Deadline: inside an ``IODeadline`` scope (its deadline taken when the
  ///   call starts), a wait that outlasts it throws ``IOError/Kind/timedOut``
  ///   and, like `SO_RCVTIMEO`, leaves the stream usable: the multishot
  ///   receive keeps running and bytes that arrive later are queued for the
  ///   next call (none lost, no buffer given back early). Bytes already
  ///   queued are returned even past the deadline; with none queued, a
  ///   deadline already past throws at once and submits nothing. The wait's
  ///   deadline is an entry in the loop's timer heap (served by the kernel
  ///   timeout `Task.sleep` uses), not an SQE per call. Outside any scope the
  ///   check costs one relaxed atomic load.
  /// - Throws: ``IOError`` for `ECONNRESET` (``IOError/isConnectionReset``)
  ///   and other errors, once, after the bytes received before them; `EBUSY`
  ///   if another task is already waiting in `receive()` on this stream;
  ///   `EBADF` once closed.
  nonisolated(nonsending) public func receive() async throws(IOError) -> ReceivedBytes? {
    let handle = self.handle
    let buffers = self.buffers
    let deadline = IODeadline.effective(nil)
    let received = try await handle.onLoop {
      loop throws(IOError) -> (ProvidedBufferPool, ReceivedChunk)? in
      let receiver = try handle.receiver(loop, buffers: buffers)
      guard let chunk = try await receiver.next(loop, deadline: deadline) else { return nil }
      return (receiver.pool, chunk)
    }
    guard let (pool, chunk) = received else { return nil }
    return ReceivedBytes(pool: pool, chunk: chunk)
  }

  /// Reads up to `buffer.capacity` bytes into the start of `buffer`
  /// (`IORING_OP_RECV`) and sets its `count`, which it returns; 0 at end of
  /// stream.
  ///
  /// The buffer is lent to the kernel until the CQE (user access is refused
  /// meanwhile) and stays alive even if the task is cancelled (rule 1).
  /// Throws `EBUSY` while ``receive()`` is in use on this stream.
  nonisolated(nonsending) public func read(into buffer: SharedBuffer) async throws(IOError) -> Int {
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.readableDescriptor()
      do throws(MemoryAccessError) {
        try buffer.beginKernelAccess(.write)
      } catch {
        throw handle.error(.memoryBusy(error), .recv)
      }
      let outcome = unsafe await loop.perform(
        .receive(fd: fd, buffer: buffer.unsafeRegion, flags: 0), retaining: (buffer, handle))
      buffer.endKernelAccess(.write)
      let count = Int(try outcome.value(.recv, socket: handle))
      buffer.setCount(count)
      return count
    }
  }

  /// Reads up to `buffer.capacity` bytes into the start of `buffer`
  /// (`IORING_OP_RECV`) and hands the buffer back with the result (0 at end
  /// of stream); `count` is the bytes read.
  ///
  /// Ownership: the buffer is consumed and handed back only after the CQE,
  /// also when the task is cancelled (``IOError/Kind/cancelled`` in the result).
  nonisolated(nonsending) public func read(into buffer: consuming OwnedBuffer) async -> IOResult<
    OwnedBuffer
  > {
    let storage = buffer.storage
    let handle = self.handle
    let result = await handle.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        let fd = try handle.readableDescriptor()
        // SAFETY: the kernel writes `storage` until the final CQE; the slot
        // retains it (and the socket) until then, and no user can reach it:
        // the buffer is consumed into this call.
        let region = unsafe UnsafeMutableRawBufferPointer(
          rebasing: storage.region[..<min(storage.capacity, File.maximumTransfer)])
        let outcome = unsafe await loop.perform(
          .receive(fd: fd, buffer: region, flags: 0), retaining: (storage, handle))
        return .success(Int(try outcome.value(.recv, socket: handle)))
      } catch {
        return .failure(error)
      }
    }
    buffer.count = (try? result.get()) ?? 0
    return IOResult(buffer: buffer, result: result)
  }
}

extension SocketHandle {
  /// The stream's multishot receiver, made on first use. Loop thread.
  func receiver(_ loop: EventLoop, buffers: ProvidedBufferPool?) throws(IOError)
    -> StreamReceiver
  {
    if let receiver = unsafe receiver { return receiver }
    _ = try liveDescriptor(for: .recv)
    let pool: ProvidedBufferPool
    if let buffers {
      precondition(buffers.reactor === reactor, "a buffer pool serves only its own reactor")
      pool = buffers
    } else {
      do throws(ProvidedBufferError) {
        pool = try ProvidedBufferPool.shared(for: reactor, loop: loop)
      } catch {
        var failure = error.ioError
        failure.address = peer
        throw failure
      }
    }
    let receiver = StreamReceiver(socket: self, pool: pool)
    unsafe self.receiver = receiver
    return receiver
  }

  /// The descriptor for a single-shot read: refused (`EBUSY`) while the
  /// multishot receive is in use, whose bytes would come out of order.
  func readableDescriptor() throws(IOError) -> CInt {
    let fd = try liveDescriptor(for: .recv)
    if let receiver = unsafe receiver, receiver.isActive {
      throw IOError(.system(.resourceBusy), operation: .recv, address: peer)
    }
    return fd
  }
}
