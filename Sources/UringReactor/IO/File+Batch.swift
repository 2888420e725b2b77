import Glibc
import Uring

/// One read of a batch (``File/read(batch:)``): up to `buffer.capacity`
/// bytes at `offset`, into the start of `buffer`.
public struct FileReadRequest: Sendable {
  public let buffer: SharedBuffer
  public let offset: UInt64

  public init(into buffer: SharedBuffer, at offset: UInt64) {
    self.buffer = buffer
    self.offset = offset
  }
}

extension File {
  /// Reads every request of `batch` with one `IORING_OP_READ` each, all
  /// submitted together, and suspends once for the whole batch: for callers
  /// that know their offsets up front (a multi-get, a B-tree node fetch, a
  /// compaction's inputs). A task per read pays a suspension and a
  /// resumption per read; this pays one for the batch.
  ///
  /// Returns one result per request, in order: the bytes read (0 at the end
  /// of the file; each buffer's `count` is set to it), or that read's own
  /// error (a refused offset or O_DIRECT alignment, a buffer already in use,
  /// an I/O error). A failed read does not affect the others.
  ///
  /// Memory: each buffer is lent to the kernel from its submission until its
  /// own CQE (user access is refused meanwhile) and retained by its in-flight
  /// slot until then, whatever happens to the calling task.
  ///
  /// Cancellation: cancelling the task cancels the reads still in flight
  /// (`IORING_OP_ASYNC_CANCEL`); the call still waits for every read's CQE
  /// before it returns, and those reads end with ``IOError/Kind/cancelled``
  /// (or their data, if they completed first). An already cancelled task
  /// submits nothing.
  ///
  /// Thread-safety: any task; on the file's reactor thread it runs there,
  /// elsewhere it hops there and back once for the whole batch.
  nonisolated(nonsending) public func read(batch: [FileReadRequest]) async -> [Result<
    Int, IOError
  >] {
    guard !batch.isEmpty else { return [] }
    if Task.isCancelled {
      return batch.map { _ in .failure(self.error(.cancelled, .read)) }
    }
    return await reactor.onLoop { loop in
      let reads = ReadBatch(file: self, requests: batch)
      reads.start(on: loop)
      if unsafe reads.inFlight > 0, loop.mayCompleteInline {
        // Nothing else waits to run on the loop: submit now and take what
        // completes within the submission (cached data does).
        unsafe loop.inlineBudget -= 1
        unsafe loop.ring!.submitAndFlushCompletions()
        loop.handleCompletions()
      }
      if unsafe reads.inFlight > 0 {
        await loop.suspend { continuation in
          unsafe reads.waiter = continuation
        } onCancel: { [reactor] in
          reactor.runOnLoop { loop in if let loop { reads.cancel(on: loop) } }
        }
      }
      return reads.results()
    }
  }
}

/// The loop side of one ``File/read(batch:)``: the reads as completion-handler
/// operations, their results, and the one task waiting for the last CQE.
///
/// Thread-safety: every stored `var` is touched on the loop thread only
/// (`start` and `results` from the calling job, `complete` by the loop,
/// `cancel` through `runOnLoop`).
final class ReadBatch: CompletionHandler, @unchecked Sendable {
  private let file: File
  private let requests: [FileReadRequest]
  // The state below is touched on the loop thread only, one access at a
  // time: the dynamic exclusivity checks Swift adds to class properties buy
  // nothing here, and cost a few percent of a cached 4 KiB read.
  /// Each request's `user_data` while its read is in flight, else 0
  /// (`user_data` 0 never names an in-flight slot).
  @exclusivity(unchecked) private var userData: [UInt64]
  /// Each request's CQE result (bytes, or a negated errno) and why it was
  /// cancelled, once done.
  @exclusivity(unchecked) private var outcomes: [OperationOutcome]
  /// Refusals before submission, by request.
  @exclusivity(unchecked) private var refusals: [Int: IOError] = [:]
  /// Where the next CQE is looked for first (they mostly come in order).
  @exclusivity(unchecked) private var hint = 0
  @exclusivity(unchecked) private(set) var inFlight = 0
  @exclusivity(unchecked) var waiter: LoopContinuation<Void>?

  init(file: File, requests: [FileReadRequest]) {
    self.file = file
    self.requests = requests
    unsafe self.userData = Array(repeating: 0, count: requests.count)
    unsafe self.outcomes = Array(
      repeating: OperationOutcome(result: 0, flags: 0, cancellation: nil), count: requests.count)
  }

  /// Prepares every read; one that cannot be submitted is done at once with
  /// its error. Loop thread.
  func start(on loop: EventLoop) {
    for position in requests.indices {
      let buffer = requests[position].buffer
      let offset = requests[position].offset
      do throws(IOError) {
        let operation = try file.lendForRead(buffer, at: offset)
        // SAFETY (rule 1): the slot holds this handler until the read's
        // final CQE, and the handler holds the file and every request's
        // buffer: what the kernel uses stays alive without a retain per read.
        guard let slot = unsafe loop.start(operation.operation, handler: self) else {
          buffer.endKernelAccess(.write)
          throw file.error(.reactorShutDown, .read)
        }
        unsafe userData[position] = slot
        unsafe inFlight += 1
      } catch {
        unsafe refusals[position] = error
      }
    }
  }

  /// Loop thread: a read's CQE (reads are single-shot: always final). Its
  /// buffer is handed back to its users only now.
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal, let position = position(of: completion.userData) else { return }
    unsafe userData[position] = 0
    unsafe inFlight -= 1
    unsafe hint = position + 1
    let outcome = OperationOutcome(
      result: completion.result, flags: completion.flags, cancellation: cancellation)
    requests[position].buffer.endKernelWrite(count: outcome.readCount)
    unsafe outcomes[position] = outcome
    if unsafe inFlight == 0, let waiter = unsafe waiter {
      unsafe self.waiter = nil
      waiter.resume()
    }
  }

  /// The request whose read has `slot` as its `user_data`.
  private func position(of slot: UInt64) -> Int? {
    let count = unsafe userData.count
    for step in 0..<count {
      var position = unsafe hint + step
      if position >= count { position -= count }
      if unsafe userData[position] == slot { return position }
    }
    return nil
  }

  /// The task was cancelled: cancel every read still in flight. Each still
  /// ends with its own CQE.
  func cancel(on loop: EventLoop) {
    for slot in unsafe userData where slot != 0 { loop.cancelOnLoop(slot, reason: .task) }
  }

  /// Every request's result, once none is in flight.
  func results() -> [Result<Int, IOError>] {
    requests.indices.map { position in
      if let refusal = unsafe refusals[position] { return .failure(refusal) }
      do throws(IOError) {
        return unsafe .success(Int(try outcomes[position].value(.read, path: file.path)))
      } catch {
        return .failure(error)
      }
    }
  }
}
