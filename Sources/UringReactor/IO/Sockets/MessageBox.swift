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
@safe
final class MessageBox: @unchecked Sendable {
  // @safe: it owns its msghdr, iovecs and control buffer (freed in deinit) and retains the buffers
  // the iovecs point into.
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
    unsafe vector.pointee = unsafe iovec(iov_base: data.baseAddress, iov_len: data.count)
  }

  /// A message gathering `regions` in order (owned by `memory`, which the box
  /// retains), for a send. Empty regions are left out.
  convenience init(gathering regions: [UnsafeRawBufferPointer], memory: Any) {
    let filled = unsafe regions.filter { unsafe !$0.isEmpty }
    unsafe self.init(vectorCount: filled.count, memory: memory, name: nil, controlCapacity: 0)
    for index in unsafe filled.indices {
      let region = unsafe filled[index]
      // SAFETY: the kernel only reads through a send's iovecs; `memory`, which
      // the box retains, owns every region.
      unsafe vector[index] = unsafe iovec(
        iov_base: UnsafeMutableRawPointer(mutating: region.baseAddress), iov_len: region.count)
    }
    unsafe header.pointee.msg_iovlen = unsafe min(filled.count, Self.maximumVectors)
  }

  private init(vectorCount: Int, memory: Any, name: SocketAddressBox?, controlCapacity: Int) {
    self.memory = memory
    self.name = name
    self.vectorCount = vectorCount
    unsafe vector = .allocate(capacity: max(vectorCount, 1))
    unsafe vector.initialize(
      repeating: iovec(iov_base: nil, iov_len: 0), count: max(vectorCount, 1))
    if controlCapacity > 0 {
      let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: controlCapacity, alignment: MemoryLayout<cmsghdr>.alignment)
      unsafe buffer.initializeMemory(as: UInt8.self, repeating: 0)
      unsafe control = unsafe buffer
    } else {
      unsafe control = nil
    }
    unsafe header = .allocate(capacity: 1)
    var message = unsafe msghdr()
    unsafe message.msg_iov = unsafe vector
    unsafe message.msg_iovlen = vectorCount
    if let name {
      unsafe message.msg_name = unsafe UnsafeMutableRawPointer(name.storage)
      unsafe message.msg_namelen = unsafe name.length.pointee
    }
    if let control = unsafe control {
      unsafe message.msg_control = control.baseAddress
      unsafe message.msg_controllen = control.count
    }
    unsafe header.initialize(to: message)
  }

  deinit {
    unsafe header.deallocate()
    unsafe vector.deinitialize(count: max(vectorCount, 1))
    unsafe vector.deallocate()
    unsafe control?.deallocate()
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
      let current = unsafe vector[firstUnsent]
      if unsafe step < current.iov_len {
        unsafe vector[firstUnsent] = unsafe iovec(
          iov_base: current.iov_base.map { unsafe $0 + step },
          iov_len: unsafe current.iov_len - step)
        step = 0
      } else {
        unsafe step -= current.iov_len
        firstUnsent += 1
      }
    }
    unsafe header.pointee.msg_iov = unsafe vector + firstUnsent
    unsafe header.pointee.msg_iovlen = min(vectorCount - firstUnsent, Self.maximumVectors)
  }

  /// The space a control message with `count` descriptors takes (`CMSG_SPACE`).
  static func controlSpace(descriptors count: Int) -> Int {
    align(count * MemoryLayout<CInt>.size) + align(MemoryLayout<cmsghdr>.size)
  }

  /// Limits what the kernel may write to one `SCM_RIGHTS` message of
  /// `count` descriptors (`CMSG_LEN`): the padding of ``controlSpace(descriptors:)``
  /// could hold one more, which the caller did not ask for.
  func limitReceivedDescriptors(to count: Int) {
    unsafe header.pointee.msg_controllen = unsafe min(
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
    guard let control = unsafe control, !descriptors.isEmpty else { return }
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
    unsafe control.storeBytes(of: header, toByteOffset: 0, as: cmsghdr.self)
    let data = unsafe control.baseAddress! + Self.align(MemoryLayout<cmsghdr>.size)
    unsafe sentDescriptors.withUnsafeBytes {
      unsafe data.copyMemory(from: $0.baseAddress!, byteCount: $0.count)
    }
    unsafe self.header.pointee.msg_controllen = Self.controlSpace(
      descriptors: sentDescriptors.count)
  }

  /// The descriptors of every `SCM_RIGHTS` message the kernel wrote (after
  /// a `recvmsg`); they belong to the caller.
  func receivedDescriptors() -> [CInt] {
    guard let control = unsafe control else { return [] }
    let length = unsafe min(header.pointee.msg_controllen, control.count)
    let headerSize = Self.align(MemoryLayout<cmsghdr>.size)
    var descriptors: [CInt] = []
    var offset = 0
    while offset + headerSize <= length {
      let message = unsafe control.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self)
      guard message.cmsg_len >= headerSize, offset + message.cmsg_len <= length else { break }
      if message.cmsg_level == SOL_SOCKET, message.cmsg_type == CInt(SCM_RIGHTS) {
        let count = (message.cmsg_len - headerSize) / MemoryLayout<CInt>.size
        for index in 0..<count {
          unsafe descriptors.append(
            control.loadUnaligned(
              fromByteOffset: offset + headerSize + index * MemoryLayout<CInt>.size, as: CInt.self))
        }
      }
      offset += Self.align(message.cmsg_len)
    }
    return descriptors
  }

  /// The `msg_flags` the kernel reported (`MSG_TRUNC`, `MSG_CTRUNC`).
  var flags: CInt { unsafe header.pointee.msg_flags }

  /// The peer's address the kernel wrote.
  var peer: SocketAddress? {
    guard let name else { return nil }
    unsafe name.length.pointee = unsafe header.pointee.msg_namelen
    return name.address
  }
}
