import CLibUring
import Glibc
import Uring

extension SocketStream {
  /// Sends the buffer's filled bytes without copying them into the kernel
  /// (`IORING_OP_SEND_ZC`, `MSG_NOSIGNAL`): the network stack reads them
  /// straight from the buffer's pages, for as long as it needs them.
  ///
  /// The kernel posts two completions: the byte count (which may be fewer
  /// than `count`), then a notification (`IORING_CQE_F_NOTIF`) once it no
  /// longer reads the memory. The buffer comes back only after the
  /// notification, and the in-flight slot retains its memory until then
  /// (rule 2): it can be reused at once. Worth it for large sends (tens of
  /// KiB); on loopback the kernel copies anyway.
  ///
  /// Cancellation: the send is cancelled in the kernel if it has not
  /// happened yet; either way the buffer comes back only after the final
  /// completion, with ``IOError/Kind/cancelled`` or the byte count.
  ///
  /// Deadline: inside an ``IODeadline`` scope (its deadline taken when the
  /// call starts) the send is linked to an `IORING_OP_LINK_TIMEOUT`. If it
  /// passes while the send waits for room in the socket, the kernel
  /// cancels it: the first completion is `-ECANCELED` (or the bytes sent
  /// before, if some were), a notification still follows, and the buffer
  /// comes back only after it, with ``IOError/Kind/timedOut``. A deadline
  /// already past submits nothing and hands the buffer back at once.
  nonisolated(nonsending) public func sendZeroCopy(from buffer: consuming OwnedBuffer) async
    -> IOResult<OwnedBuffer>
  {
    let storage = buffer.storage
    let count = buffer.count
    let handle = self.handle
    let deadline = IODeadline.effective(nil)
    let result = await handle.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        let fd = try handle.liveDescriptor(for: .sendZC)
        // SAFETY: the kernel reads `storage` until the notification CQE (the
        // final one); the slot retains it until then, and the consumed
        // buffer keeps users out.
        let region = unsafe UnsafeRawBufferPointer(rebasing: storage.region[..<count])
        let operation = AwaitedOperation(.zeroCopySend, deadline: deadline)
        let outcome = await loop.awaitStarted(operation) { loop in
          unsafe loop.start(
            .sendZeroCopy(
              fd: fd, buffer: region, flags: noSignal,
              zeroCopyFlags: UInt32(IORING_SEND_ZC_REPORT_USAGE)),
            handler: operation, retaining: (storage, handle), deadline: deadline)
        }
        return .success(Int(try outcome.value(.sendZC, socket: handle)))
      } catch {
        return .failure(error)
      }
    }
    return IOResult(buffer: buffer, result: result)
  }
}
