import Glibc
import Uring

extension SocketStream {
  /// Connects a new stream socket to `address` (`IORING_OP_SOCKET`, then
  /// `IORING_OP_CONNECT`): TCP for IP addresses, Unix-domain for paths.
  ///
  /// - Parameters:
  ///   - address: the peer: an IP address and port, or a Unix-domain path.
  ///   - timeout: gives up `timeout` after the call starts with
  ///     ``IOError/Kind/timedOut``: the connect is linked to an
  ///     `IORING_OP_LINK_TIMEOUT` in the same submission, so the kernel
  ///     cancels it when the time is up. An enclosing ``IODeadline`` scope
  ///     bounds the call too (the earlier deadline wins), with or without a
  ///     `timeout`. A deadline that has passed when the call starts submits
  ///     nothing.
  ///   - options: applied before connecting (e.g. buffer sizes). Over TCP,
  ///     `TCP_NODELAY` is on unless `options.noDelay` is `false`
  ///     (see ``SocketOptions/noDelay``).
  ///   - buffers: the pool ``receive()`` uses (`nil`: the reactor's shared pool).
  ///   - reactor: the reactor the stream belongs to.
  /// - Returns: the connected stream, which owns its descriptor.
  /// - Throws: ``IOError`` carrying `address`: `ECONNREFUSED`
  ///   (``IOError/isConnectionRefused``), `ENETUNREACH`, ``IOError/Kind/timedOut``...
  ///
  /// Thread-safety: call from any task; the work runs on `reactor`'s loop
  /// thread. Cancellation: the connect is cancelled in the kernel
  /// (`IORING_OP_ASYNC_CANCEL`), this throws ``IOError/Kind/cancelled`` and
  /// the socket is closed; a socket created after the task gave up is closed
  /// by the reactor (rule 4).
  nonisolated(nonsending) public static func connect(
    to address: SocketAddress,
    timeout: Duration? = nil,
    options: SocketOptions = SocketOptions(),
    buffers: ProvidedBufferPool? = nil,
    on reactor: Reactor
  ) async throws(IOError) -> SocketStream {
    try await connect(
      to: address, by: timeout.map { OperationDeadline(.now + $0) }, options: options,
      buffers: buffers, on: reactor)
  }

  /// ``connect(to:timeout:options:buffers:on:)`` that gives up at `deadline`
  /// (a `ContinuousClock` instant, or an enclosing ``IODeadline`` scope's
  /// deadline if earlier), through an `IORING_OP_LINK_TIMEOUT` linked to the
  /// connect. A deadline already past submits nothing and throws
  /// ``IOError/Kind/timedOut``.
  nonisolated(nonsending) public static func connect(
    to address: SocketAddress,
    deadline: ContinuousClock.Instant,
    options: SocketOptions = SocketOptions(),
    buffers: ProvidedBufferPool? = nil,
    on reactor: Reactor
  ) async throws(IOError) -> SocketStream {
    try await connect(
      to: address, by: OperationDeadline(deadline), options: options, buffers: buffers,
      on: reactor)
  }

  /// The connect due by `limit` (and by the innermost ``IODeadline`` scope,
  /// which `perform` applies to each operation it submits).
  nonisolated(nonsending) static func connect(
    to address: SocketAddress,
    by limit: OperationDeadline?,
    options: SocketOptions,
    buffers: ProvidedBufferPool?,
    on reactor: Reactor
  ) async throws(IOError) -> SocketStream {
    // `perform` would refuse the connect, but not before the socket was made.
    if let effective = IODeadline.effective(limit), effective.hasPassed {
      throw IOError(.timedOut, operation: .connect, address: address)
    }
    let boxed = SocketAddressBox(address)
    return try await reactor.onLoop { loop throws(IOError) in
      let fd = try await loop.makeSocket(
        family: address.family, type: CInt(SOCK_STREAM.rawValue), address: address)
      // From here the handle owns the descriptor: any failure closes it.
      let handle = SocketHandle(descriptor: fd, peer: address, reactor: reactor)
      try options.withStreamDefaults(for: address).apply(to: fd, address: address)
      // The slot retains the address and the handle (its descriptor) until
      // the connect's CQE (rule 1); the linked timeout's slot its timespec.
      _ = unsafe try await loop.perform(
        .connect(fd: fd, address: boxed.pointer, length: boxed.length.pointee),
        retaining: (boxed, handle), deadline: limit
      ).value(.connect, address: address)
      return SocketStream(handle: handle, buffers: buffers)
    }
  }
}
