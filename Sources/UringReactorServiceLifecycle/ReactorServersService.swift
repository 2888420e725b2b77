#if ServiceLifecycle
  public import ServiceLifecycle
  public import UringReactor

  /// A swift-service-lifecycle `Service` that runs a ``ReactorGroup``'s
  /// servers until graceful shutdown (e.g. `SIGTERM` through a
  /// `ServiceGroup`), then drains them (``ServerDrain``) and shuts the
  /// group down.
  ///
  /// ```swift
  /// let group = try ReactorGroup()
  /// let listener = try await GroupListener.listen(at: .anyIPv4(port: 8080), group: group)
  /// let server = ReactorServersService(group: group, listener: listener) { connection in
  ///   while let request = try? await connection.receive() { ... }
  /// }
  /// let services = ServiceGroup(
  ///   services: [server], gracefulShutdownSignals: [.sigterm], logger: logger)
  /// try await services.run()
  /// ```
  ///
  /// - Graceful shutdown: the drain begins with ``gracePeriod``: the
  ///   listeners close, idle keep-alive connections end at once, running
  ///   handlers may finish for ``gracePeriod`` and are cancelled after it.
  ///   Then the group shuts down (``ReactorGroup/shutdown()``) and `run()`
  ///   returns.
  /// - Cancellation (the `ServiceGroup` cancels its services): serving is
  ///   cancelled at once (every handler's task too), the group shuts down,
  ///   and `run()` returns without throwing.
  /// - Errors: an accept error (e.g. `EMFILE`) ends serving; the group is
  ///   shut down and `run()` throws it (an ``IOError``).
  /// - Ownership: the service owns the group from `run()` on: it shuts it
  ///   down when `run()` ends, however it ends. Run it once.
  /// - Thread-safety: `Sendable`, as `Service` requires.
  public struct ReactorServersService: Service {
    /// The group the servers run on; shut down when ``run()`` ends.
    public let group: ReactorGroup
    /// How long handlers may go on after graceful shutdown began.
    public let gracePeriod: Duration
    private let servers: @Sendable (ServerDrain) async throws -> Void

    /// Serves `listener` (``GroupListener/serve(maximumPending:drain:_:)``)
    /// with `handler`, on every reactor of `group`.
    public init(
      group: ReactorGroup, listener: GroupListener, gracePeriod: Duration = .seconds(10),
      maximumPending: Int = 64, _ handler: @escaping @Sendable (SocketStream) async -> Void
    ) {
      self.init(group: group, gracePeriod: gracePeriod) { drain in
        try await listener.serve(maximumPending: maximumPending, drain: drain, handler)
      }
    }

    /// Runs `servers`, which must serve with the drain it is given (pass
    /// it to every `serve` call) and return once those calls have.
    public init(
      group: ReactorGroup, gracePeriod: Duration = .seconds(10),
      servers: @escaping @Sendable (ServerDrain) async throws -> Void
    ) {
      self.group = group
      self.gracePeriod = gracePeriod
      self.servers = servers
    }

    /// Serves until graceful shutdown or cancellation, drains, and shuts the
    /// group down.
    public func run() async throws {
      let drain = ServerDrain()
      let gracePeriod = self.gracePeriod
      do {
        try await withGracefulShutdownHandler {
          try await servers(drain)
        } onGracefulShutdown: {
          drain.begin(gracePeriod: gracePeriod)
        }
      } catch let error as IOError where error.kind == .cancelled {
        // Cancelled by the service group: not a failure.
      } catch {
        await group.shutdown()
        throw error
      }
      await group.shutdown()
    }
  }
#endif
