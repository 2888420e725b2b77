import Glibc
public import SystemPackage
import Uring

/// A connected stream socket (TCP over IPv4 or IPv6, or Unix-domain) whose
/// I/O runs on a reactor's ring.
///
/// - Reading: ``receive()`` lends received bytes from a provided-buffer ring
///   (one multishot `IORING_OP_RECV` for the connection's whole life, a
///   buffer taken only when bytes arrive; no copy). ``read(into:)-(SharedBuffer)``
///   and ``read(into:)-(OwnedBuffer)`` read into the caller's memory
///   (`IORING_OP_RECV`). Use one style per connection.
/// - Writing: ``writeAll(from:)-(SharedBuffer)``, the owned-buffer variants,
///   ``writeAll(_:)-(ReceivedBytes)`` (sends received bytes back without a copy),
///   `writeAll(from: [SharedBuffer])` (several buffers gathered in one
///   `IORING_OP_SENDMSG`) and
///   ``sendZeroCopy(from:)`` (`IORING_OP_SEND_ZC`). Every send passes
///   `MSG_NOSIGNAL`: a vanished peer is an ``IOError`` (`EPIPE`,
///   `ECONNRESET`), never a signal.
/// - Ownership: the stream owns its descriptor. ``close()`` closes it
///   through the ring; dropping the last reference cancels the multishot
///   receive and closes it on the loop thread. In-flight operations retain
///   the descriptor (and their memory) until their final CQE (rule 1).
/// - Thread-safety: `Sendable`; any task may call any method. One task at a
///   time should read (a second concurrent ``receive()`` throws `EBUSY`);
///   writes from several tasks may interleave their bytes.
/// - Cancellation: a cancelled task's operation is cancelled in the kernel
///   (`IORING_OP_ASYNC_CANCEL`) and its memory kept until the CQE (rule 3);
///   ``receive()`` loses no bytes when cancelled.
public final class SocketStream: Sendable {
  let handle: SocketHandle
  /// The pool ``receive()`` uses; `nil`: the reactor's shared pool.
  let buffers: ProvidedBufferPool?

  /// The reactor whose ring performs this stream's I/O.
  public var reactor: Reactor { handle.reactor }
  /// The peer's address (`nil` for an unnamed Unix-domain peer).
  public var remoteAddress: SocketAddress? { handle.peer }

  init(handle: SocketHandle, buffers: ProvidedBufferPool?) {
    self.handle = handle
    self.buffers = buffers
  }

  deinit {
    handle.abandon()
  }

  /// Adopts a connected stream socket descriptor (it is closed with the stream).
  public convenience init(
    adopting descriptor: FileDescriptor, buffers: ProvidedBufferPool? = nil, on reactor: Reactor
  ) {
    self.init(
      handle: SocketHandle(
        descriptor: descriptor.rawValue, peer: socketName(descriptor.rawValue, peer: true),
        reactor: reactor),
      buffers: buffers)
  }

  /// A connected pair of Unix-domain stream sockets (`socketpair(2)`).
  public static func pair(
    buffers: ProvidedBufferPool? = nil, on reactor: Reactor
  ) throws(IOError) -> (SocketStream, SocketStream) {
    var fds: [CInt] = [-1, -1]
    guard
      unsafe socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0, &fds)
        == 0
    else {
      throw SocketOptions.error("socketpair", nil)
    }
    return (
      SocketStream(adopting: FileDescriptor(rawValue: fds[0]), buffers: buffers, on: reactor),
      SocketStream(adopting: FileDescriptor(rawValue: fds[1]), buffers: buffers, on: reactor)
    )
  }

  /// The local address (`getsockname(2)`).
  nonisolated(nonsending) public func localAddress() async throws(IOError) -> SocketAddress {
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.liveDescriptor(for: .socket)
      guard let address = socketName(fd, peer: false) else {
        throw SocketOptions.error("getsockname", handle.peer)
      }
      return address
    }
  }

  /// Shuts down one or both directions (`IORING_OP_SHUTDOWN`). After
  /// `.write` the peer reads end of stream; this side can still read.
  nonisolated(nonsending) public func shutdown(_ direction: ShutdownDirection) async throws(IOError)
  {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.liveDescriptor(for: .shutdown)
      _ = unsafe try await loop.perform(
        .shutdown(fd: fd, how: direction.how), retaining: (handle, nil)
      )
      .value(.shutdown, socket: handle)
    }
  }

  /// Ends the multishot receive (a waiting ``receive()`` throws `EBADF`,
  /// queued bytes are dropped) and closes the descriptor (`IORING_OP_CLOSE`).
  /// Operations in flight in other tasks keep the kernel's reference to the
  /// socket and complete on their own: cancel them, or ``shutdown(_:)``
  /// first. Closing twice throws `EBADF`. The close is never cancelled: a
  /// cancelled task, or one past its ``IODeadline``, closes the descriptor
  /// all the same.
  nonisolated(nonsending) public func close() async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in try await handle.close(loop) }
  }

  /// Sets the non-`nil` options (`setsockopt(2)`, on the loop thread).
  nonisolated(nonsending) public func apply(_ options: SocketOptions) async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      try options.apply(to: try handle.liveDescriptor(for: .socket), address: handle.peer)
    }
  }

  /// The current options (`getsockopt(2)`); `noDelay` is `nil` on a
  /// Unix-domain socket.
  nonisolated(nonsending) public func options() async throws(IOError) -> SocketOptions {
    let handle = self.handle
    return try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.liveDescriptor(for: .socket)
      var isUnix = false
      if case .unix = handle.peer { isUnix = true }
      if handle.peer == nil { isUnix = true }
      return try SocketOptions.read(from: fd, address: handle.peer, isTCP: !isUnix)
    }
  }
}

/// Which direction(s) of a stream to shut down.
public enum ShutdownDirection: Sendable, Hashable {
  /// No more reads (`SHUT_RD`).
  case read
  /// No more writes (`SHUT_WR`): the peer reads end of stream.
  case write
  /// Both (`SHUT_RDWR`).
  case both

  var how: CInt {
    switch self {
    case .read: CInt(SHUT_RD)
    case .write: CInt(SHUT_WR)
    case .both: CInt(SHUT_RDWR)
    }
  }
}
