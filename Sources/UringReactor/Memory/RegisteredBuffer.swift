import Glibc
import SystemPackage
import Uring

/// The mapping behind a pool: `count` page-aligned slots of `size` bytes.
@safe
final class RegisteredBufferStorage: @unchecked Sendable {
  // @safe: it owns its registered memory (freed in deinit, after unregistration).
  let count: Int
  let size: Int
  /// Bytes from one buffer's start to the next: `size` rounded up to a page.
  let stride: Int
  // SAFETY: mapped in `init`, unmapped in `deinit`, which runs only after the
  // pool is unregistered (or its unregistration job ran, or the ring is gone)
  // and no fixed operation retains it. The bytes of a buffer are touched only
  // by the holder of its unique lease, or by the kernel while the lease is
  // consumed into an operation. Anonymous memory: even pages the kernel still
  // pinned after an unmap would never alias memory mapped later.
  private let base: UnsafeMutableRawPointer
  private let length: Int

  init(count: Int, size: Int) throws(RegisteredBufferError) {
    let page = SharedBuffer.alignment
    let stride = (size + page - 1) / page * page
    let length = stride * count
    let pointer = unsafe mmap(
      nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let pointer = unsafe pointer, unsafe pointer != UnsafeMutableRawPointer(bitPattern: -1)
    else {
      throw RegisteredBufferError(.allocationFailed(Errno(rawValue: Glibc.errno)))
    }
    unsafe self.base = unsafe pointer
    self.count = count
    self.size = size
    self.stride = stride
    self.length = length
  }

  deinit {
    unsafe munmap(base, length)
  }

  func region(_ index: Int) -> UnsafeMutableRawBufferPointer {
    precondition(index >= 0 && index < count, "registered buffer index out of range")
    return unsafe UnsafeMutableRawBufferPointer(start: base + index * stride, count: size)
  }

  /// One iovec per buffer, in index order, for `io_uring_register_buffers`.
  var iovecs: [iovec] {
    unsafe (0..<count).map { index in unsafe iovec(iov_base: base + index * stride, iov_len: size) }
  }
}

/// A lease on one registered buffer of a ``RegisteredBufferPool``: move-only,
/// and the only way to name registered memory, so fixed operations
/// (``File/readFixed(into:at:)``, ``File/writeFixed(from:at:)``) accept
/// nothing else.
///
/// - Ownership: unique. Releasing the lease (dropping it, or the ``IOResult``
///   that carries it) returns the buffer to its pool, waking a task waiting in
///   ``RegisteredBufferPool/next()``. A fixed operation consumes the lease and
///   hands it back after its final CQE, so a lease in flight stays lent and
///   its pool cannot be unregistered. The lease keeps its pool (and memory)
///   alive.
/// - Count: `count` bytes from the start are filled (0 on a fresh lease); a
///   fixed read sets it, a fixed write sends `0..<count`.
/// - Thread-safety: `Sendable`: it can move to another task.
public struct RegisteredBuffer: ~Copyable, Sendable {
  /// The pool it was lent from.
  public let pool: RegisteredBufferPool
  /// Its index in the ring's registered buffer table (the SQE's `buf_index`).
  public let index: UInt16
  /// How many bytes (from the start) are filled.
  public internal(set) var count: Int

  init(pool: RegisteredBufferPool, index: UInt16) {
    self.pool = pool
    self.index = index
    self.count = 0
  }

  deinit {
    pool.giveBack(index)
  }

  /// The buffer's size (the pool's `bufferSize`).
  public var capacity: Int { pool.bufferSize }

  /// Reads the filled bytes (`0..<count`).
  public func withBytes<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
    // SAFETY: the lease is unique and not consumed into an operation, so the
    // kernel is not using this buffer; the pool's mapping outlives the lease.
    let bytes = unsafe UnsafeRawBufferPointer(rebasing: pool.region(index)[..<count])
    return unsafe try body(bytes.bytes)
  }

  /// Mutates the whole buffer, then sets `count` to what `body` returns
  /// (`0...capacity`; it traps otherwise). If `body` throws, `count` is unchanged.
  public mutating func withMutableBytes<E: Error>(
    _ body: (inout MutableRawSpan) throws(E) -> Int
  ) throws(E) {
    // SAFETY: exclusive access to the unique lease; the kernel is not using
    // this buffer; the pool's mapping outlives the lease.
    let region = unsafe pool.region(index)
    var span = unsafe region.mutableBytes
    let newCount = try body(&span)
    precondition(newCount >= 0 && newCount <= capacity, "count out of range")
    count = newCount
  }

  /// A copy of the filled bytes.
  public var bytes: [UInt8] {
    withBytes { (span: RawSpan) -> [UInt8] in unsafe span.withUnsafeBytes { unsafe Array($0) } }
  }
}
