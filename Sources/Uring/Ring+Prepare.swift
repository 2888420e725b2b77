import CLibUring

extension Ring {
  /// Prepares one submission. It reaches the kernel on the next submit.
  /// Never fails: a full SQ is flushed first.
  @unsafe
  public mutating func prepare(
    _ operation: RingOperation,
    userData: UInt64,
    flags: SubmissionFlags = []
  ) {
    let sqe = unsafe nextEntry()
    unsafe Ring.encode(operation, into: sqe)
    unsafe sqe.pointee.flags |= flags.rawValue
    unsafe io_uring_sqe_set_data64(sqe, userData)
  }

  /// `-1` as an unsigned offset: "use and advance the file position".
  private static func position(_ offset: UInt64?) -> UInt64 { offset ?? UInt64.max }

  static func encode(_ operation: RingOperation, into sqe: UnsafeMutablePointer<io_uring_sqe>) {
    switch unsafe operation {
    case .nop:
      unsafe io_uring_prep_nop(sqe)
    case .read(let fd, let buffer, let offset):
      unsafe io_uring_prep_read(sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset))
    case .write(let fd, let buffer, let offset):
      unsafe io_uring_prep_write(
        sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset))
    case .readv(let fd, let iovecs, let count, let offset):
      unsafe io_uring_prep_readv(sqe, fd, iovecs, count, position(offset))
    case .writev(let fd, let iovecs, let count, let offset):
      unsafe io_uring_prep_writev(sqe, fd, iovecs, count, position(offset))
    case .readFixed(let fd, let buffer, let offset, let index):
      unsafe io_uring_prep_read_fixed(
        sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset), Int32(index))
    case .writeFixed(let fd, let buffer, let offset, let index):
      unsafe io_uring_prep_write_fixed(
        sqe, fd, buffer.baseAddress, UInt32(buffer.count), position(offset), Int32(index))
    case .openat(let directory, let path, let flags, let mode):
      unsafe io_uring_prep_openat(sqe, directory, path, flags, mode)
    case .close(let fd):
      unsafe io_uring_prep_close(sqe, fd)
    case .openatDirect(let directory, let path, let flags, let mode, let slot):
      unsafe io_uring_prep_openat_direct(sqe, directory, path, flags, mode, slot)
    case .closeDirect(let slot):
      unsafe io_uring_prep_close_direct(sqe, slot)
    case .fsync(let fd, let flags):
      unsafe io_uring_prep_fsync(sqe, fd, flags)
    case .cancel(let userData, let flags):
      unsafe io_uring_prep_cancel64(sqe, userData, flags)
    case .pollAdd(let fd, let events, let multishot):
      if multishot {
        unsafe io_uring_prep_poll_multishot(sqe, fd, events)
      } else {
        unsafe io_uring_prep_poll_add(sqe, fd, events)
      }
    case .timeout(let timespec, let count, let flags):
      unsafe io_uring_prep_timeout(sqe, timespec, count, flags)
    case .timeoutRemove(let userData, let flags):
      unsafe io_uring_prep_timeout_remove(sqe, userData, flags)
    case .linkTimeout(let timespec, let flags):
      unsafe io_uring_prep_link_timeout(sqe, timespec, flags)
    case .messageRing(let ringFD, let result, let userData):
      unsafe io_uring_prep_msg_ring(sqe, ringFD, result, userData, 0)
    case .timeoutUpdate(let userData, let timespec, let flags):
      unsafe io_uring_prep_timeout_update(sqe, timespec, userData, flags)
    default:
      unsafe encodeFileOrSocket(operation, into: sqe)
    }
  }

  private static func encodeFileOrSocket(
    _ operation: RingOperation, into sqe: UnsafeMutablePointer<io_uring_sqe>
  ) {
    switch unsafe operation {
    case .openat2(let directory, let path, let how):
      unsafe io_uring_prep_openat2(sqe, directory, path, how)
    case .statx(let directory, let path, let flags, let mask, let buffer):
      unsafe io_uring_prep_statx(
        sqe, directory, path, flags, mask, OpaquePointer(buffer))
    case .fallocate(let fd, let mode, let offset, let length):
      unsafe io_uring_prep_fallocate(sqe, fd, mode, off_t(offset), off_t(length))
    case .fadvise(let fd, let offset, let length, let advice):
      unsafe io_uring_prep_fadvise(sqe, fd, offset, off_t(length), advice)
    case .ftruncate(let fd, let length):
      unsafe io_uring_prep_rw(Int32(Opcode.ftruncate.rawValue), sqe, fd, nil, 0, length)
    case .splice(let input, let inputOffset, let output, let outputOffset, let count, let flags):
      unsafe io_uring_prep_splice(sqe, input, inputOffset, output, outputOffset, count, flags)
    case .mkdirat(let directory, let path, let mode):
      unsafe io_uring_prep_mkdirat(sqe, directory, path, mode)
    case .unlinkat(let directory, let path, let flags):
      unsafe io_uring_prep_unlinkat(sqe, directory, path, flags)
    case .renameat(let oldDirectory, let oldPath, let newDirectory, let newPath, let flags):
      unsafe io_uring_prep_renameat(sqe, oldDirectory, oldPath, newDirectory, newPath, flags)
    case .linkat(let oldDirectory, let oldPath, let newDirectory, let newPath, let flags):
      unsafe io_uring_prep_linkat(sqe, oldDirectory, oldPath, newDirectory, newPath, flags)
    case .symlinkat(let target, let directory, let path):
      unsafe io_uring_prep_symlinkat(sqe, target, directory, path)
    case .socket(let domain, let type, let proto):
      unsafe io_uring_prep_socket(sqe, domain, type, proto, 0)
    case .accept(let fd, let address, let length, let flags, let multishot):
      if multishot {
        unsafe io_uring_prep_multishot_accept(sqe, fd, address, length, flags)
      } else {
        unsafe io_uring_prep_accept(sqe, fd, address, length, flags)
      }
    case .connect(let fd, let address, let length):
      unsafe io_uring_prep_connect(sqe, fd, address, length)
    case .send(let fd, let buffer, let flags):
      unsafe io_uring_prep_send(sqe, fd, buffer.baseAddress, buffer.count, flags)
    case .sendZeroCopy(let fd, let buffer, let flags, let zeroCopyFlags):
      unsafe io_uring_prep_send_zc(sqe, fd, buffer.baseAddress, buffer.count, flags, zeroCopyFlags)
    case .receive(let fd, let buffer, let flags):
      unsafe io_uring_prep_recv(sqe, fd, buffer.baseAddress, buffer.count, flags)
    case .receiveMultishot(let fd, let group, let flags):
      unsafe io_uring_prep_recv_multishot(sqe, fd, nil, 0, flags)
      unsafe sqe.pointee.flags |= SubmissionFlags.bufferSelect.rawValue
      unsafe sqe.pointee.buf_group = group
    case .sendMessage(let fd, let message, let flags):
      unsafe io_uring_prep_sendmsg(sqe, fd, message, flags)
    case .receiveMessage(let fd, let message, let flags):
      unsafe io_uring_prep_recvmsg(sqe, fd, message, flags)
    case .shutdown(let fd, let how):
      unsafe io_uring_prep_shutdown(sqe, fd, how)
    default:
      preconditionFailure(unsafe "\(operation.opcode) is encoded by encode(_:into:)")
    }
  }
}
