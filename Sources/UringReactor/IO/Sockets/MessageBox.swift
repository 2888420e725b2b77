import Glibc

/// Everything one `IORING_OP_SENDMSG` or `IORING_OP_RECVMSG` lends the
/// kernel, in one object the in-flight slot retains until the CQE (rule 1):
/// the `msghdr`, its `iovec`, the peer's `sockaddr_storage`, the control
/// buffer (`SCM_RIGHTS`), and the owner of the data memory.
///
/// Descriptors being sent are duplicates the box owns and closes in `deinit`,
/// so the caller may close its own at any time: the numbers the kernel reads
/// always name the caller's files.
///
/// Thread-safety: filled before submission and read after the completion,
/// on the loop thread; the kernel uses it only in between.
final class MessageBox: @unchecked Sendable {
  // SAFETY: allocated here, freed in `deinit`, which runs after the slot
  // that lent them to the kernel released the box.
  let header: UnsafeMutablePointer<msghdr>
  private let vector: UnsafeMutablePointer<iovec>
  private let control: UnsafeMutableRawBufferPointer?
  let name: SocketAddressBox?
  /// Owns the memory the iovec points at.
  private let memory: AnyObject
  private var sentDescriptors: [CInt] = []

  /// A message over `data` (owned by `memory`), with room for a peer address
  /// if `name` is given and for `controlCapacity` bytes of control data.
  init(
    data: UnsafeMutableRawBufferPointer, memory: AnyObject, name: SocketAddressBox?,
    controlCapacity: Int
  ) {
    self.memory = memory
    self.name = name
    vector = .allocate(capacity: 1)
    vector.initialize(to: iovec(iov_base: data.baseAddress, iov_len: data.count))
    if controlCapacity > 0 {
      let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: controlCapacity, alignment: MemoryLayout<cmsghdr>.alignment)
      buffer.initializeMemory(as: UInt8.self, repeating: 0)
      control = buffer
    } else {
      control = nil
    }
    header = .allocate(capacity: 1)
    var message = msghdr()
    message.msg_iov = vector
    message.msg_iovlen = 1
    if let name {
      message.msg_name = UnsafeMutableRawPointer(name.storage)
      message.msg_namelen = name.length.pointee
    }
    if let control {
      message.msg_control = control.baseAddress
      message.msg_controllen = control.count
    }
    header.initialize(to: message)
  }

  deinit {
    header.deallocate()
    vector.deallocate()
    control?.deallocate()
    for fd in sentDescriptors { Glibc.close(fd) }
  }

  /// The space a control message with `count` descriptors takes (`CMSG_SPACE`).
  static func controlSpace(descriptors count: Int) -> Int {
    align(count * MemoryLayout<CInt>.size) + align(MemoryLayout<cmsghdr>.size)
  }

  /// Limits what the kernel may write to one `SCM_RIGHTS` message of
  /// `count` descriptors (`CMSG_LEN`): the padding of ``controlSpace(descriptors:)``
  /// could hold one more, which the caller did not ask for.
  func limitReceivedDescriptors(to count: Int) {
    header.pointee.msg_controllen = min(
      header.pointee.msg_controllen,
      Self.align(MemoryLayout<cmsghdr>.size) + count * MemoryLayout<CInt>.size)
  }

  private static func align(_ length: Int) -> Int {
    let word = MemoryLayout<Int>.size
    return (length + word - 1) & ~(word - 1)
  }

  /// Writes one `SCM_RIGHTS` control message carrying duplicates of
  /// `descriptors`. Throws the errno of a failed `dup`.
  func attach(descriptors: [CInt]) throws(IOError) {
    guard let control, !descriptors.isEmpty else { return }
    for fd in descriptors {
      let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
      guard copy >= 0 else { throw SocketOptions.error("fcntl(F_DUPFD_CLOEXEC)", nil) }
      sentDescriptors.append(copy)
    }
    let dataLength = sentDescriptors.count * MemoryLayout<CInt>.size
    var header = cmsghdr()
    header.cmsg_len = Self.align(MemoryLayout<cmsghdr>.size) + dataLength
    header.cmsg_level = SOL_SOCKET
    header.cmsg_type = CInt(SCM_RIGHTS)
    control.storeBytes(of: header, toByteOffset: 0, as: cmsghdr.self)
    let data = control.baseAddress! + Self.align(MemoryLayout<cmsghdr>.size)
    sentDescriptors.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    self.header.pointee.msg_controllen = Self.controlSpace(descriptors: sentDescriptors.count)
  }

  /// The descriptors of every `SCM_RIGHTS` message the kernel wrote (after
  /// a `recvmsg`); they belong to the caller.
  func receivedDescriptors() -> [CInt] {
    guard let control else { return [] }
    let length = min(header.pointee.msg_controllen, control.count)
    let headerSize = Self.align(MemoryLayout<cmsghdr>.size)
    var descriptors: [CInt] = []
    var offset = 0
    while offset + headerSize <= length {
      let message = control.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self)
      guard message.cmsg_len >= headerSize, offset + message.cmsg_len <= length else { break }
      if message.cmsg_level == SOL_SOCKET, message.cmsg_type == CInt(SCM_RIGHTS) {
        let count = (message.cmsg_len - headerSize) / MemoryLayout<CInt>.size
        for index in 0..<count {
          descriptors.append(
            control.loadUnaligned(
              fromByteOffset: offset + headerSize + index * MemoryLayout<CInt>.size, as: CInt.self))
        }
      }
      offset += Self.align(message.cmsg_len)
    }
    return descriptors
  }

  /// The `msg_flags` the kernel reported (`MSG_TRUNC`, `MSG_CTRUNC`).
  var flags: CInt { header.pointee.msg_flags }

  /// The peer's address the kernel wrote.
  var peer: SocketAddress? {
    guard let name else { return nil }
    name.length.pointee = header.pointee.msg_namelen
    return name.address
  }
}
