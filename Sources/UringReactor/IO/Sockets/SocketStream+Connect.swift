import Glibc
import Uring

extension SocketStream {
  /// Connects a new stream socket to `address` (`IORING_OP_SOCKET`, then
  /// `IORING_OP_CONNECT`): TCP for IP addresses, Unix-domain for paths.
  ///
  /// - Parameters:
  ///   - timeout: gives up after this long with ``IOError/Kind/timedOut``.
  ///     The connect is linked to an `IORING_OP_LINK_TIMEOUT` in the same
  ///     submission, so the kernel cancels it when the time is up.
  ///   - options: applied before connecting (e.g. `noDelay`, buffer sizes).
  ///   - buffers: the pool ``receive()`` uses (`nil`: the reactor's shared pool).
  /// - Throws: ``IOError`` carrying `address`: `ECONNREFUSED`
  ///   (``IOError/isConnectionRefused``), `ENETUNREACH`, ``IOError/Kind/timedOut``...
  ///
  /// Cancellation: the connect is cancelled in the kernel and the socket
  /// closed; a socket created after the task gave up is closed by the reactor
  /// (rule 4).
  nonisolated(nonsending) public static func connect(
    to address: SocketAddress,
    timeout: Duration? = nil,
    options: SocketOptions = SocketOptions(),
    buffers: ProvidedBufferPool? = nil,
    on reactor: Reactor
  ) async throws(IOError) -> SocketStream {
    let boxed = SocketAddressBox(address)
    return try await reactor.onLoop { loop throws(IOError) in
      let fd = try await loop.makeSocket(
        family: address.family, type: CInt(SOCK_STREAM.rawValue), address: address)
      // From here the handle owns the descriptor: any failure closes it.
      let handle = SocketHandle(descriptor: fd, peer: address, reactor: reactor)
      try options.apply(to: fd, address: address)
      let connect = RingOperation.connect(
        fd: fd, address: boxed.pointer, length: boxed.length.pointee)
      var outcome: OperationOutcome
      if let timeout {
        outcome = await loop.connect(connect, retaining: (boxed, handle), timeout: timeout)
      } else {
        outcome = await loop.perform(connect, retaining: (boxed, handle))
      }
      if outcome.result == -ECANCELED, outcome.cancellation == nil {
        // Cancelled by nobody but the linked timeout.
        outcome.cancellation = .deadline
      }
      _ = try outcome.value(.connect, address: address)
      return SocketStream(handle: handle, buffers: buffers)
    }
  }
}

extension SocketStream {
  /// ``connect(to:timeout:options:buffers:on:)`` that gives up at `deadline`
  /// (a `ContinuousClock` instant): the time left when the call starts
  /// becomes the linked `IORING_OP_LINK_TIMEOUT`.
  nonisolated(nonsending) public static func connect(
    to address: SocketAddress,
    deadline: ContinuousClock.Instant,
    options: SocketOptions = SocketOptions(),
    buffers: ProvidedBufferPool? = nil,
    on reactor: Reactor
  ) async throws(IOError) -> SocketStream {
    let left = ContinuousClock.now.duration(to: deadline)
    return try await connect(
      to: address, timeout: max(left, .nanoseconds(1)), options: options, buffers: buffers,
      on: reactor)
  }
}

extension EventLoop {
  /// `connect` linked (`IOSQE_IO_LINK`) to an `IORING_OP_LINK_TIMEOUT` of
  /// `timeout`: the two SQEs go to the kernel in one submission and the
  /// kernel cancels the connect (`-ECANCELED`) when the time is up. The
  /// timeout's slot retains its `timespec` until its own CQE.
  nonisolated(nonsending) func connect(
    _ connect: RingOperation, retaining retained: (AnyObject?, AnyObject?), timeout: Duration
  ) async -> OperationOutcome {
    let operation = AwaitedOperation(.single)
    let timespec = TimespecBox(timeout)
    return await awaitStarted(operation) { loop in
      // A link must not be split across two submissions (preparing flushes
      // the SQ when it is full): make room for both SQEs first.
      while loop.setup.submissionQueueEntries - (loop.ring?.pendingSubmissions ?? 0) < 2 {
        loop.ring!.submit()
      }
      guard
        let userData = loop.start(connect, handler: operation, retaining: retained, flags: .link)
      else { return nil }
      _ = loop.start(
        .linkTimeout(timespec: timespec.pointer, flags: 0), handler: IgnoredCompletions.shared,
        retaining: (timespec, nil))
      return userData
    }
  }
}
