/// Memory this package does not own (an `mmap`ed file or region, a C
/// library's buffer, shared memory), wrapped so that it can be lent to the
/// kernel as ``BackingMemory``.
///
/// This is the explicitly unsafe door: the reactor keeps the *object* alive
/// while the kernel uses the memory (its in-flight slot retains it until the
/// final CQE), but it cannot keep the *memory* alive. That is the caller's
/// promise, as with the "borrowed" pages of Linux's Rust scatterlist bindings.
///
/// Lifetime contract (the caller guarantees):
/// - The `count` bytes at `start` stay mapped, readable and writable (readable
///   suffices if only writes to files or sockets use it) and are not freed,
///   unmapped or reused until `onRelease` runs, or, without `onRelease`, for
///   as long as the process lives or until the caller knows the last reference
///   is gone. Operations retain the object, not just their caller: an
///   operation whose task was cancelled keeps it until its CQE.
/// - Nobody writes the memory through other pointers while an operation may
///   read it, and nobody reads or writes it through other pointers while an
///   operation may write it. Access through this object is arbitrated
///   (``withBytes(_:)`` and ``withMutableBytes(_:)`` are refused while the
///   kernel uses the memory); other pointers are not.
///
/// Release: `onRelease`, if given, is called exactly once, from `deinit`, when
/// the last reference is gone: the caller's and every in-flight operation's
/// (so after the final CQE of the last operation that used it). It receives
/// the region and typically unmaps or frees it. It may run on any thread,
/// including the reactor's loop thread, so it must be quick and must not wait
/// for the reactor.
///
/// Thread-safety: `Sendable`; access states are kept under a lock.
@unsafe
public final class UnsafeForeignMemory: BackingMemory {
  // @unsafe: its memory lives only as long as the caller promised (see the lifetime contract).
  /// How many bytes it covers.
  public let count: Int
  // SAFETY: the caller's memory (see the lifetime contract); never freed here.
  nonisolated(unsafe) private let start: UnsafeMutableRawPointer
  private let onRelease: (@Sendable (UnsafeMutableRawBufferPointer) -> Void)?
  private let state = Locked(KernelAccessArbiter())

  /// Wraps `count` bytes at `start`, which the caller keeps valid until
  /// `onRelease` runs (see the lifetime contract of ``UnsafeForeignMemory``).
  ///
  /// - Parameters:
  ///   - start: the first byte. Alignment is the caller's business (`O_DIRECT`
  ///     needs the device's logical block size).
  ///   - count: how many bytes, `>= 0`.
  ///   - onRelease: called exactly once, with the region, when the last
  ///     reference (user's or kernel's) is gone; on any thread.
  @unsafe
  public init(
    unsafeStart start: UnsafeMutableRawPointer,
    count: Int,
    onRelease: (@Sendable (UnsafeMutableRawBufferPointer) -> Void)? = nil
  ) {
    precondition(count >= 0, "negative count")
    unsafe self.start = unsafe start
    unsafe self.count = count
    unsafe self.onRelease = unsafe onRelease
  }

  /// Wraps `unsafeBuffer`, which must have a base address; see
  /// ``init(unsafeStart:count:onRelease:)``.
  @unsafe
  public convenience init(
    unsafeBuffer buffer: UnsafeMutableRawBufferPointer,
    onRelease: (@Sendable (UnsafeMutableRawBufferPointer) -> Void)? = nil
  ) {
    guard let start = buffer.baseAddress else {
      preconditionFailure("UnsafeForeignMemory needs a buffer with a base address")
    }
    unsafe self.init(unsafeStart: start, count: buffer.count, onRelease: onRelease)
  }

  deinit {
    // Runs once, after every in-flight slot and every user let go (rule 2).
    unsafe onRelease?(unsafeRegion)
  }

  /// The wrapped memory: `count` bytes at the start given at creation.
  /// Valid as long as the caller keeps its promise (see the type's contract).
  @unsafe
  public var unsafeRegion: UnsafeMutableRawBufferPointer {
    unsafe UnsafeMutableRawBufferPointer(start: start, count: count)
  }

  /// Whether an in-flight operation may be writing the memory.
  public var isKernelWriting: Bool { unsafe state.withLock { $0.kernelWriters > 0 } }

  /// Whether an in-flight operation reads the memory.
  public var isKernelReading: Bool { unsafe state.withLock { $0.kernelReaders > 0 } }

  /// Reads all `count` bytes. Refused while the kernel may write them.
  public func withBytes<R, E: Error>(
    _ body: (RawSpan) throws(E) -> R
  ) throws(BufferAccessError<E>) -> R {
    do {
      unsafe try state.withLock { arbiter throws(MemoryAccessError) in
        try arbiter.beginUser(writing: false)
      }
    } catch {
      throw .busy(error)
    }
    defer { unsafe state.withLock { $0.endUser(writing: false) } }
    // SAFETY: no kernel writer and no user writer through this object while
    // this reader is registered; the caller keeps the memory valid.
    let bytes = unsafe UnsafeRawBufferPointer(start: start, count: count)
    do {
      return unsafe try body(bytes.bytes)
    } catch {
      throw .body(error)
    }
  }

  /// Mutates all `count` bytes. Refused while the kernel reads or writes
  /// them, or another user of this object does.
  public func withMutableBytes<R, E: Error>(
    _ body: (inout MutableRawSpan) throws(E) -> R
  ) throws(BufferAccessError<E>) -> R {
    do {
      unsafe try state.withLock { arbiter throws(MemoryAccessError) in
        try arbiter.beginUser(writing: true)
      }
    } catch {
      throw .busy(error)
    }
    defer { unsafe state.withLock { $0.endUser(writing: true) } }
    // SAFETY: the only accessor through this object (checked above); the
    // caller keeps the memory valid and does not touch it otherwise.
    let bytes = unsafe UnsafeMutableRawBufferPointer(start: start, count: count)
    var span = unsafe bytes.mutableBytes
    do {
      return try body(&span)
    } catch {
      throw .body(error)
    }
  }

  /// Called on the loop thread before an operation's SQE is prepared: the
  /// kernel may write the memory alone, or read it alongside user readers.
  public func beginKernelAccess(_ access: KernelAccess) throws(MemoryAccessError) {
    unsafe try state.withLock { arbiter throws(MemoryAccessError) in try arbiter.beginKernel(access)
    }
  }

  /// Called once the operation's final CQE has been reaped.
  public func endKernelAccess(_ access: KernelAccess) {
    unsafe state.withLock { $0.endKernel(access) }
  }
}

/// Who uses a piece of memory right now: the kernel may write it alone; it may
/// read it alongside user readers; users write it alone. The same rules as
/// ``SharedBuffer``'s.
struct KernelAccessArbiter {
  var kernelReaders = 0
  var kernelWriters = 0
  var userReaders = 0
  var userWriters = 0

  mutating func beginUser(writing: Bool) throws(MemoryAccessError) {
    if kernelWriters > 0 { throw MemoryAccessError(.kernelWriting) }
    if writing {
      if kernelReaders > 0 { throw MemoryAccessError(.kernelReading) }
      precondition(userReaders == 0 && userWriters == 0, "overlapping user access")
      userWriters += 1
    } else {
      precondition(userWriters == 0, "overlapping user access")
      userReaders += 1
    }
  }

  mutating func endUser(writing: Bool) {
    if writing { userWriters -= 1 } else { userReaders -= 1 }
  }

  mutating func beginKernel(_ access: KernelAccess) throws(MemoryAccessError) {
    if kernelWriters > 0 || userWriters > 0 { throw MemoryAccessError(.kernelWriting) }
    switch access {
    case .read:
      kernelReaders += 1
    case .write:
      if kernelReaders > 0 || userReaders > 0 { throw MemoryAccessError(.kernelReading) }
      kernelWriters += 1
    }
  }

  mutating func endKernel(_ access: KernelAccess) {
    switch access {
    case .read: kernelReaders -= 1
    case .write: kernelWriters -= 1
    }
  }
}
