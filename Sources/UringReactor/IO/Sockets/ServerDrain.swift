import Synchronization

/// Tells servers to drain: stop accepting, end idle connections at once,
/// let running handlers finish until a deadline, then cancel them.
///
/// Pass one to ``SocketListener/serve(connectionLimit:maximumPending:buffers:drain:_:)``
/// or ``GroupListener/serve(maximumPending:drain:_:)`` (one drain may serve
/// several listeners), and call ``begin(deadline:)`` (from a signal
/// handler's task, a `Service`'s graceful shutdown, a test):
///
/// ```swift
/// let drain = ServerDrain()
/// async let served: Void = listener.serve(drain: drain) { connection in
///   // A keep-alive loop: receive() returns nil once the drain has begun
///   // and no request bytes are waiting, so the loop ends between requests.
///   while let request = try? await connection.receive() {
///     guard (try? await respond(to: request, on: connection)) != nil else { break }
///   }
/// }
/// drain.begin(gracePeriod: .seconds(10))
/// try await served  // every handler has returned or was cancelled
/// ```
///
/// Once ``begin(deadline:)`` is called:
/// - **No new connection.** Every listener serving with this drain is
///   closed (its multishot `IORING_OP_ACCEPT` cancelled, `IORING_OP_CLOSE`):
///   the kernel refuses new connections, those waiting in its backlog are
///   reset, and those accepted but not yet handed to a handler are closed
///   (rule 4). A listener closed this way throws `EBADF` if closed again.
/// - **Idle connections end at once.** A served connection's
///   ``SocketStream/receive()`` returns `nil` (end of stream) whenever it
///   would wait: a handler waiting there now is resumed, later calls
///   return `nil` unless bytes are already queued. A keep-alive loop so
///   ends between requests; bytes already received are still returned.
///   (A handler reading with `read(into:)`, or that needs more bytes of a
///   request it has begun, should check ``isDraining``.)
/// - **Busy handlers finish.** A handler writing a response, or doing
///   anything but waiting in `receive()`, goes on; `serve` returns when the
///   last has returned.
/// - **Deadline.** Handlers still running at the deadline are cancelled:
///   their pending operations throw ``IOError/Kind/cancelled``
///   (`IORING_OP_ASYNC_CANCEL`, memory kept until the CQE, rule 3), and
///   `serve` returns once they have. It returns normally: a drain is not an
///   error.
///
/// - Thread-safety: `Sendable`; ``begin(deadline:)`` and ``isDraining``
///   may be used from any thread. Beginning twice keeps the first deadline.
/// - Ownership: holds the listeners and connections it serves only while
///   they are served.
public final class ServerDrain: Sendable {
  private struct State {
    var deadline: ContinuousClock.Instant?
    var listeners: [ObjectIdentifier: SocketHandle] = [:]
    var connections: [ObjectIdentifier: SocketHandle] = [:]
  }

  private let state = Locked(State())
  // Ordering: stored with release inside the lock by `begin`, loaded with
  // acquire, so a reader that sees `true` also sees the deadline.
  private let draining = Atomic<Bool>(false)

  public init() {}

  /// Whether ``begin(deadline:)`` was called. A handler may check it
  /// between requests (e.g. to answer `Connection: close`).
  public var isDraining: Bool { draining.load(ordering: .acquiring) }

  /// The deadline after which running handlers are cancelled; `nil` before
  /// the drain begins.
  public var deadline: ContinuousClock.Instant? { state.withLock { $0.deadline } }

  /// Begins the drain; handlers still running at `deadline` are cancelled.
  /// Returns at once; await the `serve` calls to know when they are done.
  public func begin(deadline: ContinuousClock.Instant) {
    let taken = state.withLock { state -> State? in
      guard state.deadline == nil else { return nil }
      state.deadline = deadline
      draining.store(true, ordering: .releasing)
      let taken = state
      state.listeners = [:]
      state.connections = [:]
      return taken
    }
    guard let taken else { return }
    // The listeners close on their loops (multishot accepts cancelled first).
    for listener in taken.listeners.values { listener.abandon() }
    for connection in taken.connections.values {
      connection.reactor.runOnLoop { _ in unsafe connection.receiver?.endIfIdle() }
    }
  }

  /// Begins the drain with `gracePeriod` from now as the deadline.
  public func begin(gracePeriod: Duration) {
    begin(deadline: ContinuousClock.now.advanced(by: gracePeriod))
  }

  /// A listener starts serving; `false` if the drain began already (then
  /// it must not accept).
  func register(listener: SocketHandle) -> Bool {
    state.withLock { state in
      guard state.deadline == nil else { return false }
      state.listeners[ObjectIdentifier(listener)] = listener
      return true
    }
  }

  func unregister(listener: SocketHandle) {
    _ = state.withLock { $0.listeners.removeValue(forKey: ObjectIdentifier(listener)) }
  }

  /// Runs `handler` for a served connection, whose idle waits end once the
  /// drain begins. The handler's task prefers the connection's reactor.
  nonisolated(nonsending) func serve(
    _ connection: SocketStream, _ handler: @Sendable (SocketStream) async -> Void
  ) async {
    let handle = connection.handle
    await handle.onLoop { _ throws(Never) in unsafe handle.drain = self }
    let registered = state.withLock { state in
      guard state.deadline == nil else { return false }
      state.connections[ObjectIdentifier(handle)] = handle
      return true
    }
    await handler(connection)
    if registered {
      _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(handle)) }
    }
  }
}
