import SystemPackage
import Uring

/// A file's bytes as an `AsyncSequence` of ``FileChunk``s, read with a
/// bounded read-ahead: up to `readAhead` reads of `chunkSize` bytes
/// (`IORING_OP_READ`) are in flight or waiting to be consumed at any time.
///
/// Get one from ``File/chunks(from:length:chunkSize:readAhead:)`` or
/// ``FileSystem/readChunks(of:chunkSize:readAhead:)`` (which opens the file
/// and closes it when the stream ends).
///
/// - Backpressure: when the consumer is slow, `readAhead` chunks pile up
///   and no more reads are issued until it takes one. Memory is bounded by
///   `readAhead` buffers plus the chunks the consumer keeps.
/// - Order: chunks come in file order, each `chunkSize` bytes but the last
///   (or one cut short by a short read, which is followed by a read of the
///   rest). With `O_DIRECT` (``File/directIO``), a read cut short at a count
///   that is not a multiple of ``DirectIOAlignment/offset`` stopped at the
///   end of the file: no rest is read (that read would be misaligned), and
///   the reads after it return 0. The stream ends at the end of the file (a
///   read returning 0) or after `length` bytes.
/// - Reading at the file position (`from: nil`, e.g. a pipe): one read in
///   flight at a time, whatever `readAhead` says.
/// - Ownership: each read's buffer and the file are retained by the
///   reactor's in-flight slot until that read's CQE, whatever happens to the
///   consumer. Reads run on the reactor's loop thread as completion-handler
///   operations; no task is spawned per read.
/// - Cancellation: if the consuming task is cancelled, or the iterator is
///   dropped before the end (a `break`), every read in flight is cancelled
///   (`IORING_OP_ASYNC_CANCEL`); their buffers are kept until their CQEs;
///   a stream that owns its file closes it once, after the last CQE.
///   `next()` throws ``IOError/Kind/cancelled``.
/// - Errors: the first failed read is thrown by `next()` (after the chunks
///   before it); then the sequence ends. A read that cannot be submitted
///   (the file was closed: `EBADF`; a misaligned `O_DIRECT` read, such as a
///   `length` that ends off a block: ``IOError/Kind/invalidRequest(_:)``;
///   a reactor shutting down) is such a read: it submits nothing, no read
///   is issued after it, the reads before it go on, and its error is thrown
///   in its turn.
/// - Deadline: a stream created inside ``IODeadline/withDeadline(_:_:)``
///   (or with ``File/chunks(from:length:chunkSize:readAhead:deadline:)``)
///   takes the deadline in effect *when it is created* and links every read
///   it submits to an `IORING_OP_LINK_TIMEOUT` at that instant; a read due
///   after it is not submitted. Creation, not each `next()`, because the
///   stream submits its read-ahead reads itself, ahead of the `next()` that
///   will consume them: a deadline read at each call could not apply to
///   reads already in flight, and would depend on which call happened to
///   issue a read. So a scope opened only around a later `next()` does not
///   apply; the deadline bounds the whole stream, not each chunk. A read
///   that times out, or is not submitted for being late, makes `next()`
///   throw ``IOError/Kind/timedOut`` (after the chunks before it; a timed
///   out read's buffer stays with the kernel until its CQE, as for a
///   cancelled read), and the stream ends as after any error.
///   Without a deadline, a read costs nothing more than a `nil` check (at
///   submission and at completion).
/// - Thread-safety: `Sendable`; iterate from one task at a time, once.
public struct FileChunks: AsyncSequence, Sendable {
  public typealias Element = FileChunk
  public typealias Failure = IOError

  let file: File
  let ownsFile: Bool
  let start: UInt64?
  let length: UInt64?
  let chunkSize: Int
  let readAhead: Int
  /// Every read's deadline: the one in effect when the stream was created.
  let deadline: OperationDeadline?

  public func makeAsyncIterator() -> Iterator {
    let reader = ChunkReader(
      file: file, ownsFile: ownsFile,
      plan: SequentialReads(start: start, length: length, chunkSize: chunkSize),
      bufferSize: chunkSize, readAhead: start == nil ? 1 : readAhead, deadline: deadline)
    return Iterator(consumer: ChunkConsumer(reader: reader))
  }

  /// The iterator of a chunk stream (``FileChunks`` and ``FileOffsetReads``
  /// alike): each `next()` runs on the reactor's loop thread (a task that
  /// prefers the reactor is there already; others hop there and back).
  public struct Iterator: AsyncIteratorProtocol {
    let consumer: ChunkConsumer

    public mutating func next(isolation actor: isolated (any Actor)?) async throws(IOError)
      -> FileChunk?
    {
      let reader = consumer.reader
      // On the loop thread already (a task preferring the reactor): a chunk
      // that is ready is handed out with no `await`, hence no executor hop.
      let loop = reader.file.reactor.loop
      let onLoopThread = loop.ownsLoopState
      if onLoopThread, case .ready(let chunk) = try reader.poll(on: loop) { return chunk }
      return try await reader.file.reactor.onLoop { loop throws(IOError) -> FileChunk? in
        try await reader.next(on: loop, submittedInline: onLoopThread)
      }
    }

    public mutating func next() async throws(IOError) -> FileChunk? {
      try await next(isolation: nil)
    }
  }
}

/// Held only by the iterator: when the iterator goes away before the end,
/// its reads are cancelled (and an owned file closed after their CQEs).
final class ChunkConsumer: Sendable {
  let reader: ChunkReader

  init(reader: ChunkReader) { self.reader = reader }

  deinit {
    let reader = self.reader
    let loop = reader.file.reactor.loop
    reader.file.reactor.runOnLoop { _ in reader.close(on: loop) }
  }
}

extension File {
  /// Streams the file's bytes from `offset` as ``FileChunks`` with
  /// `readAhead` reads of `chunkSize` bytes in flight
  /// (`IORING_OP_READ`). `length` stops after that many bytes; `nil` reads
  /// to the end. `from: nil` reads at the file position (pipes, sockets,
  /// terminals), one read at a time. The file stays open; see
  /// ``FileChunks`` for backpressure, cancellation and ownership.
  ///
  /// Inside an ``IODeadline`` scope, every read of the stream is due by the
  /// scope's deadline as it is now (see ``FileChunks``, "Deadline").
  ///
  /// With `O_DIRECT`, `chunkSize` and `offset` must suit ``directIO``:
  /// reads that do not are refused with ``IOError/Kind/invalidRequest(_:)``.
  public func chunks(
    from offset: UInt64? = 0, length: UInt64? = nil, chunkSize: Int = 1 << 20,
    readAhead: Int = 4
  ) -> FileChunks {
    FileChunks(
      file: self, ownsFile: false, start: offset, length: length,
      chunkSize: max(1, min(chunkSize, File.maximumTransfer)), readAhead: max(1, readAhead),
      deadline: IODeadline.effective(nil))
  }
}

extension FileSystem {
  /// Opens `path` for reading (`IORING_OP_OPENAT`) and streams it as
  /// ``FileChunks``; the stream owns the file and closes it
  /// (`IORING_OP_CLOSE`) once, after its last read's CQE, when it ends,
  /// fails, is cancelled or is dropped (a stream never iterated closes it
  /// when it is released).
  ///
  /// A regular file or block device is read at offsets with `readAhead`
  /// reads in flight; anything else (a FIFO, a character device) at its
  /// position, one read at a time (checked with `IORING_OP_STATX`).
  ///
  /// Inside an ``IODeadline`` scope, the open, the `statx` and every read of
  /// the stream are due by the scope's deadline (the stream takes it when
  /// it is created, here; see ``FileChunks``, "Deadline").
  ///
  /// - Throws: the errors of opening the file.
  nonisolated(nonsending) public func readChunks(
    of path: some FilePathConvertible, chunkSize: Int = 1 << 20, readAhead: Int = 4
  ) async throws(IOError) -> FileChunks {
    let file = try await File.open(path, .readOnly, on: reactor)
    let type = try await file.status().type
    return FileChunks(
      file: file, ownsFile: true, start: type == .regular || type == .blockDevice ? 0 : nil,
      length: nil, chunkSize: max(1, min(chunkSize, File.maximumTransfer)),
      readAhead: max(1, readAhead), deadline: IODeadline.effective(nil))
  }
}
