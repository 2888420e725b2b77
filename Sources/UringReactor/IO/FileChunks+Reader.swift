import Glibc
import Uring

/// The loop side of a ``FileChunks`` or ``FileOffsetReads`` stream: issues
/// the reads its ``ReadPlan`` gives as completion-handler operations, keeps
/// their results in the plan's order, and hands them to the one waiting
/// consumer.
///
/// Thread-safety: every stored `var` is touched on the loop thread only
/// (the iterator calls `poll(on:)` there directly when its task is on the
/// loop thread, else `next(on:)` through `onLoop`; `complete` is called
/// there by the loop, `close(on:)` also through `runOnLoop` when the
/// iterator is dropped). After the reactor has terminated, that `close` runs on its
/// serial fallback queue, when no completion can arrive any more.
final class ChunkReader: CompletionHandler, @unchecked Sendable {
  private enum Phase {
    /// Reading on.
    case open
    /// No more reads: the end was reached, or the consumer is gone or was
    /// told of an error. Reads in flight are being cancelled or drained.
    case closing
  }

  let file: File
  private let ownsFile: Bool
  /// Where the reads go.
  private let plan: any ReadPlan
  /// `plan.isSequential`, read once.
  private let isSequential: Bool
  private let readAhead: Int
  private let buffers: ChunkBufferPool
  /// Every read's deadline (`IORING_OP_LINK_TIMEOUT`), if the stream has one.
  private let deadline: OperationDeadline?
  // The state below is touched on the loop thread only, one access at a
  // time: the dynamic exclusivity checks Swift adds to class properties buy
  // nothing here, and cost a few percent of a cached 4 KiB read.
  /// Reads in the plan's order: in flight, or done and not yet consumed.
  @exclusivity(unchecked) private var pending: ReadQueue<Pending>
  @exclusivity(unchecked) private var inFlight = 0
  @exclusivity(unchecked) private var phase = Phase.open
  /// Whether no more reads are issued (end of file, the plan has no more
  /// reads, or a read was refused).
  @exclusivity(unchecked) private var exhausted = false
  @exclusivity(unchecked) private var waiter: LoopContinuation<Void>?
  /// The consumer's task was cancelled: `.cancelled`, thrown before any
  /// chunk still waiting. (A read's own error is thrown in its turn.)
  private var failure: IOError?

  /// `bufferSize`: the longest read `plan` gives.
  init(
    file: File, ownsFile: Bool, plan: any ReadPlan, bufferSize: Int, readAhead: Int,
    deadline: OperationDeadline?
  ) {
    self.file = file
    self.deadline = deadline
    self.ownsFile = ownsFile
    self.plan = plan
    self.isSequential = plan.isSequential
    self.readAhead = readAhead
    self.buffers = ChunkBufferPool(bufferSize: bufferSize, keep: readAhead + 1)
    unsafe self.pending = ReadQueue(capacity: readAhead + 1)
  }

  /// What ``poll(on:)`` found.
  enum Poll {
    /// The next chunk, or `nil` at the end.
    case ready(FileChunk?)
    /// The head read is in flight: wait for its CQE.
    case wait
  }

  /// The next chunk, `nil` at the end. Loop thread. `submittedInline`: the
  /// caller's own ``poll(on:submitInline:)`` already submitted inline and
  /// found the head in flight (one `io_uring_enter` per wait is enough).
  nonisolated(nonsending) func next(on loop: EventLoop, submittedInline: Bool = false)
    async throws(IOError) -> FileChunk?
  {
    var submitInline = !submittedInline
    while true {
      if case .ready(let chunk) = try poll(on: loop, submitInline: submitInline) { return chunk }
      submitInline = true
      // Wait for the head read. A cancelled consumer cancels every read: the
      // head's CQE (-ECANCELED or its data) then wakes it.
      await loop.suspend { continuation in
        unsafe self.waiter = continuation
      } onCancel: { [self] in
        file.reactor.runOnLoop { _ in self.cancelReads(on: loop) }
      }
    }
  }

  /// The next chunk if it can be had without waiting (`nil` at the end),
  /// or throws the error due now; `.wait` if the head read is in flight.
  /// Synchronous, so that a consumer already on the loop thread takes a
  /// ready chunk with no `await` at all (``FileChunks/Iterator``). Loop
  /// thread. `submitInline: false` skips the inline submission (the caller
  /// made one already for this wait).
  func poll(on loop: EventLoop, submitInline: Bool = true) throws(IOError) -> Poll {
    var submitted = !submitInline
    while true {
      if let failure {
        self.failure = nil
        close(on: loop)
        throw failure
      }
      if case .done(let result)? = unsafe pending.first?.state {
        let head = unsafe pending.removeFirst()
        let chunk = try deliver(head, result, on: loop)
        // Keep `readAhead` reads going while the consumer works on it.
        if chunk != nil { issueReads(on: loop) }
        return .ready(chunk)
      }
      if unsafe phase == .closing || (exhausted && pending.isEmpty) {
        close(on: loop)
        return .ready(nil)
      }
      if Task.isCancelled {
        failure = IOError(.cancelled, operation: .read, path: file.path)
        continue
      }
      issueReads(on: loop)
      guard unsafe pending.first?.userData != nil else { continue }
      // Nothing else waits to run on the loop: submit the reads now and take
      // what completes within the submission (a cached read does), once per
      // call, rather than suspending until the loop's next iteration (as
      // `EventLoop.completeInline` does for one operation; the same budget
      // keeps this job from holding the loop).
      if !submitted, loop.ownsLoopState, loop.mayCompleteInline {
        submitted = true
        unsafe loop.inlineBudget -= 1
        unsafe loop.ring!.submitAndFlushCompletions()
        loop.handleCompletions()
        continue
      }
      return .wait
    }
  }

  /// Hands out the head read: its chunk, or `nil` at the end of the file
  /// (sequential plans; for the others a read of 0 bytes is an empty chunk),
  /// or throws its error (a failed or refused read); after the end or an
  /// error the stream is closed.
  private func deliver(_ head: Pending, _ result: Result<Int32, IOError>, on loop: EventLoop)
    throws(IOError) -> FileChunk?
  {
    let read: Int
    switch result {
    case .failure(let error):
      buffers.recycle(head.storage)
      close(on: loop)
      throw error
    case .success(0) where isSequential:
      // End of file: the reads after it are past it; cancel and drop them.
      buffers.recycle(head.storage)
      close(on: loop)
      return nil
    case .success(let count):
      read = Int(count)
    }
    // A short read of a sequential plan: read the rest of this chunk's
    // range next, before the reads already issued after it. With O_DIRECT,
    // a count that is not a multiple of the offset alignment means the read
    // stopped at the end of the file (direct reads move whole blocks):
    // there is no rest, and a read of it would be misaligned; the reads
    // after it return 0.
    if isSequential, read < head.length, let offset = head.offset,
      read % (file.directIO?.offset ?? 1) == 0
    {
      unsafe pending.prepend(
        startRead(at: offset + UInt64(read), length: head.length - read, on: loop))
    }
    return FileChunk(offset: head.offset, count: read, storage: head.storage, pool: buffers)
  }

  /// Issues reads until `readAhead` are in flight or waiting.
  private func issueReads(on loop: EventLoop) {
    while unsafe phase == .open, unsafe !exhausted, unsafe pending.count < readAhead {
      guard let (offset, length) = plan.nextRead() else {
        unsafe exhausted = true
        return
      }
      unsafe pending.append(startRead(at: offset, length: length, on: loop))
    }
  }

  /// A read of `length` bytes at `offset` (`nil`: the file position),
  /// submitted, or refused if it cannot be: the file is closed (`EBADF`),
  /// the offset or, with O_DIRECT, the alignment is wrong
  /// (``IOError/Kind/invalidRequest(_:)``), the deadline has passed
  /// (`.timedOut`), or the reactor is shutting down. A refused read submits
  /// nothing and is done at once with that error, which `next()` throws in
  /// its turn, after the chunks of the reads before it; those go on, and no
  /// read is issued after it.
  ///
  /// The reads before a refusal are not cancelled, not even for a reactor
  /// that is shutting down: the loop refuses new operations only once it has
  /// begun to shut down, and it has then cancelled every operation in flight
  /// already (reason `.shutdown`, on this thread), so they end on their own.
  private func startRead(at offset: UInt64?, length: Int, on loop: EventLoop) -> Pending {
    let storage = buffers.take()
    let region = unsafe UnsafeMutableRawBufferPointer(rebasing: storage.region[..<length])
    do throws(IOError) {
      let fd = try file.liveDescriptor(for: .read)
      try file.checkOffset(offset, for: .read)
      unsafe try file.checkDirectIO(region, offset: offset, for: .read)
      if let deadline, deadline.hasPassed {
        // What the read's linked timeout would have said.
        throw IOError(.timedOut, operation: .read, path: file.path)
      }
      // SAFETY: the in-flight slot retains the buffer's storage and the file
      // until the read's final CQE; the storage is not handed to anyone
      // else until then (it is neither in a chunk nor in the idle pool).
      guard
        let userData = unsafe loop.start(
          .read(fd: fd, buffer: region, offset: offset), handler: self,
          retaining: (storage, file), deadline: deadline)
      else { throw IOError(.reactorShutDown, operation: .read, path: file.path) }
      unsafe inFlight += 1
      return Pending(
        offset: offset, length: length, storage: storage, state: .inFlight(userData: userData))
    } catch {
      unsafe exhausted = true
      return Pending(
        offset: offset, length: length, storage: storage, state: .done(.failure(error)))
    }
  }

  /// Loop thread: a read's CQE (reads are single-shot: always final).
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal else { return }
    unsafe inFlight -= 1
    guard let index = unsafe pending.firstPosition(where: { $0.userData == completion.userData })
    else {
      return
    }
    if unsafe phase == .closing {
      // Nobody will consume it: its buffer goes back now.
      unsafe buffers.recycle(pending[index].storage)
      unsafe pending.removeAll { $0.userData == completion.userData }
      finishIfDrained()
      return
    }
    let outcome = OperationOutcome(
      result: completion.result, flags: completion.flags, cancellation: cancellation)
    do throws(IOError) {
      unsafe pending[index].state = .done(.success(try outcome.value(.read, path: file.path)))
    } catch {
      // Cancelled reads say why: `.timedOut` (their linked timeout),
      // `.reactorShutDown`, or `.cancelled` (only ever after the consumer's
      // cancellation, which `next()` throws before any of them).
      unsafe pending[index].state = .done(.failure(error))
    }
    if index == 0, let waiter = unsafe waiter {
      unsafe self.waiter = nil
      waiter.resume()
    }
  }

  /// No more reads; those in flight are cancelled.
  private func stopReading(on loop: EventLoop) {
    unsafe exhausted = true
    for position in unsafe 0..<pending.count {
      if let userData = unsafe pending[position].userData {
        loop.requestCancel(userData, reason: .task)
      }
    }
  }

  /// The consumer's task was cancelled: cancel every read in flight; the
  /// waiting consumer wakes with the head's CQE.
  func cancelReads(on loop: EventLoop) {
    guard loop.ownsLoopState, unsafe phase == .open else { return }
    if failure == nil { failure = IOError(.cancelled, operation: .read, path: file.path) }
    stopReading(on: loop)
    if let waiter = unsafe waiter, unsafe pending.isEmpty {
      unsafe self.waiter = nil
      waiter.resume()
    }
  }

  /// The consumer is done (end, error) or gone (the iterator was dropped,
  /// from `runOnLoop`): cancel what is in flight, drop what is done, close
  /// an owned file after the last CQE.
  func close(on loop: EventLoop) {
    guard unsafe phase == .open else { return }
    unsafe phase = .closing
    if loop.ownsLoopState { stopReading(on: loop) }
    for position in unsafe 0..<pending.count where unsafe pending[position].userData == nil {
      unsafe buffers.recycle(pending[position].storage)
    }
    unsafe pending.removeAll { $0.userData == nil }
    finishIfDrained()
  }

  /// Buffers kept for reuse (tests: the bound on a stream's memory).
  var idleBufferCount: Int { buffers.idleCount }

  private func finishIfDrained() {
    guard unsafe phase == .closing, unsafe inFlight == 0, ownsFile else { return }
    _ = file.closeOnLoop(file.reactor.loop)
  }
}
