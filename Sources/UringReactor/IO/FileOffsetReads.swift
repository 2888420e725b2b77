/// Reads of a file at the offsets of a sequence, as an `AsyncSequence` of
/// ``FileChunk``s: one read of `size` bytes (`IORING_OP_READ`) at each
/// offset, up to `depth` of them in flight or waiting to be consumed at any
/// time, all driven by the one consuming task: no task per read.
///
/// Get one from ``File/reads(at:size:depth:)`` (or
/// ``File/reads(at:size:depth:deadline:)``). It keeps `depth` reads in
/// flight from one consuming task, with results in order and backpressure,
/// where the alternative is `depth` tasks each awaiting
/// ``File/read(into:at:)->Int``. It is not faster: on page-cached 4 KiB reads it
/// runs at 0.9x the rate of the tasks (`uring-bench`, `reactor-stream`
/// against `reactor`), the chunk handling costing about what the tasks'
/// switches cost; choose it for the shape of the code.
///
/// - Order: chunks come in the order of the offsets, each read's own, even
///   when their reads complete in another order. Each chunk's
///   ``FileChunk/offset`` is its read's offset.
/// - Short reads: a read that reaches the end of the file gives a shorter
///   chunk, and one at or past the end an empty chunk (`count` 0): neither
///   is an error, and neither is followed by a read of the rest (only
///   ``FileChunks`` reads ranges to their end).
/// - Backpressure: when the consumer is slow, `depth` chunks pile up and
///   no more reads are issued until it takes one. The offsets are drawn
///   from the sequence one at a time, as reads are issued (an endless
///   sequence is fine), on the reactor's loop thread: keep its iteration
///   cheap (an array, a range, a lazy map). Memory is bounded by `depth`
///   buffers of `size` bytes plus the chunks the consumer keeps.
/// - Ownership: each read's buffer and the file are retained by the
///   reactor's in-flight slot until that read's CQE, whatever happens to
///   the consumer. The stream does not own the file: close it after the
///   stream is done with (its reads in flight keep the descriptor alive).
/// - Cancellation: if the consuming task is cancelled, or the iterator is
///   dropped before the end (a `break`), every read in flight is cancelled
///   (`IORING_OP_ASYNC_CANCEL`); their buffers are kept until their CQEs.
///   `next()` throws ``IOError/Kind/cancelled``.
/// - Errors: the first failed read is thrown by `next()` in its turn (after
///   the chunks of the offsets before it); then the sequence ends. A read
///   that cannot be submitted (an offset past `Int64.max`, a misaligned
///   `O_DIRECT` offset or `size`: ``IOError/Kind/invalidRequest(_:)``; a
///   closed file: `EBADF`; a reactor shutting down) submits nothing, no
///   read is issued after it, and its error is thrown in its turn.
/// - O_DIRECT (``File/directIO``): every offset and `size` must suit the
///   file's alignment; buffers are page-aligned.
/// - Deadline: as for ``FileChunks``: a stream created inside
///   ``IODeadline/withDeadline(_:_:)`` (or with a `deadline:`) links every
///   read it submits to an `IORING_OP_LINK_TIMEOUT` at the deadline in
///   effect when it was created; a read due after it is not submitted. A
///   read that times out makes `next()` throw ``IOError/Kind/timedOut`` in
///   its turn, and the stream ends.
/// - Thread-safety: `Sendable`; iterate from one task at a time. Each
///   iterator reads the offsets afresh (a new iterator of the sequence).
///   For the fewest thread hops, consume it from a task that prefers the
///   reactor (`Task(executorPreference: reactor)`).
public struct FileOffsetReads: AsyncSequence, Sendable {
  public typealias Element = FileChunk
  public typealias Failure = IOError
  /// The iterator of every chunk stream.
  public typealias Iterator = FileChunks.Iterator

  let file: File
  let offsets: any Sequence<UInt64> & Sendable
  let size: Int
  let depth: Int
  /// Every read's deadline: the one in effect when the stream was created.
  let deadline: OperationDeadline?

  public func makeAsyncIterator() -> Iterator {
    let reader = ChunkReader(
      file: file, ownsFile: false, plan: OffsetReads(offsets.makeIterator(), size: size),
      bufferSize: size, readAhead: depth, deadline: deadline)
    return Iterator(consumer: ChunkConsumer(reader: reader))
  }
}

extension File {
  /// Reads `size` bytes at each of `offsets` as ``FileOffsetReads``, with
  /// up to `depth` reads (`IORING_OP_READ`) in flight or waiting to be
  /// consumed; the chunks come in the order of `offsets`. A read at or past
  /// the end of the file gives a short or empty chunk. See
  /// ``FileOffsetReads`` for backpressure, cancellation and ownership.
  ///
  /// `size` is taken between 1 and the kernel's largest transfer
  /// (`0x7FFFF000`), `depth` at least 1. Inside an ``IODeadline`` scope,
  /// every read of the stream is due by the scope's deadline as it is now.
  ///
  /// With `O_DIRECT`, `size` and every offset must suit ``directIO``: a read
  /// that does not is refused with ``IOError/Kind/invalidRequest(_:)``.
  public func reads(
    at offsets: some Sequence<UInt64> & Sendable, size: Int, depth: Int = 32
  ) -> FileOffsetReads {
    FileOffsetReads(
      file: self, offsets: offsets, size: max(1, min(size, File.maximumTransfer)),
      depth: max(1, depth), deadline: IODeadline.effective(nil))
  }
}
