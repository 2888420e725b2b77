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
      if reads.inFlight > 0, loop.mayCompleteInline {
        // Nothing else waits to run on the loop: submit now and take what
        // completes within the submission (cached data does).
        loop.inlineBudget -= 1
        loop.ring!.submitAndFlushCompletions()
        loop.handleCompletions()
      }
      if reads.inFlight > 0 {
        await loop.suspend { continuation in
          reads.waiter = continuation
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
  private var outcomes: [Result<Int, IOError>?]
  /// The request each read in flight belongs to, by `user_data`.
  private var positions: [UInt64: Int] = [:]
  var waiter: LoopContinuation<Void>?

  init(file: File, requests: [FileReadRequest]) {
    self.file = file
    self.requests = requests
    self.outcomes = Array(repeating: nil, count: requests.count)
    positions.reserveCapacity(requests.count)
  }

  /// Reads still waiting for their CQE.
  var inFlight: Int { positions.count }

  /// Prepares every read; one that cannot be submitted is done at once with
  /// its error. Loop thread.
  func start(on loop: EventLoop) {
    for (position, request) in requests.enumerated() {
      let buffer = request.buffer
      // SAFETY: the kernel writes the buffer until the read's CQE; it is lent
      // (user access refused) and retained by the in-flight slot till then.
      let region = UnsafeMutableRawBufferPointer(
        rebasing: buffer.unsafeRegion[..<min(buffer.capacity, File.maximumTransfer)])
      do throws(IOError) {
        let fd = try file.transferDescriptor(for: .read, at: request.offset, .region(region))
        try file.lendMemory(buffer, .write, for: .read)
        guard
          let userData = loop.start(
            .read(fd: fd, buffer: region, offset: request.offset), handler: self,
            retaining: (buffer, file))
        else {
          buffer.endKernelAccess(.write)
          throw file.error(.reactorShutDown, .read)
        }
        positions[userData] = position
      } catch {
        outcomes[position] = .failure(error)
      }
    }
  }

  /// Loop thread: a read's CQE (reads are single-shot: always final). Its
  /// buffer is handed back to its users only now.
  func complete(_ completion: Completion, isFinal: Bool, cancellation: CancellationReason?) {
    guard isFinal, let position = positions.removeValue(forKey: completion.userData) else {
      return
    }
    let buffer = requests[position].buffer
    buffer.endKernelAccess(.write)
    let outcome = OperationOutcome(
      result: completion.result, flags: completion.flags, cancellation: cancellation)
    do throws(IOError) {
      let count = Int(try outcome.value(.read, path: file.path))
      buffer.setCount(count)
      outcomes[position] = .success(count)
    } catch {
      outcomes[position] = .failure(error)
    }
    if positions.isEmpty, let waiter {
      self.waiter = nil
      waiter.resume()
    }
  }

  /// The task was cancelled: cancel every read still in flight. Each still
  /// ends with its own CQE.
  func cancel(on loop: EventLoop) {
    for userData in positions.keys { loop.cancelOnLoop(userData, reason: .task) }
  }

  /// Every request's result, once none is in flight.
  func results() -> [Result<Int, IOError>] {
    outcomes.map { $0! }
  }
}
