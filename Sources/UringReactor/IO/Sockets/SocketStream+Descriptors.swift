import Glibc
public import SystemPackage
import Uring

/// Bytes and descriptors received from a Unix-domain socket.
public struct ReceivedMessage: Sendable {
  /// The bytes received (empty at end of stream).
  public var bytes: [UInt8]
  /// The descriptors that came with them (`SCM_RIGHTS`), owned by the
  /// receiver: close them when done. Close-on-exec is set.
  public var descriptors: [FileDescriptor]
  /// `MSG_CTRUNC`: more descriptors were sent than `maximumDescriptors`;
  /// the kernel closed the ones that did not fit.
  public var descriptorsTruncated: Bool
}

extension SocketStream {
  /// Sends `bytes` together with `descriptors` (`IORING_OP_SENDMSG` with an
  /// `SCM_RIGHTS` control message) over a Unix-domain stream socket. Returns
  /// the bytes sent (which may be fewer; the descriptors went with them).
  ///
  /// The descriptors are duplicated into memory the reactor retains until
  /// the CQE, so the caller may close its own right away; the receiver gets
  /// new descriptors for the same files. `bytes` must not be empty: a stream
  /// carries descriptors only along with data. `bytes` are copied.
  ///
  /// - Throws: ``IOError``; `EINVAL` for empty `bytes`.
  nonisolated(nonsending) public func send(
    _ bytes: some Collection<UInt8>, descriptors: [FileDescriptor]
  ) async throws(IOError) -> Int {
    guard !bytes.isEmpty else {
      throw IOError(.system(.invalidArgument), operation: .sendmsg, address: remoteAddress)
    }
    let storage = OwnedBufferStorage(capacity: bytes.count)
    // SAFETY: fresh storage, not shared with anyone yet.
    unsafe storage.region.copyBytes(from: bytes)
    let numbers = descriptors.map(\.rawValue)
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.liveDescriptor(for: .sendmsg)
      let box = unsafe MessageBox(
        data: storage.region, memory: storage, name: nil,
        controlCapacity: MessageBox.controlSpace(descriptors: numbers.count))
      try box.attach(descriptors: numbers)
      let outcome = unsafe await loop.perform(
        .sendMessage(fd: fd, message: box.header, flags: UInt32(bitPattern: noSignal)),
        retaining: (box, handle))
      return Int(try outcome.value(.sendmsg, socket: handle))
    }
  }

  /// Receives up to `maximumLength` bytes and the descriptors sent with them
  /// (`IORING_OP_RECVMSG`, `MSG_CMSG_CLOEXEC`). Empty bytes and no
  /// descriptors at end of stream.
  ///
  /// Ownership (rule 4): the descriptors belong to the caller; if the task
  /// was cancelled and the message arrived anyway, they are closed and the
  /// call throws ``IOError/Kind/cancelled``. Do not mix with ``receive()``,
  /// whose multishot receive drops control messages.
  nonisolated(nonsending) public func receiveMessage(
    maximumLength: Int = 4096, maximumDescriptors: Int = 16
  ) async throws(IOError) -> ReceivedMessage {
    let storage = OwnedBufferStorage(capacity: max(1, maximumLength))
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.readableDescriptor()
      let box = unsafe MessageBox(
        data: storage.region, memory: storage, name: nil,
        controlCapacity: MessageBox.controlSpace(descriptors: max(1, maximumDescriptors)))
      box.limitReceivedDescriptors(to: max(1, maximumDescriptors))
      let outcome = unsafe await loop.perform(
        .receiveMessage(fd: fd, message: box.header, flags: UInt32(MSG_CMSG_CLOEXEC)),
        retaining: (box, handle))
      let received = outcome.result >= 0 ? box.receivedDescriptors() : []
      if outcome.cancellation != nil, outcome.result >= 0 {
        // Rule 4: the caller gave up; the descriptors must not leak.
        for descriptor in received { Glibc.close(descriptor) }
        throw IOError(
          outcome.cancellation == .shutdown ? .reactorShutDown : .cancelled,
          operation: .recvmsg, address: handle.peer)
      }
      let count = Int(try outcome.value(.recvmsg, socket: handle))
      return unsafe ReceivedMessage(
        bytes: Array(UnsafeRawBufferPointer(rebasing: storage.region[..<count])),
        descriptors: received.map { FileDescriptor(rawValue: $0) },
        descriptorsTruncated: box.flags & CInt(MSG_CTRUNC) != 0)
    }
  }
}
