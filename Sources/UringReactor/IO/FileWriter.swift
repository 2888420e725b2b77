import Glibc
import Uring

/// Writes a stream of bytes to a file with a bounded number of writes in
/// flight (`IORING_OP_WRITE`): ``write(_:)`` returns as soon as its write is
/// submitted, unless `maxInFlight` writes are already in flight, in which
/// case it waits for one to complete (backpressure).
///
/// - Order and offsets: bytes land one after the other from the starting
///   offset, each write at its own offset, so writes in flight never
///   overlap. Writing at the file position (`startingAt: nil`) keeps one
///   write in flight, to keep the order: use it for pipes, sockets,
///   terminals and `O_APPEND` files, where offsets mean nothing and
///   concurrent writes would interleave.
/// - Short writes are completed by writing the rest.
/// - Errors: the first failed write makes the writer fail: that error is
///   thrown by the next ``write(_:)`` or ``finish()``, and nothing more is
///   written. Bytes of writes that completed stay written.
/// - Ownership: each write's memory (a ``FileChunk``, or a pooled buffer the
///   bytes were copied into) and the file are retained by the reactor's
///   in-flight slot until the write's CQE. The file is not closed by the
///   writer.
/// - Cancellation: a task cancelled while waiting (for room, or in
///   ``finish()``) cancels the writes in flight (`IORING_OP_ASYNC_CANCEL`;
///   a write the kernel has started still completes) and throws
///   ``IOError/Kind/cancelled``; the writer has then failed.
/// - Deadline: a writer created inside ``IODeadline/withDeadline(_:_:)`` (or
///   with ``File/writer(startingAt:maxInFlight:bufferSize:deadline:)``)
///   takes the deadline in effect *when it is created* and links every
///   write it submits (the rest of a short write too, which the loop
///   submits on its own) to an `IORING_OP_LINK_TIMEOUT` at that instant; a
///   write due after it is not submitted. Creation, not each ``write(_:)``,
///   because writes outlive the call that submitted them: ``finish()`` and
///   the backpressure wait consume writes submitted earlier, and must not
///   wait forever for one that had no deadline. So the deadline bounds the
///   whole writer; a scope opened only around a later ``write(_:)`` does
///   not apply (create the writer inside it). A write that times out fails
///   the writer: the next ``write(_:)`` or ``finish()`` throws
///   ``IOError/Kind/timedOut`` (a write asked for after the deadline throws
///   it from that same call, submitting nothing); the write's memory stays
///   with the kernel until its CQE. Without a deadline, a write costs nothing more than a
///   `nil` check (at submission and at completion).
/// - Thread-safety: `Sendable`; write from one task at a time. Its state is
///   touched only on the reactor's loop thread.
public final class FileWriter: CompletionHandler, @unchecked Sendable {
  @safe
  private struct Write {
    // @safe: `region` lies inside `holder`, which it keeps alive.
    /// What keeps the memory alive (a chunk, or a pooled buffer).
    var holder: AnyObject
    var region: UnsafeRawBufferPointer
    var offset: UInt64?
  }

  /// The file written to.
  public let file: File
  /// How many writes may be in flight at once.
  public let maxInFlight: Int
  private let buffers: ChunkBufferPool
  /// Every write's deadline (`IORING_OP_LINK_TIMEOUT`), if the writer has one.
  private let deadline: OperationDeadline?
  // Loop-thread state.
  private var nextOffset: UInt64?
  private var inFlight: [UInt64: Write] = [:]
  private var waiters: [LoopContinuation<Void>] = []
  private var failure: IOError?
  private var written: UInt64 = 0

  init(
    file: File, startingAt offset: UInt64?, maxInFlight: Int, bufferSize: Int,
    deadline: OperationDeadline?
  ) {
    self.file = file
    self.deadline = deadline
    self.nextOffset = offset
    self.maxInFlight = offset == nil ? 1 : max(1, maxInFlight)
    self.buffers = ChunkBufferPool(
      bufferSize: max(1, min(bufferSize, File.maximumTransfer)), keep: self.maxInFlight + 1)
  }

  /// Writes the chunk's bytes without copying them: the chunk is retained
  /// until the write's CQE, then released (its buffer goes back to its
  /// stream). Returns once the write is submitted.
  nonisolated(nonsending) public func write(_ chunk: FileChunk) async throws(IOError) {
    unsafe try await enqueue(holder: chunk, region: chunk.region)
  }

  /// Copies `bytes` into page-aligned buffers of the writer (of
  /// `bufferSize` bytes each; reused) and writes them. Returns once the
  /// last of them is submitted.
  nonisolated(nonsending) public func write(contentsOf bytes: some Collection<UInt8>)
    async throws(IOError)
  {
    var rest = bytes[...]
    while !rest.isEmpty {
      let storage = buffers.take()
      let piece = rest.prefix(storage.capacity)
      // SAFETY: a buffer from the pool is referenced by nothing else.
      let count = piece.count
      unsafe UnsafeMutableRawBufferPointer(rebasing: storage.region[..<count]).copyBytes(
        from: piece)
      rest = rest.dropFirst(count)
      unsafe try await enqueue(
        holder: storage, region: UnsafeRawBufferPointer(rebasing: storage.region[..<count]))
    }
  }

  /// Waits until every write has completed and returns how many bytes the
  /// writer has written in all.
  ///
  /// - Throws: the first write's error, or ``IOError/Kind/cancelled``.
  @discardableResult
  nonisolated(nonsending) public func finish() async throws(IOError) -> UInt64 {
    try await file.reactor.onLoop { loop throws(IOError) -> UInt64 in
      while !self.inFlight.isEmpty {
        try await self.wait(on: loop)
      }
      if let failure = self.failure { throw failure }
      return self.written
    }
  }

  private func enqueue(holder: AnyObject, region: UnsafeRawBufferPointer) async throws(IOError) {
    guard unsafe !region.isEmpty else { return }
    let box = unsafe SameThread((holder, region))
    try await file.reactor.onLoop { loop throws(IOError) in
      while self.failure == nil, self.inFlight.count >= self.maxInFlight {
        try await self.wait(on: loop)
      }
      if let failure = self.failure { throw failure }
      let offset = self.nextOffset
      self.nextOffset = offset.map { unsafe $0 + UInt64(box.value.1.count) }
      unsafe self.submit(Write(holder: box.value.0, region: box.value.1, offset: offset), on: loop)
      if let failure = self.failure { throw failure }
    }
  }

  /// Suspends until a write completes (or the task is cancelled).
  nonisolated(nonsending) private func wait(on loop: EventLoop) async throws(IOError) {
    if Task.isCancelled { cancelWrites(on: loop) }
    if failure == nil || !inFlight.isEmpty {
      await loop.suspend { continuation in
        self.waiters.append(continuation)
      } onCancel: { [self] in
        file.reactor.runOnLoop { _ in self.cancelWrites(on: loop) }
      }
    }
    if let failure, failure.kind == .cancelled { throw failure }
  }

  private func submit(_ write: Write, on loop: EventLoop) {
    do throws(IOError) {
      let fd = try file.liveDescriptor(for: .write)
      try file.checkOffset(write.offset, for: .write)
      unsafe try file.checkDirectIO(
        UnsafeMutableRawBufferPointer(mutating: write.region), offset: write.offset, for: .write)
      // SAFETY: the in-flight slot retains the memory's holder and the file
      // until the write's final CQE; the writer gives the holder to no one.
      let operation = unsafe RingOperation.write(fd: fd, buffer: write.region, offset: write.offset)
      if let deadline, deadline.hasPassed {
        throw IOError(.timedOut, operation: .write, path: file.path)
      }
      let started = unsafe loop.start(
        operation, handler: self, retaining: (write.holder, file), deadline: deadline)
      guard let userData = started else {
        throw IOError(.reactorShutDown, operation: .write, path: file.path)
      }
      inFlight[userData] = write
    } catch {
      failure = failure ?? error
    }
  }

  /// Loop thread: a write's CQE.
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal, let write = inFlight.removeValue(forKey: completion.userData) else { return }
    let outcome = OperationOutcome(
      result: completion.result, flags: completion.flags, cancellation: cancellation)
    do throws(IOError) {
      let count = Int(try outcome.value(.write, path: file.path))
      written += UInt64(count)
      if unsafe count < write.region.count, failure == nil {
        guard count > 0 else {
          throw IOError(.system(.ioError), operation: .write, path: file.path)
        }
        // A short write: write the rest, right where it belongs.
        unsafe submit(
          Write(
            holder: write.holder,
            region: UnsafeRawBufferPointer(rebasing: write.region[count...]),
            offset: write.offset.map { $0 + UInt64(count) }),
          on: file.reactor.loop)
      } else if let storage = write.holder as? ChunkStorage {
        buffers.recycle(storage)
      }
    } catch {
      failure = failure ?? error
    }
    let ready = waiters
    waiters.removeAll()
    for waiter in ready { waiter.resume() }
  }

  /// Cancels every write in flight; the writer fails with `cancelled`.
  private func cancelWrites(on loop: EventLoop) {
    guard loop.ownsLoopState else { return }
    if failure == nil { failure = IOError(.cancelled, operation: .write, path: file.path) }
    for userData in inFlight.keys { loop.requestCancel(userData, reason: .task) }
    if inFlight.isEmpty {
      let ready = waiters
      waiters.removeAll()
      for waiter in ready { waiter.resume() }
    }
  }
}

extension File {
  /// A ``FileWriter`` that writes from `offset` (`nil`: at the file
  /// position, one write at a time) with up to `maxInFlight` writes in
  /// flight, copying bytes given as collections into buffers of
  /// `bufferSize` bytes.
  ///
  /// Inside an ``IODeadline`` scope, every write of the writer is due by the
  /// scope's deadline as it is now (see ``FileWriter``, "Deadline").
  public func writer(
    startingAt offset: UInt64? = 0, maxInFlight: Int = 4, bufferSize: Int = 1 << 20
  ) -> FileWriter {
    FileWriter(
      file: self, startingAt: offset, maxInFlight: maxInFlight, bufferSize: bufferSize,
      deadline: IODeadline.effective(nil))
  }
}
