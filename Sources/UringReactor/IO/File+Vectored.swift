import Glibc
import SystemPackage
import Uring

/// Why a vectored read or write failed: its regions were refused before
/// anything was submitted, or the I/O itself failed.
public enum VectoredIOError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The regions do not fit the memory; nothing reached the kernel.
  case invalidRegions(MemoryRegionError)
  /// The operation failed (errno, cancellation, shutdown, memory in use).
  case io(IOError)

  /// The I/O error, if that is what it was.
  public var ioError: IOError? {
    if case .io(let error) = self { return error }
    return nil
  }

  /// The underlying error's description.
  public var description: String {
    switch self {
    case .invalidRegions(let error): "\(error)"
    case .io(let error): "\(error)"
    }
  }
}

/// What a vectored operation lends the kernel: the memory and the `iovec`
/// array that points into it. The in-flight slot retains it until the final
/// CQE (rule 1, rule 2), because the kernel may read the iovecs (and it reads
/// or writes the memory) at any time until then.
@safe
final class VectoredRequest: @unchecked Sendable {
  // @safe: it owns its iovec array (freed in deinit) and retains every buffer the iovecs point into.
  let memory: any BackingMemory
  // SAFETY: allocated and initialised in `init`, freed in `deinit`. Written
  // only in `init`; afterwards only the kernel reads it. `deinit` runs only
  // once every holder, including the in-flight slot (released on the final
  // CQE), has let go.
  let iovecs: UnsafeMutablePointer<iovec>
  let count: Int

  /// `regions` must have been validated against `memory`.
  init(memory: any BackingMemory, regions: [MemoryRegion]) {
    self.memory = memory
    self.count = regions.count
    unsafe iovecs = .allocate(capacity: max(regions.count, 1))
    let base = unsafe memory.unsafeRegion.baseAddress
    for (index, region) in regions.enumerated() {
      // SAFETY: `region` lies within `memory.unsafeRegion` (validated), which
      // stays valid while `memory` (retained above) is alive.
      unsafe (iovecs + index).initialize(
        to: iovec(iov_base: base.map { unsafe $0 + region.offset }, iov_len: region.length))
    }
  }

  deinit {
    unsafe iovecs.deinitialize(count: count)
    unsafe iovecs.deallocate()
  }
}

extension File {
  /// Reads into several regions of `memory` with one `IORING_OP_READV`,
  /// filling them in order, and returns how many bytes were read in all
  /// (0 at end of file; fewer than the regions hold on a short read).
  ///
  /// - Parameters:
  ///   - memory: any ``BackingMemory`` (a ``SharedBuffer``, an
  ///     ``UnsafeForeignMemory``...). Its size is `memory.unsafeRegion.count`;
  ///     a ``SharedBuffer``'s `count` is left as it was.
  ///   - regions: where to put the bytes, at most ``MemoryRegion/maximumCount``;
  ///     they must lie within the memory and must not overlap.
  ///   - offset: the file offset, or `nil` for the file position.
  ///
  /// Ownership: the memory and the `iovec` array built from `regions` are
  /// lent to the kernel: one object holding both is retained by the reactor's
  /// in-flight slot until the operation's final CQE, so neither is freed
  /// while the kernel may use it, whatever happens to the calling task. While
  /// lent, the memory refuses user access through its own arbitration
  /// (``BackingMemory/beginKernelAccess(_:)``).
  ///
  /// Thread-safety: call from any task; the SQE is prepared on the loop thread.
  ///
  /// Cancellation: a cancelled task's read is cancelled with
  /// `IORING_OP_ASYNC_CANCEL`; the call returns only after its CQE, throwing
  /// ``IOError/Kind/cancelled`` (or returning the count, if it completed).
  ///
  /// - Throws: ``VectoredIOError/invalidRegions(_:)`` before submitting
  ///   anything when the regions do not fit the memory;
  ///   ``VectoredIOError/io(_:)`` when the read fails or the memory is busy,
  ///   or, before submitting, with ``IOError/Kind/invalidRequest(_:)`` for an
  ///   offset past `Int64.max` or (for ``File/directIO``) a misaligned offset
  ///   or region: each region must be aligned, as the kernel requires.
  nonisolated(nonsending) public func read(
    into memory: some BackingMemory, regions: [MemoryRegion], at offset: UInt64? = nil
  ) async throws(VectoredIOError) -> Int {
    try await vectored(.readv, memory: memory, regions: regions, offset: offset)
  }

  /// Writes several regions of `memory`, in order, with one
  /// `IORING_OP_WRITEV`, and returns how many bytes were written (possibly
  /// fewer than the regions hold).
  ///
  /// - Parameters:
  ///   - memory: any ``BackingMemory``; the regions are taken from its whole
  ///     size (`memory.unsafeRegion`), whatever a ``SharedBuffer``'s `count` says.
  ///   - regions: the bytes to write, at most ``MemoryRegion/maximumCount``;
  ///     they must lie within the memory and may overlap (the same bytes are
  ///     written twice).
  ///   - offset: the file offset, or `nil` for the file position.
  ///
  /// Ownership, thread-safety and cancellation: as
  /// ``read(into:regions:at:)``; the kernel only reads the memory, so user
  /// reads of it stay allowed while the write is in flight.
  ///
  /// - Throws: ``VectoredIOError/invalidRegions(_:)`` or ``VectoredIOError/io(_:)``.
  nonisolated(nonsending) public func write(
    from memory: some BackingMemory, regions: [MemoryRegion], at offset: UInt64? = nil
  ) async throws(VectoredIOError) -> Int {
    try await vectored(.writev, memory: memory, regions: regions, offset: offset)
  }

  nonisolated(nonsending) private func vectored(
    _ opcode: Opcode, memory: some BackingMemory, regions: [MemoryRegion], offset: UInt64?
  ) async throws(VectoredIOError) -> Int {
    let isRead = opcode == .readv
    do {
      unsafe try MemoryRegion.validate(
        regions, memorySize: memory.unsafeRegion.count, forKernelWrites: isRead)
    } catch {
      throw .invalidRegions(error)
    }
    let request = VectoredRequest(memory: memory, regions: regions)
    // A read has the kernel write the memory; a write has it read it.
    let access: KernelAccess = isRead ? .write : .read
    do {
      return try await reactor.onLoop { loop throws(IOError) -> Int in
        let fd = unsafe try self.transferDescriptor(
          for: opcode, at: offset, .iovecs(request.iovecs, count: request.count))
        try self.lendMemory(memory, access, for: opcode)
        let count = UInt32(request.count)
        let operation: RingOperation =
          unsafe isRead
          ? .readv(fd: fd, iovecs: request.iovecs, count: count, offset: offset)
          : .writev(fd: fd, iovecs: request.iovecs, count: count, offset: offset)
        // SAFETY: the in-flight slot retains `request` (the iovecs and the
        // memory they point into) and the file until the final CQE.
        let outcome = unsafe await loop.perform(
          operation, retaining: (request, self), registration: isRead ? .lazy : .eager)
        memory.endKernelAccess(access)
        return Int(try outcome.value(opcode, path: self.path))
      }
    } catch {
      throw .io(error)
    }
  }
}
