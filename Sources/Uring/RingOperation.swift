public import CLibUring

/// A typed description of one submission: every `IORING_OP_*` this package
/// prepares, with the arguments the kernel reads.
///
/// Pointers in a `RingOperation` are read (or written) by the kernel until the
/// submission's final completion. This layer does not keep them alive: the
/// owner of the ring must (the reactor's in-flight table does).
@unsafe
public enum RingOperation {
  // @unsafe: its cases carry raw pointers the kernel reads or writes until the final CQE; nothing
  // here keeps them alive.
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
  /// `IORING_OP_OPENAT` into slot `slot` of the registered file table (a
  /// direct descriptor, `io_uring_prep_openat_direct`): no descriptor is
  /// created; later submissions name the file with `IOSQE_FIXED_FILE` and
  /// the slot. `O_CLOEXEC` is refused (`EINVAL`). The CQE's result is 0 on
  /// success.
  case openatDirect(
    directory: CInt, path: UnsafePointer<CChar>, flags: CInt, mode: UInt32, slot: UInt32)
  /// `IORING_OP_CLOSE` of slot `slot` of the registered file table
  /// (`io_uring_prep_close_direct`); `EBADF` if the slot is empty.
  case closeDirect(slot: UInt32)
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
  /// `IORING_OP_TIMEOUT` update (`IORING_TIMEOUT_UPDATE`) of the timeout `userData`.
  case timeoutUpdate(
    userData: UInt64, timespec: UnsafeMutablePointer<__kernel_timespec>, flags: UInt32)

  // MARK: Files and directories
  /// `IORING_OP_OPENAT2` with an `open_how`.
  case openat2(directory: CInt, path: UnsafePointer<CChar>, how: UnsafeMutablePointer<open_how>)
  /// `IORING_OP_STATX` into `buffer`.
  case statx(
    directory: CInt, path: UnsafePointer<CChar>, flags: CInt, mask: UInt32,
    buffer: UnsafeMutableRawPointer)
  /// `IORING_OP_FALLOCATE`.
  case fallocate(fd: CInt, mode: CInt, offset: UInt64, length: UInt64)
  /// `IORING_OP_FADVISE`.
  case fadvise(fd: CInt, offset: UInt64, length: UInt32, advice: CInt)
  /// `IORING_OP_FTRUNCATE` (6.9+; encoded by hand, liburing 2.3 predates it).
  case ftruncate(fd: CInt, length: UInt64)
  /// `IORING_OP_SPLICE` (`-1` offsets: the descriptor's position).
  case splice(
    input: CInt, inputOffset: Int64, output: CInt, outputOffset: Int64, count: UInt32, flags: UInt32
  )
  /// `IORING_OP_MKDIRAT`.
  case mkdirat(directory: CInt, path: UnsafePointer<CChar>, mode: UInt32)
  /// `IORING_OP_UNLINKAT` (`AT_REMOVEDIR` in `flags` for directories).
  case unlinkat(directory: CInt, path: UnsafePointer<CChar>, flags: CInt)
  /// `IORING_OP_RENAMEAT`.
  case renameat(
    oldDirectory: CInt, oldPath: UnsafePointer<CChar>, newDirectory: CInt,
    newPath: UnsafePointer<CChar>, flags: UInt32)
  /// `IORING_OP_LINKAT`.
  case linkat(
    oldDirectory: CInt, oldPath: UnsafePointer<CChar>, newDirectory: CInt,
    newPath: UnsafePointer<CChar>, flags: CInt)
  /// `IORING_OP_SYMLINKAT`.
  case symlinkat(target: UnsafePointer<CChar>, directory: CInt, path: UnsafePointer<CChar>)

  // MARK: Sockets
  /// `IORING_OP_SOCKET`.
  case socket(domain: CInt, type: CInt, protocol: CInt)
  /// `IORING_OP_ACCEPT`, multishot if asked (`address` must be `nil` then).
  case accept(
    fd: CInt, address: UnsafeMutablePointer<sockaddr>?, length: UnsafeMutablePointer<socklen_t>?,
    flags: CInt, multishot: Bool)
  /// `IORING_OP_CONNECT`.
  case connect(fd: CInt, address: UnsafePointer<sockaddr>, length: socklen_t)
  /// `IORING_OP_SEND`.
  case send(fd: CInt, buffer: UnsafeRawBufferPointer, flags: CInt)
  /// `IORING_OP_SEND_ZC`: the memory is read until the notification CQE.
  case sendZeroCopy(fd: CInt, buffer: UnsafeRawBufferPointer, flags: CInt, zeroCopyFlags: UInt32)
  /// `IORING_OP_RECV` into `buffer`.
  case receive(fd: CInt, buffer: UnsafeMutableRawBufferPointer, flags: CInt)
  /// `IORING_OP_RECV`, multishot, into buffers of provided-buffer group `group`
  /// (`IOSQE_BUFFER_SELECT` is set).
  case receiveMultishot(fd: CInt, group: UInt16, flags: CInt)
  /// `IORING_OP_SENDMSG`.
  case sendMessage(fd: CInt, message: UnsafePointer<msghdr>, flags: UInt32)
  /// `IORING_OP_RECVMSG`.
  case receiveMessage(fd: CInt, message: UnsafeMutablePointer<msghdr>, flags: UInt32)
  /// `IORING_OP_SHUTDOWN`.
  case shutdown(fd: CInt, how: CInt)

  /// The opcode this operation submits.
  public var opcode: Opcode {
    switch unsafe self {
    case .nop: .nop
    case .read: .read
    case .write: .write
    case .readv: .readv
    case .writev: .writev
    case .readFixed: .readFixed
    case .writeFixed: .writeFixed
    case .openat: .openat
    case .close, .closeDirect: .close
    case .openatDirect: .openat
    case .fsync: .fsync
    case .cancel: .asyncCancel
    case .pollAdd: .pollAdd
    case .timeout: .timeout
    case .timeoutRemove: .timeoutRemove
    case .linkTimeout: .linkTimeout
    case .messageRing: .msgRing
    case .timeoutUpdate: .timeoutRemove
    case .openat2: .openat2
    case .statx: .statx
    case .fallocate: .fallocate
    case .fadvise: .fadvise
    case .ftruncate: .ftruncate
    case .splice: .splice
    case .mkdirat: .mkdirat
    case .unlinkat: .unlinkat
    case .renameat: .renameat
    case .linkat: .linkat
    case .symlinkat: .symlinkat
    case .socket: .socket
    case .accept: .accept
    case .connect: .connect
    case .send: .send
    case .sendZeroCopy: .sendZC
    case .receive, .receiveMultishot: .recv
    case .sendMessage: .sendmsg
    case .receiveMessage: .recvmsg
    case .shutdown: .shutdown
    }
  }
}
