import Glibc

/// A move-only byte buffer that an operation takes and hands back, like
/// tokio-uring's owned buffers: `read(into:)` consumes it and returns it in an
/// ``IOResult`` together with the byte count or the error.
///
/// - Ownership: exactly one owner at a time, checked by the compiler. Passing
///   the buffer to an operation moves it there; using it afterwards is a
///   compile error until the operation hands it back. So no user code can
///   touch the bytes while the kernel may, with no runtime check at all.
///   Internally the bytes belong to a reference-counted storage object that
///   the reactor's in-flight slot also retains until the operation's final CQE
///   (rule 1): even if the awaiting task is cancelled, the memory lives until
///   the kernel is done with it.
/// - Count: `count` bytes (from the start) are filled; `capacity` bytes exist.
///   A read fills from the start and sets `count` to the bytes read (0 when it
///   fails); a write sends `0..<count` and leaves `count` as it was.
/// - Alignment: the start is page-aligned (``SharedBuffer/alignment``), so a
///   buffer whose capacity is a multiple of the device's logical block size
///   can serve `O_DIRECT` I/O.
/// - Thread-safety: `Sendable`: it can be moved to another task. Being unique,
///   it needs no lock.
public struct OwnedBuffer: ~Copyable, Sendable {
  /// The bytes; shared only with the in-flight slot of the operation the
  /// buffer is consumed into.
  @usableFromInline let storage: OwnedBufferStorage
  /// How many bytes (from the start) are filled.
  public internal(set) var count: Int

  /// A zero-filled buffer of `capacity` bytes, with nothing filled (`count == 0`).
  public init(capacity: Int) {
    storage = OwnedBufferStorage(capacity: capacity)
    count = 0
  }

  /// A buffer holding a copy of `bytes` (`count == capacity == bytes.count`).
  public init(_ bytes: some Collection<UInt8>) {
    storage = OwnedBufferStorage(capacity: bytes.count)
    // SAFETY: the storage was just allocated with `bytes.count` bytes and is
    // referenced by nothing else yet.
    unsafe storage.region.copyBytes(from: bytes)
    count = bytes.count
  }

  /// How many bytes the buffer holds.
  public var capacity: Int { storage.capacity }

  /// Whether no byte is filled.
  public var isEmpty: Bool { count == 0 }

  /// Reads the filled bytes (`0..<count`). Inlinable: a client's `body` is
  /// specialized and inlined into its caller.
  @inlinable
  public func withBytes<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
    // SAFETY: the caller owns (or borrows) the only `OwnedBuffer` over this
    // storage, so the kernel is not using it; `count <= capacity`.
    let bytes = unsafe UnsafeRawBufferPointer(rebasing: storage.region[..<count])
    return unsafe try body(bytes.bytes)
  }

  /// Mutates the whole capacity, then sets `count` to what `body` returns
  /// (`0...capacity`; it traps otherwise). If `body` throws, `count` is
  /// unchanged (but bytes it wrote stay written).
  public mutating func withMutableBytes<E: Error>(
    _ body: (inout MutableRawSpan) throws(E) -> Int
  ) throws(E) {
    // SAFETY: `mutating` gives exclusive access to the only `OwnedBuffer`
    // over this storage; the kernel is not using it.
    let region = unsafe storage.region
    var span = unsafe region.mutableBytes
    let newCount = try body(&span)
    precondition(newCount >= 0 && newCount <= capacity, "count out of range")
    count = newCount
  }

  /// A copy of the filled bytes.
  public var bytes: [UInt8] {
    withBytes { (span: RawSpan) -> [UInt8] in unsafe span.withUnsafeBytes { unsafe Array($0) } }
  }

  /// Forgets the filled bytes (`count = 0`); the capacity stays.
  public mutating func removeAll() {
    count = 0
  }
}

/// The memory behind an ``OwnedBuffer``: page-aligned, freed when the last
/// reference (the buffer's or an in-flight slot's) is gone.
@safe
@usableFromInline
final class OwnedBufferStorage: @unchecked Sendable {
  // @safe: it owns its allocation (freed in deinit); operations retain the storage.
  let capacity: Int
  // SAFETY: allocated with posix_memalign in `init`, freed in `deinit`. The
  // bytes are touched by the holder of the unique `OwnedBuffer`, or by the
  // kernel while that buffer is consumed into an operation, never both; the
  // class is otherwise shared only by reference counting (an in-flight slot).
  private let base: UnsafeMutableRawPointer

  init(capacity: Int) {
    precondition(capacity >= 0, "negative capacity")
    var pointer: UnsafeMutableRawPointer?
    let result = unsafe posix_memalign(&pointer, SharedBuffer.alignment, max(capacity, 1))
    unsafe precondition(result == 0 && pointer != nil, "posix_memalign failed: \(result)")
    unsafe base = unsafe pointer!
    unsafe base.initializeMemory(as: UInt8.self, repeating: 0, count: max(capacity, 1))
    self.capacity = capacity
  }

  deinit {
    unsafe free(base)
  }

  @usableFromInline var region: UnsafeMutableRawBufferPointer {
    unsafe UnsafeMutableRawBufferPointer(start: base, count: capacity)
  }
}

/// A buffer handed back by an operation, with the operation's result: what
/// tokio-uring returns as a `(result, buffer)` tuple (tuples of move-only
/// values are not available in Swift 6.3).
///
/// The operation always returns the buffer, also when it fails or its task
/// is cancelled; and it returns only after the kernel is done with it (the
/// final CQE), so the buffer can be used again at once.
///
/// `@frozen`, so that other modules can take the fields apart:
/// `let buffer = outcome.buffer` consumes the result and keeps the buffer.
/// Copyable (and `Sendable`) when `Buffer` is.
@frozen
public struct IOResult<Buffer: ~Copyable>: ~Copyable {
  /// The buffer the operation consumed, handed back.
  public var buffer: Buffer
  /// The bytes transferred, or why the operation failed (``IOError/Kind/cancelled``
  /// when the task was cancelled and the kernel cancelled the operation).
  public var result: Result<Int, IOError>

  /// Pairs a handed-back buffer with its operation's result.
  public init(buffer: consuming Buffer, result: Result<Int, IOError>) {
    self.buffer = buffer
    self.result = result
  }

  /// The bytes transferred, or `nil` if the operation failed.
  public var bytesTransferred: Int? {
    if case .success(let count) = result { return count }
    return nil
  }

  /// The error, or `nil` if the operation succeeded.
  public var error: IOError? {
    if case .failure(let error) = result { return error }
    return nil
  }
}

extension IOResult: Copyable where Buffer: Copyable {}
extension IOResult: Sendable where Buffer: Sendable & ~Copyable {}
