import Glibc
import Uring

extension SocketListener {
  /// The connections arriving on this socket, accepted by one multishot
  /// accept (`IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`): one SQE for
  /// any number of connections, no readiness polling.
  ///
  /// - Backpressure: at most `maximumPending` accepted connections wait for
  ///   the consumer; then the accept pauses and the kernel's listen backlog
  ///   holds the rest.
  /// - Ownership (rule 4): connections accepted but never handed out (the
  ///   iteration ended, its task was cancelled, the listener was closed, the
  ///   reactor shut down) are closed, never leaked.
  /// - Errors: `EMFILE` and friends are thrown by `next()`; the iterator
  ///   stays usable and its next call accepts again. A cancelled `next()`
  ///   throws ``IOError/Kind/cancelled``. The iteration ends (`nil`) when the
  ///   listener is closed; a reactor shutdown throws
  ///   ``IOError/Kind/reactorShutDown``.
  /// - Each iterator runs its own multishot accept: several tasks iterating
  ///   at once share the connections.
  /// - Deadline: inside an ``IODeadline`` scope (its deadline taken when
  ///   `next()` starts), a `next()` that waits past it throws
  ///   ``IOError/Kind/timedOut`` and leaves the iterator usable: the accept
  ///   keeps running, connections accepted later are queued for the next
  ///   call. A queued connection is returned even past the deadline; with
  ///   none queued, a deadline already past throws at once. The deadline is
  ///   an entry in the loop's timer heap, not an SQE per call.
  ///
  /// - Parameters:
  ///   - maximumPending: accepted connections that may wait for `next()`
  ///     (backpressure on the multishot accept).
  ///   - buffers: the pool the connections' ``SocketStream/receive()`` uses
  ///     (`nil`: the reactor's shared pool).
  public func connections(
    maximumPending: Int = 64, buffers: ProvidedBufferPool? = nil
  ) -> Connections {
    Connections(listener: self, maximumPending: maximumPending, buffers: buffers)
  }

  /// ``connections(maximumPending:buffers:)`` with its defaults.
  public var connections: Connections { connections() }

  /// The connections arriving on a ``SocketListener``.
  public struct Connections: AsyncSequence, Sendable {
    public typealias Element = SocketStream
    public typealias Failure = IOError

    let listener: SocketListener
    let maximumPending: Int
    let buffers: ProvidedBufferPool?

    public func makeAsyncIterator() -> Iterator {
      Iterator(
        listener: listener,
        handle: AcceptorHandle(
          Acceptor(listener: listener.handle, maximumPending: maximumPending),
          reactor: listener.reactor),
        buffers: buffers)
    }

    /// Iterates one multishot accept; dropping it ends the accept.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
      public typealias Element = SocketStream
      public typealias Failure = IOError

      let listener: SocketListener
      let handle: AcceptorHandle
      let buffers: ProvidedBufferPool?

      /// The next connection, `nil` once the listener is closed.
      ///
      /// Deadline: an enclosing ``IODeadline`` scope's, taken now; past it, a
      /// wait throws ``IOError/Kind/timedOut`` and the iterator stays usable
      /// (see ``SocketListener/connections(maximumPending:buffers:)``).
      public mutating func next() async throws(IOError) -> SocketStream? {
        let acceptor = handle.acceptor
        let buffers = self.buffers
        let listener = self.listener
        let deadline = IODeadline.effective(nil)
        return try await listener.reactor.onLoop { loop throws(IOError) -> SocketStream? in
          guard let fd = try await acceptor.next(loop, deadline: deadline) else { return nil }
          return SocketStream(
            handle: SocketHandle(
              descriptor: fd, peer: socketName(fd, peer: true), reactor: listener.reactor),
            buffers: buffers)
        }
      }

      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IOError)
        -> SocketStream?
      {
        try await next()
      }
    }
  }
}

/// Ends its acceptor when the iterator that owns it goes away.
final class AcceptorHandle: Sendable {
  let acceptor: Acceptor
  private let reactor: Reactor

  init(_ acceptor: Acceptor, reactor: Reactor) {
    self.acceptor = acceptor
    self.reactor = reactor
  }

  deinit {
    let acceptor = self.acceptor
    reactor.runOnLoop { loop in acceptor.terminate(loop: loop) }
  }
}
