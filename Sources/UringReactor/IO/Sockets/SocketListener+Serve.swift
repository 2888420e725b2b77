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
  /// running handlers have returned.
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
  ///   - handler: runs once per connection, in a task that prefers the
  ///     listener's reactor; the connection is closed when it returns.
  nonisolated(nonsending) public func serve(
    connectionLimit: Int? = nil, maximumPending: Int = 64, buffers: ProvidedBufferPool? = nil,
    _ handler: @escaping @Sendable (SocketStream) async -> Void
  ) async throws(IOError) {
    if let connectionLimit, connectionLimit <= 0 { return }
    let reactor = self.reactor
    let connections = self.connections(maximumPending: maximumPending, buffers: buffers)
    let ended: IOError? = await withDiscardingTaskGroup { group in
      var accepted = 0
      do throws(IOError) {
        for try await connection in connections {
          group.addTask(executorPreference: reactor) {
            await handler(connection)
            try? await connection.close()
          }
          accepted += 1
          if let connectionLimit, accepted >= connectionLimit { break }
        }
        return nil
      } catch {
        return error
      }
    }
    if let ended { throw ended }
  }
}
