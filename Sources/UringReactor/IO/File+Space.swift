import Glibc
import SystemPackage
import Uring

/// How ``File/allocate(offset:length:mode:)`` changes the file's space
/// (`fallocate(2)` modes).
public struct AllocationMode: OptionSet, Sendable, Hashable {
  public let rawValue: CInt
  public init(rawValue: CInt) { self.rawValue = rawValue }

  /// `FALLOC_FL_KEEP_SIZE`: allocate blocks but leave the file size alone.
  public static let keepSize = AllocationMode(rawValue: 0x01)
  /// `FALLOC_FL_PUNCH_HOLE`: free the range (reads return zeros); must be
  /// combined with ``keepSize``.
  public static let punchHole = AllocationMode(rawValue: 0x02)
  /// `FALLOC_FL_COLLAPSE_RANGE`: remove the range, shifting the rest down.
  public static let collapseRange = AllocationMode(rawValue: 0x08)
  /// `FALLOC_FL_ZERO_RANGE`: zero the range, allocating it.
  public static let zeroRange = AllocationMode(rawValue: 0x10)
  /// `FALLOC_FL_INSERT_RANGE`: insert a hole, shifting the rest up.
  public static let insertRange = AllocationMode(rawValue: 0x20)
}

extension File {
  /// Allocates (or, with `mode`, frees or zeroes) `length` bytes at
  /// `offset` (`IORING_OP_FALLOCATE`). With the default mode the file grows
  /// to at least `offset + length` bytes, and later writes there cannot fail
  /// for lack of space.
  ///
  /// Thread-safety: call from any task. Cancellation: the request is
  /// cancelled if it has not started (`IORING_OP_ASYNC_CANCEL`); the call
  /// returns after its CQE.
  ///
  /// - Throws: `EOPNOTSUPP` where the file system lacks the mode, `ENOSPC`,
  ///   `EFBIG`, ``IOError/Kind/cancelled``.
  nonisolated(nonsending) public func allocate(
    offset: UInt64 = 0, length: UInt64, mode: AllocationMode = []
  ) async throws(IOError) {
    try await reactor.onLoop { loop throws(IOError) in
      let fd = try self.liveDescriptor(for: .fallocate)
      let outcome = unsafe await loop.perform(
        .fallocate(fd: fd, mode: mode.rawValue, offset: offset, length: length),
        retaining: (self, nil))
      _ = try outcome.value(.fallocate, path: self.path)
    }
  }

  /// Sets the file's size to `length` bytes, cutting or zero-extending it.
  ///
  /// Uses `IORING_OP_FTRUNCATE` where the kernel has it (6.9+, checked with
  /// the reactor's ``Reactor/probe``); otherwise runs `ftruncate(2)` on
  /// `pool` (never on the loop thread), on a duplicate of the descriptor so
  /// that a concurrent ``close()`` cannot make it name another file.
  ///
  /// Thread-safety: call from any task. Cancellation: on the ring, as
  /// ``allocate(offset:length:mode:)``; on the pool, a truncation that has
  /// not started is dropped and the call throws ``IOError/Kind/cancelled``.
  nonisolated(nonsending) public func truncate(
    to length: UInt64, offload pool: OffloadPool = .shared
  ) async throws(IOError) {
    try await truncate(to: length, offload: pool, useRing: reactor.probe.supports(.ftruncate))
  }

  /// ``truncate(to:offload:)`` with the path chosen by the caller (tests
  /// exercise the pool path on kernels that have the opcode).
  nonisolated(nonsending) func truncate(to length: UInt64, offload pool: OffloadPool, useRing: Bool)
    async throws(IOError)
  {
    guard length <= UInt64(Int64.max) else {
      throw IOError(.system(.fileTooLarge), operation: .ftruncate, path: path)
    }
    if useRing {
      try await reactor.onLoop { loop throws(IOError) in
        let fd = try self.liveDescriptor(for: .ftruncate)
        let outcome = unsafe await loop.perform(
          .ftruncate(fd: fd, length: length), retaining: (self, nil))
        _ = try outcome.value(.ftruncate, path: self.path)
      }
      return
    }
    let duplicate = try await reactor.onLoop { loop throws(IOError) -> CInt in
      let fd = try self.liveDescriptor(for: .ftruncate)
      let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
      guard copy >= 0 else {
        throw IOError(.system(Errno(rawValue: errno)), operation: .ftruncate, path: self.path)
      }
      return copy
    }
    let result: CInt
    do throws(OffloadPoolError) {
      result = try await pool.run { () -> CInt in
        let result = ftruncate(duplicate, off_t(length)) == 0 ? 0 : errno
        Glibc.close(duplicate)
        return result
      }
    } catch {
      Glibc.close(duplicate)
      let kind: IOError.Kind =
        error == .cancelled ? .cancelled : .invalidRequest("\(error)")
      throw IOError(kind, operation: .ftruncate, path: path, systemCall: "ftruncate")
    }
    if result != 0 {
      throw IOError(
        .system(Errno(rawValue: result)), operation: .ftruncate, path: path,
        systemCall: "ftruncate")
    }
  }
}
