/// Bytes a stream received into a buffer of a ``ProvidedBufferPool``, lent
/// to their consumer: what ``SocketStream/receive()`` returns.
///
/// - Ownership: move-only (checked by the compiler): exactly one owner reads
///   the bytes. Releasing it (going out of scope, or consuming it into
///   ``SocketStream/writeAll(_:)-(ReceivedBytes)``) puts its buffer back in the ring. That
///   happens on the reactor's loop thread: released elsewhere, the return is
///   posted there (rule 5: only the loop touches the ring). The kernel cannot
///   write the buffer meanwhile: it is out of the ring.
/// - Thread-safety: `Sendable`: it may move to another task.
/// - Cost: none to create; the bytes are where the kernel put them.
@safe
public struct ReceivedBytes: ~Copyable, @unchecked Sendable {
  // @safe: it holds a +1 reference to its pool, released exactly once (move-only).
  // SAFETY: a +1 reference to the pool, released in `deinit` or handed over
  // by `take()` (kept unmanaged so that `take()` may `discard self`).
  private let poolReference: Unmanaged<ProvidedBufferPool>
  let bufferID: UInt16
  /// How many bytes were received.
  public let count: Int

  init(pool: ProvidedBufferPool, chunk: ReceivedChunk) {
    unsafe self.poolReference = unsafe .passRetained(pool)
    self.bufferID = chunk.id
    self.count = chunk.count
  }

  deinit {
    unsafe poolReference.takeRetainedValue().release(bufferID)
  }

  var pool: ProvidedBufferPool { unsafe poolReference.takeUnretainedValue() }

  /// Whether no byte is held (never, for bytes `receive()` returned).
  public var isEmpty: Bool { count == 0 }

  /// Reads the bytes.
  public func withBytes<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
    // SAFETY: the buffer is out of the ring until this value is released,
    // so the kernel does not write it; `count` bytes were received into it.
    unsafe try body(pool.bytes(bufferID, count: count).bytes)
  }

  /// Reads the bytes through a pointer valid only inside `body`.
  public func withUnsafeBytes<R, E: Error>(
    _ body: (UnsafeRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    // SAFETY: as `withBytes`.
    unsafe try body(pool.bytes(bufferID, count: count))
  }

  /// A copy of the bytes.
  public var bytes: [UInt8] {
    unsafe withUnsafeBytes { unsafe Array($0) }
  }

  /// Gives up ownership without returning the buffer: the caller returns it
  /// (after the kernel is done reading it, for a send from it).
  consuming func take() -> (pool: ProvidedBufferPool, chunk: ReceivedChunk) {
    let taken = unsafe (
      pool: poolReference.takeRetainedValue(), chunk: ReceivedChunk(id: bufferID, count: count)
    )
    discard self
    return taken
  }
}
