public import CLibUring

/// A typed description of one submission: every `IORING_OP_*` this package
/// prepares, with the arguments the kernel reads.
///
/// Pointers in a `RingOperation` are read (or written) by the kernel until the
/// submission's final completion. This layer does not keep them alive: the
/// owner of the ring must (the reactor's in-flight table does).
public enum RingOperation {
  /// `IORING_OP_NOP`.
  case nop
  /// `IORING_OP_READ` into `buffer` at `offset` (`nil`: the current position).
  case read(fd: CInt, buffer: UnsafeMutableRawBufferPointer, offset: UInt64?)
  /// `IORING_OP_WRITE` from `buffer` at `offset` (`nil`: the current position).
  case write(fd: CInt, buffer: UnsafeRawBufferPointer, offset: UInt64?)
  /// `IORING_OP_READV` into `count` iovecs.
  case readv(fd: CInt, iovecs: UnsafePointer<iovec>, count: UInt32, offset: UInt64?)
  /// `IORING_OP_WRITEV` from `count` iovecs.
  case writev(fd: CInt, iovecs: UnsafePointer<iovec>, count: UInt32, offset: UInt64?)
  /// `IORING_OP_READ_FIXED` into registered buffer `index`.
  case readFixed(fd: CInt, buffer: UnsafeMutableRawBufferPointer, offset: UInt64?, index: UInt16)
  /// `IORING_OP_WRITE_FIXED` from registered buffer `index`.
  case writeFixed(fd: CInt, buffer: UnsafeRawBufferPointer, offset: UInt64?, index: UInt16)
  /// `IORING_OP_OPENAT`.
  case openat(directory: CInt, path: UnsafePointer<CChar>, flags: CInt, mode: UInt32)
  /// `IORING_OP_CLOSE`.
  case close(fd: CInt)
  /// `IORING_OP_FSYNC` (`IORING_FSYNC_DATASYNC` in `flags` for fdatasync).
  case fsync(fd: CInt, flags: UInt32)
  /// `IORING_OP_ASYNC_CANCEL` of the submission with `userData`.
  case cancel(userData: UInt64, flags: CInt)
  /// `IORING_OP_POLL_ADD` for `events` (`POLLIN`...), multishot if asked.
  case pollAdd(fd: CInt, events: UInt32, multishot: Bool)
  /// `IORING_OP_TIMEOUT`: completes after `timespec`, or after `count` completions.
  case timeout(timespec: UnsafeMutablePointer<__kernel_timespec>, count: UInt32, flags: UInt32)
  /// `IORING_OP_TIMEOUT_REMOVE` of the timeout with `userData`.
  case timeoutRemove(userData: UInt64, flags: UInt32)
  /// `IORING_OP_LINK_TIMEOUT` for the previous linked submission.
  case linkTimeout(timespec: UnsafeMutablePointer<__kernel_timespec>, flags: UInt32)
  /// `IORING_OP_MSG_RING`: posts a CQE with `result` and `userData` on `ringFD`.
  case messageRing(ringFD: CInt, result: UInt32, userData: UInt64)

  /// The opcode this operation submits.
  public var opcode: Opcode {
    switch self {
    case .nop: .nop
    case .read: .read
    case .write: .write
    case .readv: .readv
    case .writev: .writev
    case .readFixed: .readFixed
    case .writeFixed: .writeFixed
    case .openat: .openat
    case .close: .close
    case .fsync: .fsync
    case .cancel: .asyncCancel
    case .pollAdd: .pollAdd
    case .timeout: .timeout
    case .timeoutRemove: .timeoutRemove
    case .linkTimeout: .linkTimeout
    case .messageRing: .msgRing
    }
  }
}

extension Ring {
  /// Prepares one submission. It reaches the kernel on the next submit.
  /// Never fails: a full SQ is flushed first.
  public mutating func prepare(
    _ operation: RingOperation,
    userData: UInt64,
    flags: SubmissionFlags = []
  ) {
    let sqe = nextEntry()
    Ring.encode(operation, into: sqe)
    sqe.pointee.flags |= flags.rawValue
    io_uring_sqe_set_data64(sqe, userData)
  }

  /// `-1` as an unsigned offset: "use and advance the file position".
  private static func position(_ offset: UInt64?) -> UInt64 { offset ?? UInt64.max }

  static func encode(_ operation: RingOperation, into sqe: UnsafeMutablePointer<io_uring_sqe>) {
    switch operation {
    case .nop:
      io_uring_prep_nop(sqe)
    case .read(let fd, let buffer, let offset):
      io_uring_prep_read(sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset))
    case .write(let fd, let buffer, let offset):
      io_uring_prep_write(sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset))
    case .readv(let fd, let iovecs, let count, let offset):
      io_uring_prep_readv(sqe, fd, iovecs, count, position(offset))
    case .writev(let fd, let iovecs, let count, let offset):
      io_uring_prep_writev(sqe, fd, iovecs, count, position(offset))
    case .readFixed(let fd, let buffer, let offset, let index):
      io_uring_prep_read_fixed(
        sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset), Int32(index))
    case .writeFixed(let fd, let buffer, let offset, let index):
      io_uring_prep_write_fixed(
        sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset), Int32(index))
    case .openat(let directory, let path, let flags, let mode):
      io_uring_prep_openat(sqe, directory, path, flags, mode)
    case .close(let fd):
      io_uring_prep_close(sqe, fd)
    case .fsync(let fd, let flags):
      io_uring_prep_fsync(sqe, fd, flags)
    case .cancel(let userData, let flags):
      io_uring_prep_cancel64(sqe, userData, flags)
    case .pollAdd(let fd, let events, let multishot):
      if multishot {
        io_uring_prep_poll_multishot(sqe, fd, events)
      } else {
        io_uring_prep_poll_add(sqe, fd, events)
      }
    case .timeout(let timespec, let count, let flags):
      io_uring_prep_timeout(sqe, timespec, count, flags)
    case .timeoutRemove(let userData, let flags):
      io_uring_prep_timeout_remove(sqe, userData, flags)
    case .linkTimeout(let timespec, let flags):
      io_uring_prep_link_timeout(sqe, timespec, flags)
    case .messageRing(let ringFD, let result, let userData):
      io_uring_prep_msg_ring(sqe, ringFD, result, userData, 0)
    }
  }
}
