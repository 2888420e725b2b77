import Glibc
import Uring

/// A listening stream socket (TCP over IPv4 or IPv6, or Unix-domain) whose
/// connections arrive through a multishot accept (``connections``).
///
/// ```swift
/// let listener = try await SocketListener.listen(at: .loopbackIPv4(port: 0), on: reactor)
/// print(listener.localAddress)  // 127.0.0.1:40123
/// for try await connection in listener.connections {
///   Task(executorPreference: reactor) { try await serve(connection) }
/// }
/// ```
///
/// - Ownership: the listener owns its descriptor. ``close()`` cancels every
///   multishot accept and closes it (`IORING_OP_CLOSE`); dropping the last
///   reference does the same on the loop thread. A Unix-domain socket file is
///   not removed.
/// - Thread-safety: `Sendable`; every method may be called from any task.
/// - Cancellation: see ``connections(maximumPending:buffers:)`` and ``accept(buffers:)``.
/// - Many cores: ``GroupListener`` listens on every reactor of a
///   ``ReactorGroup`` with one listener each (`SO_REUSEPORT`).
public final class SocketListener: Sendable {
  let handle: SocketHandle
  /// The reactor whose ring accepts the connections.
  public var reactor: Reactor { handle.reactor }
  /// The address the socket is bound to, with the port the kernel picked
  /// when port 0 was asked.
  public let localAddress: SocketAddress

  private init(handle: SocketHandle, localAddress: SocketAddress) {
    self.handle = handle
    self.localAddress = localAddress
  }

  deinit {
    handle.abandon()
  }

  /// Creates a stream socket (`IORING_OP_SOCKET`), applies `options`
  /// (by default `SO_REUSEADDR`), binds it to `address` and listens with
  /// `backlog` (`bind(2)` and `listen(2)` are non-blocking calls, made on the
  /// loop thread).
  ///
  /// Over TCP the listening socket gets `TCP_NODELAY` unless
  /// `options.noDelay` is `false`, and every accepted connection inherits
  /// it (see ``SocketOptions/noDelay``).
  ///
  /// - Throws: ``IOError`` carrying `address`: `EADDRINUSE`
  ///   (``IOError/isAddressInUse``), `EACCES`, `EADDRNOTAVAIL`...
  nonisolated(nonsending) public static func listen(
    at address: SocketAddress,
    backlog: Int = 1024,
    options: SocketOptions = SocketOptions(reuseAddress: true),
    on reactor: Reactor
  ) async throws(IOError) -> SocketListener {
    var settings = options.withStreamDefaults(for: address)
    if case .unix = address {
      settings.reuseAddress = nil
      settings.reusePort = nil
    }
    return try await reactor.onLoop { [settings] loop throws(IOError) in
      let (handle, fd) = try await loop.makeBoundSocket(
        type: CInt(SOCK_STREAM.rawValue), address: address, options: settings, reactor: reactor)
      guard Glibc.listen(fd, CInt(clamping: backlog)) == 0 else {
        var error = SocketOptions.error("listen", address)
        error.operation = .listen
        throw error
      }
      let local = socketName(fd, peer: false) ?? address
      return SocketListener(handle: handle, localAddress: local)
    }
  }

  /// Accepts one connection (`IORING_OP_ACCEPT`, single shot).
  ///
  /// Cancellation: the accept is cancelled in the kernel; a connection it
  /// accepted anyway is closed by the reactor (rule 4), never leaked.
  nonisolated(nonsending) public func accept(buffers: ProvidedBufferPool? = nil)
    async throws(IOError) -> SocketStream
  {
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      let listenFD = try handle.liveDescriptor(for: .accept)
      let peer = SocketAddressBox()
      let fd = unsafe try await loop.perform(
        .accept(
          fd: listenFD, address: peer.pointer, length: peer.length,
          flags: CInt(SOCK_CLOEXEC.rawValue), multishot: false),
        retaining: (peer, handle), createsDescriptor: true
      ).value(.accept, address: self.localAddress)
      return SocketStream(
        handle: SocketHandle(descriptor: fd, peer: peer.address, reactor: handle.reactor),
        buffers: buffers)
    }
  }

  /// Cancels every multishot accept (connections accepted but not yet taken
  /// are closed) and closes the socket (`IORING_OP_CLOSE`). Iterations of
  /// ``connections`` end (return `nil`). Closing twice throws `EBADF`. The
  /// close is never cancelled (neither by the task nor by an ``IODeadline``).
  nonisolated(nonsending) public func close() async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in try await handle.close(loop) }
  }
}

extension IOError {
  /// `EADDRINUSE`: the address is bound by another socket.
  public var isAddressInUse: Bool { kind == .system(.addressInUse) }
  /// `ECONNREFUSED`: nothing listens at the address.
  public var isConnectionRefused: Bool { kind == .system(.connectionRefused) }
  /// `ECONNRESET`: the peer reset the connection (`RST`).
  public var isConnectionReset: Bool { kind == .system(.connectionReset) }
  /// `EPIPE`: the connection is closed for writing (the peer is gone, or
  /// this side shut its writing half down).
  public var isBrokenPipe: Bool { kind == .system(.brokenPipe) }
}
