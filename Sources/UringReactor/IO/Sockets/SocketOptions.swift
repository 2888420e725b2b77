import Glibc
import SystemPackage
import Uring

/// Socket options, set with `setsockopt(2)` (a non-blocking call, made on
/// the loop thread where the descriptor lives). `nil` fields are left as they are.
public struct SocketOptions: Sendable, Hashable {
  /// `TCP_NODELAY`: send small segments at once (no Nagle delay). TCP only.
  ///
  /// On by default for TCP streams: `nil` here means `true` for the streams
  /// ``SocketStream/connect(to:timeout:options:buffers:on:)`` makes and the
  /// connections a ``SocketListener`` accepts (set on the listening socket,
  /// which they inherit), as in SwiftNIO. With Nagle's algorithm on, a
  /// response written in two parts (header, then body) waits for the peer's
  /// delayed ACK, ~40 ms on Linux. Pass `false` to keep Nagle's algorithm.
  /// ``SocketStream/apply(_:)`` leaves a `nil` as it is.
  public var noDelay: Bool?
  /// `SO_KEEPALIVE`: probe idle connections.
  public var keepAlive: Bool?
  /// `SO_RCVBUF` in bytes (the kernel doubles it for bookkeeping).
  public var receiveBufferSize: Int?
  /// `SO_SNDBUF` in bytes (the kernel doubles it for bookkeeping).
  public var sendBufferSize: Int?
  /// `SO_LINGER`: `0` makes `close` reset the connection (`RST`) and drop
  /// unsent data; `nil` leaves the default (a graceful `FIN`).
  public var lingerSeconds: Int?
  /// `SO_REUSEADDR`: bind a port with connections lingering in `TIME_WAIT`.
  public var reuseAddress: Bool?
  /// `SO_REUSEPORT`: several sockets may bind the same address; the kernel
  /// spreads connections (or datagrams) among them.
  public var reusePort: Bool?

  /// Options with every field left as it is, unless given.
  public init(
    noDelay: Bool? = nil, keepAlive: Bool? = nil, receiveBufferSize: Int? = nil,
    sendBufferSize: Int? = nil, lingerSeconds: Int? = nil, reuseAddress: Bool? = nil,
    reusePort: Bool? = nil
  ) {
    self.noDelay = noDelay
    self.keepAlive = keepAlive
    self.receiveBufferSize = receiveBufferSize
    self.sendBufferSize = sendBufferSize
    self.lingerSeconds = lingerSeconds
    self.reuseAddress = reuseAddress
    self.reusePort = reusePort
  }

  /// These options with the library's defaults for a stream socket at
  /// `address` filled in: `noDelay` on for TCP unless given.
  func withStreamDefaults(for address: SocketAddress) -> SocketOptions {
    var options = self
    if case .unix = address { return options }
    if options.noDelay == nil { options.noDelay = true }
    return options
  }

  /// Applies the non-`nil` options to `fd`. Loop thread.
  func apply(to fd: CInt, address: SocketAddress?) throws(IOError) {
    if let noDelay { try Self.set(fd, CInt(IPPROTO_TCP), TCP_NODELAY, noDelay ? 1 : 0, address) }
    if let keepAlive { try Self.set(fd, SOL_SOCKET, SO_KEEPALIVE, keepAlive ? 1 : 0, address) }
    if let receiveBufferSize {
      try Self.set(fd, SOL_SOCKET, SO_RCVBUF, CInt(clamping: receiveBufferSize), address)
    }
    if let sendBufferSize {
      try Self.set(fd, SOL_SOCKET, SO_SNDBUF, CInt(clamping: sendBufferSize), address)
    }
    if let reuseAddress {
      try Self.set(fd, SOL_SOCKET, SO_REUSEADDR, reuseAddress ? 1 : 0, address)
    }
    if let reusePort { try Self.set(fd, SOL_SOCKET, SO_REUSEPORT, reusePort ? 1 : 0, address) }
    if let lingerSeconds {
      var value = linger(l_onoff: 1, l_linger: CInt(clamping: lingerSeconds))
      guard
        unsafe setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
          == 0
      else { throw SocketOptions.error("setsockopt", address) }
    }
  }

  /// Reads the options of `fd` (`lingerSeconds` is `nil` when lingering is off). Loop thread.
  static func read(from fd: CInt, address: SocketAddress?, isTCP: Bool) throws(IOError)
    -> SocketOptions
  {
    var options = SocketOptions()
    if isTCP { options.noDelay = try get(fd, CInt(IPPROTO_TCP), TCP_NODELAY, address) != 0 }
    options.keepAlive = try get(fd, SOL_SOCKET, SO_KEEPALIVE, address) != 0
    options.receiveBufferSize = Int(try get(fd, SOL_SOCKET, SO_RCVBUF, address))
    options.sendBufferSize = Int(try get(fd, SOL_SOCKET, SO_SNDBUF, address))
    options.reuseAddress = try get(fd, SOL_SOCKET, SO_REUSEADDR, address) != 0
    options.reusePort = try get(fd, SOL_SOCKET, SO_REUSEPORT, address) != 0
    var value = linger()
    var length = socklen_t(MemoryLayout<linger>.size)
    guard unsafe getsockopt(fd, SOL_SOCKET, SO_LINGER, &value, &length) == 0 else {
      throw SocketOptions.error("getsockopt", address)
    }
    options.lingerSeconds = value.l_onoff != 0 ? Int(value.l_linger) : nil
    return options
  }

  private static func set(
    _ fd: CInt, _ level: CInt, _ name: CInt, _ value: CInt, _ address: SocketAddress?
  ) throws(IOError) {
    var value = value
    guard unsafe setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
      throw error("setsockopt", address)
    }
  }

  private static func get(
    _ fd: CInt, _ level: CInt, _ name: CInt, _ address: SocketAddress?
  ) throws(IOError) -> CInt {
    var value: CInt = 0
    var length = socklen_t(MemoryLayout<CInt>.size)
    guard unsafe getsockopt(fd, level, name, &value, &length) == 0 else {
      throw error("getsockopt", address)
    }
    return value
  }

  /// An error from a socket system call made directly (not through the
  /// ring): its `systemCall` names the call.
  static func error(_ call: String, _ address: SocketAddress?, errno code: CInt = errno)
    -> IOError
  {
    var error = IOError(.system(Errno(rawValue: code)), operation: .socket, address: address)
    error.systemCall = call
    return error
  }
}

extension EventLoop {
  /// A new socket descriptor (`IORING_OP_SOCKET`, close-on-exec). If the
  /// task is cancelled and the socket is created anyway, the loop closes it
  /// (rule 4). Loop thread.
  func makeSocket(family: CInt, type: CInt, address: SocketAddress?) async throws(IOError)
    -> CInt
  {
    unsafe try await perform(
      .socket(domain: family, type: type | CInt(SOCK_CLOEXEC.rawValue), protocol: 0),
      createsDescriptor: true
    ).value(.socket, address: address)
  }

  /// A new socket of `type` with `options` applied, bound to `address`
  /// (`bind(2)` is a non-blocking call, made here on the loop thread). The
  /// returned handle owns the descriptor from its creation, so a failed
  /// option or bind closes it. Loop thread.
  func makeBoundSocket(
    type: CInt, address: SocketAddress, options: SocketOptions, reactor: Reactor
  ) async throws(IOError) -> (handle: SocketHandle, fd: CInt) {
    let fd = try await makeSocket(family: address.family, type: type, address: address)
    let handle = SocketHandle(descriptor: fd, peer: address, reactor: reactor)
    try options.apply(to: fd, address: address)
    let boxed = SocketAddressBox(address)
    guard unsafe Glibc.bind(fd, boxed.pointer, boxed.length.pointee) == 0 else {
      var error = SocketOptions.error("bind", address)
      error.operation = .bind
      throw error
    }
    return (handle, fd)
  }
}

/// `getsockname`/`getpeername` into an address, `nil` if it failed.
func socketName(
  _ fd: CInt, peer: Bool
) -> SocketAddress? {
  let box = SocketAddressBox()
  let result =
    unsafe peer
    ? getpeername(fd, box.pointer, box.length) : getsockname(fd, box.pointer, box.length)
  return result == 0 ? box.address : nil
}
