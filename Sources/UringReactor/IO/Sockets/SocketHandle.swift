import Glibc
import Synchronization
import SystemPackage
import Uring

/// The descriptor of one socket and the loop-confined state of its
/// multishot operations: what in-flight slots retain for a socket (rule 1).
///
/// The public types (``SocketStream``, ``SocketListener``,
/// ``DatagramSocket``) wrap a handle; when the last of them goes away the
/// handle is *abandoned*: its multishot operations are cancelled (a
/// multishot receive or accept holds the kernel's reference to the socket,
/// so merely closing the descriptor would keep the socket open) and the
/// descriptor is closed. The handle itself lives until its last slot is
/// released.
///
/// Thread-safety: the descriptor is read and closed on the loop thread (and
/// in `deinit`), in submission order, so an operation can never reach the
/// kernel with a descriptor number that was closed and reused.
final class SocketHandle: @unchecked Sendable {
  let reactor: Reactor
  /// `reactor.loop`, kept here so that the hot paths never retain the
  /// reactor itself.
  let loop: EventLoop
  /// The address errors carry: the peer of a stream, the bound address of a
  /// listener or datagram socket.
  let peer: SocketAddress?
  // Ordering: relaxed. Read and written on the loop thread only (and in
  // `deinit`, which ARC orders after every other access).
  private let state: Atomic<Int32>

  // MARK: Loop-thread state (no dynamic exclusivity checks: one thread)
  /// The multishot receive, once `receive()` was called.
  @exclusivity(unchecked) var receiver: StreamReceiver?
  /// The multishot accepts running on this listening socket.
  @exclusivity(unchecked) var acceptors: [Acceptor] = []
  /// The drain of the server that handed this connection to a handler: once
  /// it begins, an idle ``StreamReceiver`` wait ends (end of stream).
  @exclusivity(unchecked) var drain: ServerDrain?

  init(descriptor: CInt, peer: SocketAddress?, reactor: Reactor) {
    self.reactor = reactor
    self.loop = reactor.loop
    self.peer = peer
    self.state = Atomic(descriptor)
  }

  deinit {
    let fd = state.load(ordering: .relaxed)
    if fd >= 0 { Glibc.close(fd) }
  }

  /// Runs `body` on the loop thread, as ``Reactor/onLoop(_:)`` does; a
  /// nonisolated caller already there (a task that prefers the reactor)
  /// runs it right away.
  @inline(__always)
  nonisolated(nonsending) func onLoop<T: Sendable, E: Error>(
    _ body: nonisolated(nonsending) @Sendable (EventLoop) async throws(E) -> T
  ) async throws(E) -> T {
    let isolation = #isolation
    if isolation == nil, loop.ownsLoopState { return try await body(loop) }
    return try await reactor.onLoop(body)
  }

  /// The descriptor, or `nil` once closed. Loop thread.
  var descriptor: CInt? {
    let fd = state.load(ordering: .relaxed)
    return fd >= 0 ? fd : nil
  }

  /// The descriptor, or `EBADF` naming `operation` once closed. Loop thread.
  func liveDescriptor(for operation: Opcode) throws(IOError) -> CInt {
    let fd = state.load(ordering: .relaxed)
    guard fd >= 0 else {
      throw IOError(.system(.badFileDescriptor), operation: operation, address: peer)
    }
    return fd
  }

  /// Takes the descriptor out (the caller closes it); `nil` if closed already.
  func takeDescriptor() -> CInt? {
    let fd = state.exchange(-1, ordering: .relaxed)
    return fd >= 0 ? fd : nil
  }

  /// Ends the multishot operations (loop thread, or `nil` after the reactor
  /// terminated): the receiver and the accepts are cancelled, their queued
  /// buffers and descriptors given back or closed.
  func terminateMultishots(loop: EventLoop?) {
    unsafe receiver?.terminate(loop: loop)
    let acceptors = unsafe self.acceptors
    unsafe self.acceptors.removeAll()
    for acceptor in acceptors { acceptor.terminate(loop: loop) }
  }

  /// Closes the socket through the ring (`IORING_OP_CLOSE`) after ending its
  /// multishot operations. Closing twice throws `EBADF`. Loop thread.
  nonisolated(nonsending) func close(_ loop: EventLoop) async throws(IOError) {
    terminateMultishots(loop: loop)
    guard let fd = takeDescriptor() else {
      throw IOError(.system(.badFileDescriptor), operation: .close, address: peer)
    }
    _ = try await loop.close(fd).value(.close, address: peer)
  }

  /// The public owner went away: end the multishots and close the
  /// descriptor, on the loop thread (posted there from elsewhere), after the
  /// operations already prepared for it (``EventLoop/closeAfterPrepared(_:)``).
  func abandon() {
    guard needsAbandon else { return }
    reactor.runOnLoop { loop in
      self.terminateMultishots(loop: loop)
      guard let fd = self.takeDescriptor() else { return }
      if let loop { loop.closeAfterPrepared(fd) } else { Glibc.close(fd) }
    }
  }

  /// Whether the descriptor is still open: then the multishot operations
  /// must end and the descriptor close now (a slot may retain the handle,
  /// whose `deinit` would come late).
  private var needsAbandon: Bool {
    state.load(ordering: .relaxed) >= 0
  }
}

extension SocketHandle {
  /// `error` naming both ends of the stream: the peer and, if the descriptor
  /// is still open, this side's address (`getsockname(2)`, made only on this
  /// error path). Loop thread.
  func naming(_ error: IOError) -> IOError {
    var error = error
    error.address = peer
    if let fd = descriptor, let local = socketName(fd, peer: false) {
      // An unnamed Unix-domain socket (one end of a pair) names nothing,
      // as its peer's `nil` address does.
      if case .unix(let unix) = local, unix.pathBytes.isEmpty { return error }
      error.localAddress = local
    }
    return error
  }

  /// An error of `operation` naming both ends, as ``naming(_:)``.
  func error(_ kind: IOError.Kind, _ operation: Opcode) -> IOError {
    naming(IOError(kind, operation: operation))
  }
}

extension OperationOutcome {
  /// The non-negative result, or the error it stands for, naming both ends
  /// of `socket` (``SocketHandle/naming(_:)``).
  func value(_ operation: Opcode, socket: SocketHandle) throws(IOError) -> Int32 {
    do {
      return try value(operation)
    } catch {
      throw socket.naming(error)
    }
  }

  /// The non-negative result, or the error it stands for, naming `address`.
  func value(_ operation: Opcode, address: SocketAddress?) throws(IOError) -> Int32 {
    do {
      return try value(operation)
    } catch {
      var error = error
      error.address = address
      throw error
    }
  }
}
