import Glibc

/// Everything one `IORING_OP_SENDMSG` or `IORING_OP_RECVMSG` lends the
/// kernel, in one object the in-flight slot retains until the CQE (rule 1):
/// the `msghdr`, its `iovec`s, the peer's `sockaddr_storage`, the control
/// buffer (`SCM_RIGHTS`), and the owner of the data memory. A gathered send
/// (``init(gathering:memory:)``) is resubmitted with the same box after a
/// partial send, ``skip(to:)`` moving the `iovec`s past the bytes sent.
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
  private let vectorCount: Int
  private let control: UnsafeMutableRawBufferPointer?
  let name: SocketAddressBox?
  /// Owns the memory the iovecs point at.
  private let memory: Any
  private var sentDescriptors: [CInt] = []
  /// Bytes ``skip(to:)`` moved the iovecs past, and the first iovec not
  /// sent entirely.
  private var skipped = 0
  private var firstUnsent = 0

  /// A message over `data` (owned by `memory`), with room for a peer address
  /// if `name` is given and for `controlCapacity` bytes of control data.
  convenience init(
    data: UnsafeMutableRawBufferPointer, memory: AnyObject, name: SocketAddressBox?,
    controlCapacity: Int
  ) {
    self.init(vectorCount: 1, memory: memory, name: name, controlCapacity: controlCapacity)
    vector.pointee = iovec(iov_base: data.baseAddress, iov_len: data.count)
  }

  /// A message gathering `regions` in order (owned by `memory`, which the box
  /// retains), for a send. Empty regions are left out.
  convenience init(gathering regions: [UnsafeRawBufferPointer], memory: Any) {
    let filled = regions.filter { !$0.isEmpty }
    self.init(vectorCount: filled.count, memory: memory, name: nil, controlCapacity: 0)
    for (index, region) in filled.enumerated() {
      // SAFETY: the kernel only reads through a send's iovecs.
      vector[index] = iovec(
        iov_base: UnsafeMutableRawPointer(mutating: region.baseAddress), iov_len: region.count)
    }
    header.pointee.msg_iovlen = min(filled.count, Self.maximumVectors)
  }

  private init(vectorCount: Int, memory: Any, name: SocketAddressBox?, controlCapacity: Int) {
    self.memory = memory
    self.name = name
    self.vectorCount = vectorCount
    vector = .allocate(capacity: max(vectorCount, 1))
    vector.initialize(repeating: iovec(iov_base: nil, iov_len: 0), count: max(vectorCount, 1))
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
    message.msg_iovlen = vectorCount
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
    vector.deinitialize(count: max(vectorCount, 1))
    vector.deallocate()
    control?.deallocate()
    for fd in sentDescriptors { Glibc.close(fd) }
  }

  /// The most iovecs one `sendmsg` takes (`UIO_MAXIOV`); a longer message
  /// goes in several sends.
  static let maximumVectors = 1024

  /// Moves the iovecs past the first `sent` bytes of the message (a count
  /// that only grows), for the send of the rest. Loop thread, between a
  /// send's final CQE and the next submission: the kernel reads the iovecs
  /// only in between.
  func skip(to sent: Int) {
    var step = sent - skipped
    skipped = sent
    while step > 0, firstUnsent < vectorCount {
      let current = vector[firstUnsent]
      if step < current.iov_len {
        vector[firstUnsent] = iovec(
          iov_base: current.iov_base.map { $0 + step }, iov_len: current.iov_len - step)
        step = 0
      } else {
        step -= current.iov_len
        firstUnsent += 1
      }
    }
    header.pointee.msg_iov = vector + firstUnsent
    header.pointee.msg_iovlen = min(vectorCount - firstUnsent, Self.maximumVectors)
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
