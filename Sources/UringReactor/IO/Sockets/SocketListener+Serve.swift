extension SocketListener {
  /// Accepts connections (one multishot `IORING_OP_ACCEPT`, as
  /// ``connections(maximumPending:buffers:)``) and runs `handler` for each in
  /// a child task that prefers the listener's reactor, so the connection's
  /// I/O runs on that reactor's thread; the connection is closed
  /// (`IORING_OP_CLOSE`) when its handler returns, unless the handler closed
  /// it already.
  ///
  /// ```swift
  /// try await listener.serve { connection in
  ///   while let bytes = try? await connection.receive() {
  ///     guard (try? await connection.writeAll(bytes)) != nil else { break }
  ///   }
  /// }
  /// ```
  ///
  /// Returns once `connectionLimit` connections have been accepted and all
  /// their handlers have returned, or once the listener is closed and the
  /// running handlers have returned, or once `drain` has ended them.
  ///
  /// - Throws: the first accept error (such as `EMFILE`), after the running
  ///   handlers have returned; no connection is accepted after it. Iterate
  ///   ``connections(maximumPending:buffers:)`` yourself to go on accepting
  ///   after errors. ``IOError/Kind/cancelled`` when the calling task is
  ///   cancelled: the handlers' tasks are cancelled too (their pending
  ///   operations throw ``IOError/Kind/cancelled``) and awaited.
  /// - Ownership: connections accepted but not yet handed to a handler when
  ///   serving ends are closed (rule 4); a handler's connection is closed
  ///   after the handler, whatever it threw or stored. (After a
  ///   cancellation, connections accepted already may still be handed to
  ///   handlers, in cancelled tasks, and are closed after them.)
  /// - Parameters:
  ///   - connectionLimit: stop accepting after this many (`nil`: until the
  ///     listener is closed; 0 or less: return at once, accepting none).
  ///   - maximumPending: accepted connections that may wait for a handler
  ///     task to be created (backpressure on the multishot accept).
  ///   - buffers: the pool the connections' ``SocketStream/receive()`` uses
  ///     (`nil`: the reactor's shared pool).
  ///   - drain: ends serving gracefully once ``ServerDrain/begin(deadline:)``
  ///     is called: this listener is closed, idle connections end, running
  ///     handlers may finish until the drain's deadline and are cancelled
  ///     after it; then `serve` returns (without throwing). `nil`: serve
  ///     until the listener is closed or the task cancelled. Serving with a
  ///     drain already begun returns at once.
  ///   - handler: runs once per connection, in a task that prefers the
  ///     listener's reactor; the connection is closed when it returns.
  nonisolated(nonsending) public func serve(
    connectionLimit: Int? = nil, maximumPending: Int = 64, buffers: ProvidedBufferPool? = nil,
    drain: ServerDrain? = nil,
    _ handler: @escaping @Sendable (SocketStream) async -> Void
  ) async throws(IOError) {
    if let connectionLimit, connectionLimit <= 0 { return }
    if let drain {
      guard drain.register(listener: handle) else { return }
    }
    defer { drain?.unregister(listener: handle) }
    let reactor = self.reactor
    let connections = self.connections(maximumPending: maximumPending, buffers: buffers)
    let handlers = drain == nil ? nil : ServedHandlers()
    let ended: IOError? = await withDiscardingTaskGroup { group in
      var accepted = 0
      var failure: IOError? = nil
      do throws(IOError) {
        for try await connection in connections {
          if let drain, let handlers {
            if drain.isDraining {
              // Accepted as the drain began: never handed out (rule 4).
              try? await connection.close()
              break
            }
            handlers.enter()
            group.addTask(executorPreference: reactor) {
              await drain.serve(connection, handler)
              try? await connection.close()
              handlers.leave()
            }
          } else {
            group.addTask(executorPreference: reactor) {
              await handler(connection)
              try? await connection.close()
            }
          }
          accepted += 1
          if let connectionLimit, accepted >= connectionLimit { break }
        }
      } catch {
        // A drain that closed the listener before its accept was armed
        // (`EBADF`) is no failure.
        if drain?.isDraining != true { failure = error }
      }
      if let drain, let handlers, let deadline = drain.deadline {
        // Draining: handlers may finish until the deadline, then are cancelled.
        if await !handlers.waitUntilDone(deadline: deadline) { group.cancelAll() }
      }
      return failure
    }
    if let ended { throw ended }
  }
}
