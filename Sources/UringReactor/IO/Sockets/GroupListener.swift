/// Listens on one address from every reactor of a ``ReactorGroup``: one
/// listening socket per reactor, all bound with `SO_REUSEPORT`, so the
/// kernel spreads incoming connections across them (by a hash of each
/// connection's addresses and ports) and each connection is accepted, and
/// its I/O done, by one reactor's ring, with no hop between threads.
///
/// ```swift
/// let group = try ReactorGroup()
/// let listener = try await GroupListener.listen(at: .anyIPv4(port: 8080), group: group)
/// try await listener.serve { connection in
///   // Runs on the reactor that accepted `connection`.
///   while let bytes = try? await connection.receive() {
///     guard (try? await connection.writeAll(bytes)) != nil else { break }
///   }
/// }
/// ```
///
/// - Ownership: the group listener owns its ``listeners``; ``close()``
///   closes them all (cancelling their multishot accepts, `IORING_OP_CLOSE`),
///   and dropping the last reference to each does the same on its loop
///   thread. The ``ReactorGroup`` must outlive the listener's use.
/// - Thread-safety: `Sendable`; every method may be called from any task.
/// - Cancellation: see ``serve(maximumPending:drain:_:)``.
/// - Security: `SO_REUSEPORT` lets any socket of the same user bind the same
///   address and take a share of the connections.
public final class GroupListener: Sendable {
  /// One listener per reactor of the group, in the group's order; each
  /// accepts on its own reactor.
  public let listeners: [SocketListener]

  /// The address the listeners are bound to, with the port the kernel
  /// picked when port 0 was asked.
  public var localAddress: SocketAddress { listeners[0].localAddress }

  init(listeners: [SocketListener]) {
    precondition(!listeners.isEmpty, "a group listener needs a listener")
    self.listeners = listeners
  }

  /// Creates a listening stream socket on each reactor of `group` (as
  /// ``SocketListener/listen(at:backlog:options:on:)``, `IORING_OP_SOCKET`,
  /// `bind(2)`, `listen(2)`), all bound to `address` with `SO_REUSEPORT`
  /// set whatever `options` says. With port 0, the port the kernel picks for
  /// the first socket is the one the others bind.
  ///
  /// Each socket has its own `backlog`. A connection waits in the backlog of
  /// the socket the kernel chose for it: a reactor that is busy for long
  /// delays its own connections only.
  ///
  /// - Throws: ``IOError``: `EINVAL` (operation `.listen`) for a
  ///   Unix-domain address, which cannot be shared; the errors of
  ///   ``SocketListener/listen(at:backlog:options:on:)``, such as
  ///   `EADDRINUSE` when a socket without `SO_REUSEPORT` holds the address.
  ///   Sockets already created are closed before it throws.
  nonisolated(nonsending) public static func listen(
    at address: SocketAddress,
    backlog: Int = 1024,
    options: SocketOptions = SocketOptions(reuseAddress: true),
    group: ReactorGroup
  ) async throws(IOError) -> GroupListener {
    if case .unix = address {
      throw IOError(.system(.invalidArgument), operation: .listen, address: address)
    }
    var settings = options
    settings.reusePort = true
    var listeners: [SocketListener] = []
    var bound = address
    do throws(IOError) {
      for reactor in group.reactors {
        let listener = try await SocketListener.listen(
          at: bound, backlog: backlog, options: settings, on: reactor)
        if listeners.isEmpty, let port = listener.localAddress.port {
          bound = address.withPort(port)
        }
        listeners.append(listener)
      }
    } catch {
      for listener in listeners { try? await listener.close() }
      throw error
    }
    return GroupListener(listeners: listeners)
  }

  /// Serves every listener at once: ``SocketListener/serve(connectionLimit:maximumPending:buffers:drain:_:)``
  /// on each, from a task that prefers the listener's reactor. Each
  /// connection's `handler` runs in a task that prefers the reactor that
  /// accepted it (``SocketStream/reactor``, which is
  /// ``Reactor/current`` inside the handler), and the connection is closed
  /// when its handler returns. Connections use their reactor's shared
  /// provided-buffer pool for ``SocketStream/receive()``.
  ///
  /// Returns once every listener is closed (``close()``) and every running
  /// handler has returned.
  ///
  /// - Throws: the first listener's accept error (such as `EMFILE`), once
  ///   every listener's serving has ended: a listener that failed stops
  ///   accepting while the others go on until closed.
  ///   ``IOError/Kind/cancelled`` when the calling task is cancelled: every
  ///   listener's serving and every handler's task is cancelled, and awaited.
  /// - Parameters:
  ///   - maximumPending: per listener, accepted connections that may wait
  ///     for a handler task (backpressure on its multishot accept).
  ///   - drain: a graceful end for every listener at once
  ///     (``ServerDrain``): once it begins, every listener is closed, idle
  ///     connections end, handlers may finish until its deadline and are
  ///     cancelled after it, and `serve` returns without throwing.
  ///   - handler: runs once per connection, in its own task; the connection
  ///     is closed when it returns.
  nonisolated(nonsending) public func serve(
    maximumPending: Int = 64, drain: ServerDrain? = nil,
    _ handler: @escaping @Sendable (SocketStream) async -> Void
  ) async throws(IOError) {
    let failure: IOError? = await withTaskGroup(of: IOError?.self) { tasks in
      for listener in listeners {
        tasks.addTask(executorPreference: listener.reactor) { () async -> IOError? in
          do throws(IOError) {
            try await listener.serve(maximumPending: maximumPending, drain: drain, handler)
            return nil
          } catch {
            return error
          }
        }
      }
      var first: IOError? = nil
      for await error in tasks where first == nil {
        first = error
      }
      return first
    }
    if let failure { throw failure }
  }

  /// Closes every listener (``SocketListener/close()``): their multishot
  /// accepts are cancelled, connections accepted but not yet handed out are
  /// closed, and ``serve(maximumPending:drain:_:)`` returns once the running
  /// handlers have. Every listener is closed even if one fails; then the
  /// first error is thrown (`EBADF` when closed twice). Never cancelled.
  nonisolated(nonsending) public func close() async throws(IOError) {
    var failure: IOError? = nil
    for listener in listeners {
      do throws(IOError) {
        try await listener.close()
      } catch {
        if failure == nil { failure = error }
      }
    }
    if let failure { throw failure }
  }
}
