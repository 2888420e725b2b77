import Glibc
import Uring

/// The loop side of a ``FileChunks`` stream: issues reads as
/// completion-handler operations, keeps their results in file order, and
/// hands them to the one waiting consumer.
///
/// Thread-safety: every stored `var` is touched on the loop thread only
/// (`next(on:)` runs there through `onLoop`, `complete` is called there by
/// the loop, `abandon(on:)` through `runOnLoop`). After the reactor has
/// terminated, `abandon` runs on its serial fallback queue, when no
/// completion can arrive any more.
final class ChunkReader: CompletionHandler, @unchecked Sendable {
  private struct Pending {
    var offset: UInt64?
    var length: Int
    var storage: ChunkStorage
    /// Set once its CQE came: the result, and why it was cancelled.
    var outcome: OperationOutcome?
    var userData: UInt64
  }

  private enum Phase {
    /// Reading on.
    case open
    /// No more reads: the end was reached, or the consumer is gone or was
    /// told of an error. Reads in flight are being cancelled or drained.
    case closing
  }

  let file: File
  private let ownsFile: Bool
  private let chunkSize: Int
  private let readAhead: Int
  private let buffers: ChunkBufferPool
  /// Every read's deadline (`IORING_OP_LINK_TIMEOUT`), if the stream has one.
  private let deadline: OperationDeadline?
  /// Where the next read starts (`nil`: at the file position).
  private var nextOffset: UInt64?
  /// Bytes still to request (`nil`: to the end of the file).
  private var remaining: UInt64?
  /// Reads in file order: in flight, or completed and not yet consumed.
  private var pending: [Pending] = []
  private var inFlight = 0
  private var phase = Phase.open
  /// Whether no more reads are issued (end of file, or `length` reached).
  private var exhausted = false
  private var waiter: UnsafeContinuation<Void, Never>?
  /// An error to throw before ending (a read failed, or the consumer was cancelled).
  private var failure: IOError?

  init(
    file: File, ownsFile: Bool, start: UInt64?, length: UInt64?, chunkSize: Int, readAhead: Int,
    deadline: OperationDeadline?
  ) {
    self.file = file
    self.deadline = deadline
    self.ownsFile = ownsFile
    self.chunkSize = chunkSize
    self.readAhead = readAhead
    self.nextOffset = start
    self.remaining = length
    self.buffers = ChunkBufferPool(bufferSize: chunkSize, keep: readAhead + 1)
  }

  /// The next chunk, `nil` at the end. Loop thread.
  nonisolated(nonsending) func next(on loop: EventLoop) async throws(IOError) -> FileChunk? {
    while true {
      if let failure {
        self.failure = nil
        close(on: loop)
        throw failure
      }
      if let head = pending.first, let outcome = head.outcome {
        pending.removeFirst()
        if let chunk = try deliver(head, outcome, on: loop) {
          // Keep `readAhead` reads going while the consumer works on it.
          issueReads(on: loop)
          return chunk
        }
        continue
      }
      if phase == .closing || (exhausted && pending.isEmpty) {
        close(on: loop)
        return nil
      }
      if Task.isCancelled {
        failure = IOError(.cancelled, operation: .read, path: file.path)
        continue
      }
      issueReads(on: loop)
      guard pending.first?.outcome == nil, !pending.isEmpty else { continue }
      // Wait for the head read. A cancelled consumer cancels every read: the
      // head's CQE (-ECANCELED or its data) then wakes it.
      await loop.suspend { continuation in
        self.waiter = continuation
      } onCancel: { [self] in
        file.reactor.runOnLoop { _ in self.cancelReads(on: loop) }
      }
    }
  }

  /// Turns the completed head read into a chunk, or records the end or the
  /// error. Returns `nil` when there is nothing to hand out for it.
  private func deliver(_ head: Pending, _ outcome: OperationOutcome, on loop: EventLoop)
    throws(IOError) -> FileChunk?
  {
    let count: Int32
    do throws(IOError) {
      count = try outcome.value(.read, path: file.path)
    } catch {
      buffers.recycle(head.storage)
      // Cancelled by `cancelReads` because the consumer's task was: say
      // so. A read its linked timeout cancelled reports `.timedOut`.
      let kind: IOError.Kind = outcome.cancellation == .task ? .cancelled : error.kind
      failure = IOError(kind, operation: .read, path: file.path)
      return nil
    }
    if count == 0 {
      // End of file: the reads after it are past it; cancel and drop them.
      buffers.recycle(head.storage)
      close(on: loop)
      return nil
    }
    let read = Int(count)
    if read < head.length, head.offset != nil, file.directIO == nil {
      // A short read: read the rest of this chunk's range next, before the
      // reads already issued after it.
      let rest = Pending(
        offset: head.offset.map { $0 + UInt64(read) }, length: head.length - read,
        storage: buffers.take(), outcome: nil, userData: 0)
      pending.insert(rest, at: 0)
      submit(at: 0, on: loop)
    }
    return FileChunk(offset: head.offset, count: read, storage: head.storage, pool: buffers)
  }

  /// Issues reads until `readAhead` are in flight or waiting.
  private func issueReads(on loop: EventLoop) {
    while phase == .open, !exhausted, pending.count < readAhead {
      var length = chunkSize
      if let remaining {
        if remaining == 0 {
          exhausted = true
          return
        }
        length = Int(min(UInt64(chunkSize), remaining))
        self.remaining = remaining - UInt64(length)
      }
      pending.append(
        Pending(
          offset: nextOffset, length: length, storage: buffers.take(), outcome: nil, userData: 0))
      nextOffset = nextOffset.map { $0 + UInt64(length) }
      submit(at: pending.count - 1, on: loop)
    }
  }

  /// Submits the read of `pending[index]`, or records why it cannot be.
  private func submit(at index: Int, on loop: EventLoop) {
    let entry = pending[index]
    let region = UnsafeMutableRawBufferPointer(rebasing: entry.storage.region[..<entry.length])
    var refusal: IOError.Kind?
    var userData: UInt64?
    do throws(IOError) {
      let fd = try file.liveDescriptor(for: .read)
      try file.checkOffset(entry.offset, for: .read)
      try file.checkDirectIO(region, offset: entry.offset, for: .read)
      // SAFETY: the in-flight slot retains the buffer's storage and the file
      // until the read's final CQE; the storage is not handed to anyone
      // else until then (it is neither in a chunk nor in the idle pool).
      let operation = RingOperation.read(fd: fd, buffer: region, offset: entry.offset)
      if let deadline, deadline.hasPassed {
        refuseLate(at: index)
        return
      }
      userData = loop.start(
        operation, handler: self, retaining: (entry.storage, file), deadline: deadline)
      if userData == nil { refusal = .reactorShutDown }
    } catch {
      refusal = error.kind
    }
    if let userData {
      pending[index].userData = userData
      inFlight += 1
    } else {
      // Nothing reached the kernel: complete it at once with the refusal.
      pending[index].outcome = OperationOutcome(result: -EINVAL, flags: 0, cancellation: nil)
      failure = failure ?? IOError(refusal ?? .reactorShutDown, operation: .read, path: file.path)
      stopReading(on: loop)
    }
  }

  /// The deadline passed before `pending[index]` could be submitted: it
  /// submits nothing and times out in its turn (after the chunks before it,
  /// whose reads, due by the same deadline, complete or time out on their
  /// own); no read is issued after it.
  private func refuseLate(at index: Int) {
    pending[index].outcome = OperationOutcome(
      result: -ECANCELED, flags: 0, cancellation: .deadline)
    exhausted = true
  }

  /// Loop thread: a read's CQE (reads are single-shot: always final).
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    inFlight -= 1
    guard let index = pending.firstIndex(where: { $0.userData == completion.userData }) else {
      return
    }
    pending[index].outcome = OperationOutcome(
      result: completion.result, flags: completion.flags, cancellation: cancellation)
    if phase == .closing {
      // Nobody will consume it: its buffer goes back now.
      buffers.recycle(pending[index].storage)
      pending.remove(at: index)
      finishIfDrained()
    } else if index == 0, let waiter {
      self.waiter = nil
      waiter.resume()
    }
  }

  /// No more reads; those after the end are cancelled.
  private func stopReading(on loop: EventLoop) {
    exhausted = true
    for entry in pending where entry.outcome == nil && entry.userData != 0 {
      loop.requestCancel(entry.userData, reason: .task)
    }
  }

  /// The consumer's task was cancelled: cancel every read in flight; the
  /// waiting consumer wakes with the head's CQE.
  func cancelReads(on loop: EventLoop) {
    guard loop.ownsLoopState, phase == .open else { return }
    if failure == nil { failure = IOError(.cancelled, operation: .read, path: file.path) }
    stopReading(on: loop)
    if let waiter, pending.isEmpty {
      self.waiter = nil
      waiter.resume()
    }
  }

  /// The consumer is done (end, error) or gone (iterator dropped): cancel
  /// what is in flight, drop what is buffered, close an owned file after
  /// the last CQE.
  private func close(on loop: EventLoop) {
    guard phase == .open else { return }
    phase = .closing
    if loop.ownsLoopState { stopReading(on: loop) }
    for entry in pending where entry.outcome != nil { buffers.recycle(entry.storage) }
    pending.removeAll { $0.outcome != nil }
    finishIfDrained()
  }

  /// The iterator was dropped (from `runOnLoop`).
  func abandon(on loop: EventLoop) {
    close(on: loop)
  }

  /// Buffers kept for reuse (tests: the bound on a stream's memory).
  var idleBufferCount: Int { buffers.idleCount }

  private func finishIfDrained() {
    guard phase == .closing, inFlight == 0, ownsFile else { return }
    _ = file.closeOnLoop(file.reactor.loop)
  }
}
