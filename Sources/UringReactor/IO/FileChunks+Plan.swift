/// Where the reads of a ``ChunkReader`` go, one read at a time: the offset
/// and length of the next read it issues. A ``FileChunks`` stream reads a
/// range front to back (``SequentialReads``); a ``FileOffsetReads`` stream
/// reads at each offset of a sequence (``OffsetReads``). Everything else
/// (read-ahead, order, backpressure, cancellation, deadline, buffers) is
/// the reader's, the same for both.
///
/// Thread-safety: a plan belongs to one reader, which asks it for reads on
/// the loop thread only (it is made on the consumer's thread, before the
/// reader is first used).
protocol ReadPlan: AnyObject {
  /// The next read to issue: its offset (`nil`: the file position) and its
  /// length; `nil` when there are no more reads.
  func nextRead() -> (offset: UInt64?, length: Int)?

  /// Whether the plan reads a range front to back. Then a short read is
  /// followed by a read of its rest (before the reads already issued after
  /// it) and a read of 0 bytes is the end of the file, which ends the
  /// stream. Otherwise each read's result, short or empty, is a chunk of
  /// its own, and the stream ends when the plan has no more reads.
  var isSequential: Bool { get }
}

/// A range read front to back in `chunkSize` reads: from `start` (`nil`: at
/// the file position), for `length` bytes (`nil`: to the end of the file).
final class SequentialReads: ReadPlan {
  private let chunkSize: Int
  /// Where the next read starts (`nil`: at the file position).
  private var nextOffset: UInt64?
  /// Bytes still to request (`nil`: to the end of the file).
  private var remaining: UInt64?

  init(start: UInt64?, length: UInt64?, chunkSize: Int) {
    self.chunkSize = chunkSize
    self.nextOffset = start
    self.remaining = length
  }

  var isSequential: Bool { true }

  func nextRead() -> (offset: UInt64?, length: Int)? {
    var length = chunkSize
    if let remaining {
      if remaining == 0 { return nil }
      length = Int(min(UInt64(chunkSize), remaining))
      self.remaining = remaining - UInt64(length)
    }
    let offset = nextOffset
    // Wrapping: an offset past `Int64.max` is refused when its read is
    // started, and no read is issued after a refused one.
    nextOffset = offset.map { $0 &+ UInt64(length) }
    return (offset, length)
  }
}

/// One read of `size` bytes at each offset `offsets` gives, in its order,
/// drawn one at a time as reads are issued (so a long or endless sequence
/// is never read ahead of the stream's depth).
final class OffsetReads: ReadPlan {
  private var offsets: any IteratorProtocol<UInt64>
  private let size: Int

  init(_ offsets: any IteratorProtocol<UInt64>, size: Int) {
    self.offsets = offsets
    self.size = size
  }

  var isSequential: Bool { false }

  func nextRead() -> (offset: UInt64?, length: Int)? {
    guard let offset = offsets.next() else { return nil }
    return (offset, size)
  }
}
