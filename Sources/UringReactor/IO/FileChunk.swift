import Glibc

/// One chunk of a file read by ``FileChunks`` or ``FileOffsetReads``:
/// `count` bytes that start at file offset `offset`.
///
/// - Ownership: the bytes live in a page-aligned buffer that the chunk owns
///   alone; the kernel is done with it (the read's CQE came before the
///   chunk was made). When the chunk is released its buffer goes back to
///   its stream, which reads the next chunks into it: streaming reuses a
///   bounded set of buffers as long as chunks are not kept.
/// - Zero copy: pass a chunk to ``FileWriter/write(_:)`` to write these
///   same bytes (the writer keeps the chunk until the write's CQE).
/// - Thread-safety: `Sendable` and immutable: read it from any thread.
public final class FileChunk: Sendable {
  /// Where the bytes were in the file (`nil` when read at the file position).
  public let offset: UInt64?
  /// How many bytes the chunk holds.
  public let count: Int
  let storage: ChunkStorage
  private let pool: ChunkBufferPool?

  init(offset: UInt64?, count: Int, storage: ChunkStorage, pool: ChunkBufferPool?) {
    self.offset = offset
    self.count = count
    self.storage = storage
    self.pool = pool
  }

  deinit {
    pool?.recycle(storage)
  }

  /// Reads the bytes.
  public func withBytes<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
    // SAFETY: the storage is owned by this chunk alone (no operation is in
    // flight on it) until the chunk's deinit; `count <= capacity`.
    unsafe try body(UnsafeRawBufferPointer(rebasing: storage.region[..<count]).bytes)
  }

  /// Reads the bytes through a pointer, valid only during `body`.
  public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R)
    throws(E) -> R
  {
    unsafe try body(UnsafeRawBufferPointer(rebasing: storage.region[..<count]))
  }

  /// A copy of the bytes.
  // SAFETY (this and `region`): as in `withBytes`: the chunk owns the storage.
  public var bytes: [UInt8] {
    unsafe Array(UnsafeRawBufferPointer(rebasing: storage.region[..<count]))
  }

  /// The memory the kernel writes from, for a zero-copy write.
  var region: UnsafeRawBufferPointer {
    unsafe UnsafeRawBufferPointer(rebasing: storage.region[..<count])
  }
}

/// The buffers of one stream: released chunks come back here and are reused
/// for later reads. At most `keep` idle buffers are kept; more are freed.
final class ChunkBufferPool: Sendable {
  let bufferSize: Int
  private let keep: Int
  private let idle = Locked<[ChunkStorage]>([])

  init(bufferSize: Int, keep: Int) {
    self.bufferSize = bufferSize
    self.keep = keep
  }

  /// A buffer: an idle one, or a new one (page-aligned).
  func take() -> ChunkStorage {
    idle.withLock { $0.popLast() } ?? ChunkStorage(capacity: bufferSize)
  }

  /// Takes back a buffer no one uses any more (no chunk, no operation).
  func recycle(_ storage: ChunkStorage) {
    idle.withLock { idle in
      if idle.count < keep { idle.append(storage) }
    }
  }

  /// How many idle buffers are kept (tests).
  var idleCount: Int { idle.withLock { $0.count } }
}

/// The memory of a stream's buffer: page-aligned, not zero-filled (only the
/// bytes an operation wrote, or that were copied in, are ever read: a chunk
/// exposes `0..<count` of what its read returned). Freed when the last
/// reference (a chunk's, a pool's, an in-flight slot's) is gone.
@safe
final class ChunkStorage: @unchecked Sendable {
  // @safe: it owns its aligned allocation (freed in deinit); operations retain the storage.
  let capacity: Int
  // SAFETY: allocated in `init`, freed in `deinit`; its bytes are written by
  // the kernel (a read in flight) or by the writer copying in, and read by
  // one chunk or write at a time, as the stream's ownership rules order.
  private let base: UnsafeMutableRawPointer

  init(capacity: Int) {
    var pointer: UnsafeMutableRawPointer?
    let result = unsafe posix_memalign(&pointer, SharedBuffer.alignment, max(capacity, 1))
    unsafe precondition(result == 0 && pointer != nil, "posix_memalign failed: \(result)")
    unsafe base = unsafe pointer!
    self.capacity = capacity
  }

  deinit {
    unsafe free(base)
  }

  var region: UnsafeMutableRawBufferPointer {
    unsafe UnsafeMutableRawBufferPointer(start: base, count: capacity)
  }
}
