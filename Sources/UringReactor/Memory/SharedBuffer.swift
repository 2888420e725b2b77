import Glibc
import Synchronization

/// A page-aligned, reference-counted byte buffer that operations can share
/// with the kernel: the Arc-like buffer of this package.
///
/// - Ownership: reference-counted by Swift. Every in-flight operation that
///   uses it holds a reference until its final completion, so the memory is
///   freed only once no user and no kernel operation can touch it.
/// - Access: while the kernel may write it, user access is refused with a
///   ``MemoryAccessError``; while the kernel only reads it, user reads are fine
///   and user writes are refused. ``withUniqueBytes(_:)`` tells whether the
///   caller may mutate right now.
/// - Alignment: the start is page-aligned and the capacity is whatever was
///   asked, so it can serve `O_DIRECT` I/O when the capacity is a multiple of
///   the device's logical block size.
/// - Thread-safety: `Sendable`; access states are kept under a lock.
@safe
public final class SharedBuffer: BackingMemory {
  // @safe: it owns its page-aligned allocation (freed in deinit, once no user or in-flight operation
  // holds it); access is arbitrated under its lock.
  private struct AccessState {
    var count = 0
    var kernelReaders = 0
    var kernelWriters = 0
    var userReaders = 0
    var userWriters = 0
  }

  /// How many bytes the buffer holds.
  public let capacity: Int
  // SAFETY: allocated with posix_memalign in `init`, zero-filled, freed in
  // `deinit`, which runs only after the last in-flight operation's slot (and
  // every user) dropped its reference.
  // @usableFromInline: read by the inlinable accessors below.
  @usableFromInline nonisolated(unsafe) let base: UnsafeMutableRawPointer
  private let state = Locked(AccessState())

  /// The page size the start is aligned to.
  public static let alignment = Int(sysconf(Int32(_SC_PAGESIZE)))

  /// A zero-filled buffer of `capacity` bytes, empty (`count == 0`).
  public convenience init(capacity: Int) {
    self.init(capacity: capacity, zeroed: true)
  }

  /// `zeroed: false` leaves the memory as malloc gave it: for a buffer the
  /// kernel fills at once, whose owner zeroes what the kernel did not write
  /// (``FileSystem/readFiles(_:maximumSize:)``) before anyone sees it.
  init(capacity: Int, zeroed: Bool) {
    precondition(capacity >= 0, "negative capacity")
    var pointer: UnsafeMutableRawPointer?
    let result = unsafe posix_memalign(&pointer, Self.alignment, max(capacity, 1))
    unsafe precondition(result == 0 && pointer != nil, "posix_memalign failed: \(result)")
    unsafe base = unsafe pointer!
    if zeroed {
      unsafe base.initializeMemory(as: UInt8.self, repeating: 0, count: max(capacity, 1))
    }
    self.capacity = capacity
  }

  /// A buffer holding a copy of `bytes` (`count == bytes.count`).
  public convenience init(_ bytes: some Collection<UInt8>) {
    self.init(capacity: bytes.count)
    unsafe UnsafeMutableRawBufferPointer(start: base, count: capacity).copyBytes(from: bytes)
    state.withLock { $0.count = bytes.count }
  }

  deinit {
    unsafe free(base)
  }

  @unsafe
  public var unsafeRegion: UnsafeMutableRawBufferPointer {
    unsafe UnsafeMutableRawBufferPointer(start: base, count: capacity)
  }

  /// How many bytes are filled (set by reads into the buffer and by writers).
  public var count: Int { state.withLock { $0.count } }

  /// Whether an in-flight operation may be writing the buffer.
  public var isKernelWriting: Bool { state.withLock { $0.kernelWriters > 0 } }

  /// Whether an in-flight operation reads the buffer.
  public var isKernelReading: Bool { state.withLock { $0.kernelReaders > 0 } }

  /// Reads the filled bytes. Refused while the kernel may write them.
  ///
  /// Inlinable, so that a client's `body` is specialized and inlined into
  /// its caller (the access check stays one call).
  @inlinable
  public func withBytes<R, E: Error>(
    _ body: (RawSpan) throws(E) -> R
  ) throws(BufferAccessError<E>) -> R {
    let count: Int
    do { count = try beginUser(writing: false) } catch { throw .busy(error) }
    defer { endUser(writing: false) }
    // SAFETY: no kernel writer (checked above) and no user writer can start
    // while this reader is registered; the memory outlives the call.
    let bytes = unsafe UnsafeRawBufferPointer(start: base, count: count)
    do {
      return unsafe try body(bytes.bytes)
    } catch {
      throw .body(error)
    }
  }

  /// Mutates the whole capacity and sets the filled count to what `body`
  /// returns. Refused while the kernel reads or writes the buffer, or another
  /// user reads or writes it. Inlinable, as ``withBytes(_:)``.
  @inlinable
  public func withMutableBytes<E: Error>(
    _ body: (inout MutableRawSpan) throws(E) -> Int
  ) throws(BufferAccessError<E>) {
    do { _ = try beginUser(writing: true) } catch { throw .busy(error) }
    var newCount = 0
    defer { endUser(writing: true, count: newCount) }
    // SAFETY: this is the only accessor (checked above) and the memory
    // outlives the call.
    let bytes = unsafe UnsafeMutableRawBufferPointer(start: base, count: capacity)
    var span = unsafe bytes.mutableBytes
    do {
      newCount = try body(&span)
    } catch {
      newCount = count
      throw .body(error)
    }
    precondition(newCount >= 0 && newCount <= capacity, "count out of range")
  }

  /// Like `Arc::get_mut`: runs `body` with mutable access if nobody (user or
  /// kernel) uses the buffer right now and returns its result; returns `nil`
  /// without running it otherwise.
  public func withUniqueBytes<R>(_ body: (inout MutableRawSpan) -> R) -> R? {
    guard (try? beginUser(writing: true)) != nil else { return nil }
    defer { endUser(writing: true, count: state.withLock { $0.count }) }
    let bytes = unsafe UnsafeMutableRawBufferPointer(start: base, count: capacity)
    var span = unsafe bytes.mutableBytes
    return body(&span)
  }

  /// A copy of the filled bytes. Refused while the kernel may write them.
  public func bytes() throws(MemoryAccessError) -> [UInt8] {
    do {
      return try withBytes { (span: RawSpan) throws(Never) -> [UInt8] in
        unsafe span.withUnsafeBytes { unsafe Array($0) }
      }
    } catch {
      switch error {
      case .busy(let busy): throw busy
      case .body: fatalError("unreachable: the body cannot throw")
      }
    }
  }

  /// Sets how many bytes are filled (after an operation wrote into it).
  func setCount(_ count: Int) {
    precondition(count >= 0 && count <= capacity)
    state.withLock { $0.count = count }
  }

  /// Ends a kernel write (a read into the buffer) and, if it filled
  /// `count` bytes, sets the count, in one lock section.
  func endKernelWrite(count: Int?) {
    if let count { precondition(count >= 0 && count <= capacity) }
    state.withLock { state in
      state.kernelWriters -= 1
      if let count { state.count = count }
    }
  }

  @usableFromInline func beginUser(writing: Bool) throws(MemoryAccessError) -> Int {
    try state.withLock { state throws(MemoryAccessError) -> Int in
      if state.kernelWriters > 0 { throw MemoryAccessError(.kernelWriting) }
      if writing && state.kernelReaders > 0 { throw MemoryAccessError(.kernelReading) }
      if writing {
        precondition(state.userReaders == 0 && state.userWriters == 0, "overlapping user access")
        state.userWriters += 1
      } else {
        precondition(state.userWriters == 0, "overlapping user access")
        state.userReaders += 1
      }
      return state.count
    }
  }

  @usableFromInline func endUser(writing: Bool, count: Int? = nil) {
    state.withLock { state in
      if writing { state.userWriters -= 1 } else { state.userReaders -= 1 }
      if let count { state.count = count }
    }
  }

  public func beginKernelAccess(_ access: KernelAccess) throws(MemoryAccessError) {
    try state.withLock { state throws(MemoryAccessError) in
      if state.kernelWriters > 0 || state.userWriters > 0 {
        throw MemoryAccessError(.kernelWriting)
      }
      switch access {
      case .read:
        state.kernelReaders += 1
      case .write:
        if state.kernelReaders > 0 || state.userReaders > 0 {
          throw MemoryAccessError(.kernelReading)
        }
        state.kernelWriters += 1
      }
    }
  }

  public func endKernelAccess(_ access: KernelAccess) {
    state.withLock { state in
      switch access {
      case .read: state.kernelReaders -= 1
      case .write: state.kernelWriters -= 1
      }
    }
  }
}

/// A refused access, or the error the access's body threw.
public enum BufferAccessError<Failure: Error>: Error {
  /// The kernel may be using the buffer.
  case busy(MemoryAccessError)
  /// The body threw.
  case body(Failure)
}
