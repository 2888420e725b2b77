import Glibc
import Synchronization
public import SystemPackage
import Uring

/// An open file whose I/O runs on a reactor's ring.
///
/// - Ownership: the `File` owns its descriptor. Every in-flight operation on
///   it holds a reference to it (and to its memory) until its final CQE, so
///   the descriptor cannot be closed by `deinit` while the kernel uses it.
///   ``close()`` closes it through the ring (`IORING_OP_CLOSE`); otherwise the
///   last reference closes it with `close(2)`.
/// - Thread-safety: `Sendable`; call from any task. The descriptor is read
///   and closed only on the loop thread, in submission order, so an operation
///   can never reach the kernel with a descriptor number that was closed and
///   reused.
/// - Cancellation: a cancelled task's operation is cancelled with
///   `IORING_OP_ASYNC_CANCEL`; the call returns only after the operation's
///   CQE, with ``IOError/Kind/cancelled`` (or the result, if it completed).
///   Reads register the task's cancellation handler only if they are still
///   in flight once their submission returns: page-cached data is read
///   inside it, and a read that completed is never cancelled.
public final class File: Sendable {
  /// The reactor whose ring performs this file's I/O.
  public let reactor: Reactor
  /// The path it was opened with, if any (carried by errors).
  public let path: FilePath?
  /// What `O_DIRECT` I/O on this descriptor requires, or `nil` when it was
  /// not opened with `O_DIRECT`. Reads and writes check it before submitting
  /// and refuse a misaligned buffer, offset or length with
  /// ``IOError/Kind/invalidRequest(_:)``.
  public let directIO: DirectIOAlignment?
  // Ordering: relaxed. Read and written on the loop thread only (and in
  // `deinit`, which ARC orders after every other access, and by
  // `takeDescriptor`, on a File whose last operation's completion already
  // resumed its caller, which orders it after the loop's accesses).
  private let state: Atomic<Int32>

  /// Adopts an open descriptor. The `File` closes it.
  ///
  /// If the descriptor has `O_DIRECT` set (`fcntl(F_GETFL)`), ``directIO``
  /// assumes 512-byte alignment; ``open(_:_:options:permissions:relativeTo:on:)``
  /// asks the file system instead (`STATX_DIOALIGN`).
  public convenience init(
    adopting descriptor: FileDescriptor, path: FilePath? = nil, on reactor: Reactor
  ) {
    let flags = fcntl(descriptor.rawValue, F_GETFL)
    let direct = flags >= 0 && flags & File.directFlag != 0
    self.init(
      adopting: descriptor, path: path, directIO: direct ? .conservative : nil, on: reactor)
  }

  init(
    adopting descriptor: FileDescriptor, path: FilePath?, directIO: DirectIOAlignment?,
    on reactor: Reactor
  ) {
    self.reactor = reactor
    self.path = path
    self.directIO = directIO
    self.state = Atomic(descriptor.rawValue)
  }

  deinit {
    let fd = state.load(ordering: .relaxed)
    if fd >= 0 { Glibc.close(fd) }
  }

  /// The descriptor, or `nil` once closed.
  public var descriptor: FileDescriptor? {
    let fd = state.load(ordering: .relaxed)
    return fd >= 0 ? FileDescriptor(rawValue: fd) : nil
  }

  /// Opens `path` (`IORING_OP_OPENAT`), relative to the working directory
  /// unless `directory` (an open directory, kept alive until the CQE) is
  /// given. `O_CLOEXEC` is always added.
  ///
  /// `path` is a `FilePath` or text; text holding a NUL byte is refused with
  /// `EINVAL` before anything is submitted (see ``FilePathConvertible``).
  ///
  /// Cancellation: if the task is cancelled and the open completes anyway, the
  /// new descriptor is closed by the reactor (never leaked) and the call
  /// throws ``IOError/Kind/cancelled``.
  nonisolated(nonsending) public static func open(
    _ path: some FilePathConvertible,
    _ mode: FileDescriptor.AccessMode,
    options: FileDescriptor.OpenOptions = [],
    permissions: FilePermissions? = nil,
    relativeTo directory: File? = nil,
    on reactor: Reactor
  ) async throws(IOError) -> File {
    let path = try path.filePath(for: .openat)
    let cPath = CStringBox(path)
    let flags = mode.rawValue | options.rawValue | O_CLOEXEC
    let permissionBits = UInt32(permissions?.rawValue ?? 0)
    let fd = try await reactor.onLoop { loop throws(IOError) in
      let directoryFD = try directory?.liveDescriptor(for: .openat) ?? AT_FDCWD
      return unsafe try await loop.perform(
        .openat(directory: directoryFD, path: cPath.pointer, flags: flags, mode: permissionBits),
        retaining: (cPath, directory), createsDescriptor: true
      ).value(.openat, path: path)
    }
    return try await File.adopt(opened: fd, flags: flags, path: path, on: reactor)
  }

  /// Reads up to `buffer.capacity` bytes at `offset` (`nil`: the file
  /// position) into the start of `buffer` (`IORING_OP_READ`) and sets its
  /// `count` to the bytes read, which it returns (0 at end of file).
  ///
  /// The buffer is lent to the kernel until the CQE: meanwhile user access to
  /// it is refused, and it stays alive even if every other reference is
  /// dropped or the task is cancelled.
  nonisolated(nonsending) public func read(into buffer: SharedBuffer, at offset: UInt64? = nil)
    async throws(IOError) -> Int
  {
    try await reactor.onLoop { loop throws(IOError) in
      let operation = try self.lendForRead(buffer, at: offset)
      let outcome = await loop.perform(operation, registration: .lazy)
      return try self.endRead(buffer, outcome)
    }
  }

  /// A read's synchronous halves, kept out of its async frame: every
  /// throwing call inlined there would hold an `IOError` slot across the
  /// suspension, and a frame larger than a new task's first allocator slab
  /// costs each task that reads a malloc.
  @inline(never)
  func lendForRead(_ buffer: SharedBuffer, at offset: UInt64?) throws(IOError) -> OwnedOperation {
    // SAFETY: the kernel writes the buffer until the CQE; it is lent
    // (user access refused) and the operation retains it till then.
    let count = min(buffer.capacity, File.maximumTransfer)
    let region = unsafe OwnedOperation.region(of: buffer, count: count)
    let fd = unsafe try transferDescriptor(for: .read, at: offset, .region(region))
    try lendMemory(buffer, .write, for: .read)
    return .read(fd, into: buffer, count: count, at: offset, descriptorOwner: self)
  }

  /// Ends the buffer's loan and sets its count from the read's outcome.
  @inline(never)
  func endRead(_ buffer: SharedBuffer, _ outcome: OperationOutcome) throws(IOError) -> Int {
    buffer.endKernelWrite(count: outcome.readCount)
    return Int(try outcome.value(.read, path: path))
  }

  /// Writes the buffer's filled bytes (`0..<buffer.count`) at `offset` (`nil`:
  /// the file position) with `IORING_OP_WRITE`; returns the bytes written,
  /// which may be fewer. The kernel only reads the buffer: user reads of it
  /// stay allowed, user writes are refused until the CQE.
  nonisolated(nonsending) public func write(from buffer: SharedBuffer, at offset: UInt64? = nil)
    async throws(IOError)
    -> Int
  {
    try await reactor.onLoop { loop throws(IOError) in
      // SAFETY: the kernel reads the buffer until the CQE; it is lent (user
      // writes refused) and the operation retains it till then.
      let count = min(buffer.count, File.maximumTransfer)
      let region = unsafe OwnedOperation.region(of: buffer, count: count)
      let fd = unsafe try self.transferDescriptor(for: .write, at: offset, .region(region))
      try self.lendMemory(buffer, .read, for: .write)
      let outcome = await loop.perform(
        .write(fd, from: buffer, count: count, at: offset, descriptorOwner: self))
      buffer.endKernelAccess(.read)
      return Int(try outcome.value(.write, path: self.path))
    }
  }

  /// Closes the descriptor through the ring (`IORING_OP_CLOSE`). Operations
  /// already submitted keep the kernel's file reference and complete; later
  /// ones fail with `EBADF`. Closing twice throws `EBADF`. The close is never
  /// cancelled: a cancelled task, or one past its ``IODeadline``, closes the
  /// descriptor all the same.
  nonisolated(nonsending) public func close() async throws(IOError) {
    try await reactor.onLoop { loop throws(IOError) in
      let fd = self.state.exchange(-1, ordering: .relaxed)
      guard fd >= 0 else { throw self.error(.system(.badFileDescriptor), .close) }
      _ = try await loop.close(fd).value(.close, path: self.path)
    }
  }

  /// Closes the descriptor from the loop thread without waiting: through the
  /// ring (`IORING_OP_CLOSE`) while the loop takes operations, else with
  /// `close(2)`. Returns `false` if it was closed already. Used by streams
  /// that own their file, once their last operation completed.
  func closeOnLoop(_ loop: EventLoop) -> Bool {
    let fd = state.exchange(-1, ordering: .relaxed)
    guard fd >= 0 else { return false }
    loop.closeAfterPrepared(fd)
    return true
  }

  /// Gives up the descriptor without closing it; the `File` is closed
  /// afterwards. Only for a `File` no operation can reach yet.
  func takeDescriptor() -> CInt {
    state.exchange(-1, ordering: .relaxed)
  }

  // MARK: Helpers shared by every operation on the file (loop thread only)

  /// The open descriptor, or `EBADF` once closed. Read on the loop thread,
  /// where closes happen, so it cannot be closed before the SQE is prepared.
  @inline(__always)
  func liveDescriptor(for operation: Opcode) throws(IOError) -> CInt {
    let fd = state.load(ordering: .relaxed)
    guard fd >= 0 else { throw error(.system(.badFileDescriptor), operation) }
    return fd
  }

  /// The memory a read or write hands the kernel, for ``checkTransfer(for:at:_:)``.
  @unsafe
  enum TransferMemory {
    // @unsafe: it borrows pointers into memory that the caller keeps alive.
    /// One region (`IORING_OP_READ`/`WRITE`, and their `_FIXED` forms).
    case region(UnsafeMutableRawBufferPointer)
    /// The `count` regions of an `iovec` array (`IORING_OP_READV`/`WRITEV`).
    case iovecs(UnsafeMutablePointer<iovec>, count: Int)
    /// None: the bytes stay in the kernel (`IORING_OP_SPLICE`).
    case none
  }

  /// The live descriptor for a read or write (``liveDescriptor(for:)``), once
  /// ``checkTransfer(for:at:_:)`` has passed. Every transfer on a `File` calls
  /// it before submitting; it does what `read(into:at:)` has always done.
  @inline(__always)
  func transferDescriptor(
    for operation: Opcode, at offset: UInt64?, _ memory: TransferMemory
  ) throws(IOError) -> CInt {
    let fd = try liveDescriptor(for: operation)
    unsafe try checkTransfer(for: operation, at: offset, memory)
    return fd
  }

  /// The checks every read or write makes before submitting (a
  /// ``RegisteredFile``, which needs no descriptor, calls it directly):
  /// refuses an offset past `Int64.max`, which the kernel would take for
  /// "the file position" or a negative offset, and, for `O_DIRECT`, a
  /// misaligned offset or region (each `iovec` of a vectored one), with
  /// ``IOError/Kind/invalidRequest(_:)``. Nothing is submitted then.
  @inline(__always)
  func checkTransfer(
    for operation: Opcode, at offset: UInt64?, _ memory: TransferMemory
  ) throws(IOError) {
    try checkOffset(offset, for: operation)
    guard directIO != nil else { return }
    switch unsafe memory {
    case .region(let region):
      unsafe try checkDirectIO(region, offset: offset, for: operation)
    case .iovecs(let iovecs, let count):
      // The kernel wants each segment aligned; the offset is checked once.
      unsafe try checkDirectIO(
        UnsafeMutableRawBufferPointer(start: nil, count: 0), offset: offset, for: operation)
      for index in 0..<count {
        // SAFETY: `iovecs` holds `count` initialised entries (the caller's
        // request keeps them alive); only their addresses and lengths are read.
        let vector = unsafe iovecs[index]
        unsafe try checkDirectIO(
          UnsafeMutableRawBufferPointer(start: vector.iov_base, count: vector.iov_len),
          offset: nil, for: operation)
      }
    case .none:
      break
    }
  }

  /// Lends `memory` to the kernel for `access`, or throws
  /// ``IOError/Kind/memoryBusy(_:)``. The caller ends the access after the CQE.
  @inline(__always)
  func lendMemory(
    _ memory: some BackingMemory, _ access: KernelAccess, for operation: Opcode
  ) throws(IOError) {
    do throws(MemoryAccessError) {
      try memory.beginKernelAccess(access)
    } catch {
      throw self.error(.memoryBusy(error), operation)
    }
  }

  /// An error about this file: `kind`, `operation` and its ``path``.
  func error(_ kind: IOError.Kind, _ operation: Opcode) -> IOError {
    IOError(kind, operation: operation, path: path)
  }
}
