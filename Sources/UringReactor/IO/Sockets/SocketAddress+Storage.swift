import Glibc

extension SocketAddress {
  /// Reads a `sockaddr` the kernel filled in (`getsockname`, `recvmsg`'s
  /// `msg_name`, ...).
  ///
  /// - Throws: ``SocketAddressError/Kind/unsupportedFamily(_:)`` for another
  ///   family, or a length too short for the family.
  init(_ address: UnsafePointer<sockaddr>, length: socklen_t) throws(SocketAddressError) {
    let family = unsafe CInt(address.pointee.sa_family)
    let raw = unsafe UnsafeRawPointer(address)
    switch family {
    case AF_INET where Int(length) >= MemoryLayout<sockaddr_in>.size:
      let value = unsafe raw.loadUnaligned(as: sockaddr_in.self)
      self = .ipv4(
        IPv4(
          address: UInt32(bigEndian: value.sin_addr.s_addr), port: UInt16(bigEndian: value.sin_port)
        ))
    case AF_INET6 where Int(length) >= MemoryLayout<sockaddr_in6>.size:
      let value = unsafe raw.loadUnaligned(as: sockaddr_in6.self)
      let bytes = unsafe withUnsafeBytes(of: value.sin6_addr) { unsafe Array($0) }
      self = .ipv6(
        IPv6(
          bytes: bytes, port: UInt16(bigEndian: value.sin6_port), scopeID: value.sin6_scope_id,
          flowInfo: UInt32(bigEndian: value.sin6_flowinfo)))
    case AF_UNIX where Int(length) >= MemoryLayout<sa_family_t>.size:
      let pathOffset = MemoryLayout<sa_family_t>.size
      let count = min(Int(length) - pathOffset, MemoryLayout<sockaddr_un>.size - pathOffset)
      let path = unsafe UnsafeRawBufferPointer(start: raw + pathOffset, count: count)
      self = unsafe .unix(Unix(rawPathBytes: Array(path)))
    default:
      throw SocketAddressError(.unsupportedFamily(family), input: "")
    }
  }

  /// Writes the address as a `sockaddr` into `storage`; returns its length.
  func write(to storage: UnsafeMutablePointer<sockaddr_storage>) -> socklen_t {
    unsafe storage.initialize(to: sockaddr_storage())
    let raw = UnsafeMutableRawPointer(storage)
    switch self {
    case .ipv4(let address):
      var value = sockaddr_in()
      value.sin_family = sa_family_t(AF_INET)
      value.sin_port = address.port.bigEndian
      value.sin_addr.s_addr = address.address.bigEndian
      unsafe raw.storeBytes(of: value, as: sockaddr_in.self)
      return socklen_t(MemoryLayout<sockaddr_in>.size)
    case .ipv6(let address):
      var value = sockaddr_in6()
      value.sin6_family = sa_family_t(AF_INET6)
      value.sin6_port = address.port.bigEndian
      value.sin6_flowinfo = address.flowInfo.bigEndian
      value.sin6_scope_id = address.scopeID
      unsafe withUnsafeMutableBytes(of: &value.sin6_addr) {
        unsafe $0.copyBytes(from: address.bytes)
      }
      unsafe raw.storeBytes(of: value, as: sockaddr_in6.self)
      return socklen_t(MemoryLayout<sockaddr_in6>.size)
    case .unix(let address):
      unsafe raw.storeBytes(of: sa_family_t(AF_UNIX), as: sa_family_t.self)
      let pathOffset = MemoryLayout<sa_family_t>.size
      unsafe UnsafeMutableRawBufferPointer(start: raw + pathOffset, count: address.pathBytes.count)
        .copyBytes(from: address.pathBytes)
      // Abstract names are exactly as long as given; paths get their NUL
      // (already there: the storage was zeroed).
      let extra = address.isAbstract || address.pathBytes.isEmpty ? 0 : 1
      return socklen_t(pathOffset + address.pathBytes.count + extra)
    }
  }
}

/// A `sockaddr_storage` (and its length) at a stable address, for an
/// operation that lends it to the kernel (`IORING_OP_CONNECT`, `SENDMSG`,
/// `RECVMSG`, `ACCEPT`): the in-flight slot retains the box until the CQE.
///
/// Thread-safety: filled before submission, read after the completion, on
/// the loop thread; the kernel writes it only in between.
@safe
final class SocketAddressBox: @unchecked Sendable {
  // @safe: it owns its sockaddr storage and length (freed in deinit); operations retain the box.
  // SAFETY: allocated here, freed in `deinit`, which runs only after every
  // slot that lent it to the kernel released it.
  let storage: UnsafeMutablePointer<sockaddr_storage>
  let length: UnsafeMutablePointer<socklen_t>

  /// An empty box, for the kernel to fill.
  init() {
    unsafe storage = .allocate(capacity: 1)
    unsafe storage.initialize(to: sockaddr_storage())
    unsafe length = .allocate(capacity: 1)
    unsafe length.initialize(to: socklen_t(MemoryLayout<sockaddr_storage>.size))
  }

  /// A box holding `address`.
  convenience init(_ address: SocketAddress) {
    self.init()
    unsafe length.pointee = unsafe address.write(to: storage)
  }

  deinit {
    unsafe storage.deallocate()
    unsafe length.deallocate()
  }

  var pointer: UnsafeMutablePointer<sockaddr> {
    unsafe UnsafeMutableRawPointer(storage).assumingMemoryBound(to: sockaddr.self)
  }

  /// What the kernel wrote, if it is an address this package knows.
  var address: SocketAddress? {
    unsafe try? SocketAddress(pointer, length: length.pointee)
  }
}
