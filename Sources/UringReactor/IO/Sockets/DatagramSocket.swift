import Glibc
import Uring

/// A datagram received with its sender's address.
public struct Datagram: Sendable, Hashable {
  /// The payload (at most the length asked for).
  public var bytes: [UInt8]
  /// Who sent it.
  public var sender: SocketAddress?
  /// `MSG_TRUNC`: the datagram was longer than the length asked for; the
  /// rest was discarded.
  public var isTruncated: Bool

  /// A datagram of `bytes` from `sender`.
  public init(bytes: [UInt8], sender: SocketAddress?, isTruncated: Bool = false) {
    self.bytes = bytes
    self.sender = sender
    self.isTruncated = isTruncated
  }
}

/// A datagram socket (UDP over IPv4 or IPv6, or Unix-domain `SOCK_DGRAM`),
/// sending and receiving with `IORING_OP_SENDMSG` / `IORING_OP_RECVMSG`: each
/// operation's `msghdr`, `iovec`, peer address and data are held in one
/// object the reactor retains until its CQE.
///
/// Unconnected, every send names its destination and every datagram names
/// its sender; ``connect(to:)`` fixes the peer (sends may omit it, and only
/// its datagrams arrive).
///
/// - Ownership: the socket owns its descriptor; ``close()`` or the last
///   reference closes it.
/// - Thread-safety: `Sendable`; any task may call any method.
/// - Cancellation: a cancelled task's operation is cancelled in the kernel;
///   its memory is kept until the CQE (rule 3).
public final class DatagramSocket: Sendable {
  let handle: SocketHandle
  /// The reactor whose ring performs this socket's I/O.
  public var reactor: Reactor { handle.reactor }
  /// The address the socket is bound to (with the port the kernel picked
  /// for port 0).
  public let localAddress: SocketAddress

  private init(handle: SocketHandle, localAddress: SocketAddress) {
    self.handle = handle
    self.localAddress = localAddress
  }

  deinit {
    handle.abandon()
  }

  /// A datagram socket (`IORING_OP_SOCKET`) bound to `address` (port 0: any
  /// free port). Bind `.anyIPv4(port: 0)` for a client.
  nonisolated(nonsending) public static func bind(
    to address: SocketAddress, options: SocketOptions = SocketOptions(), on reactor: Reactor
  ) async throws(IOError) -> DatagramSocket {
    try await reactor.onLoop { loop throws(IOError) in
      let (handle, fd) = try await loop.makeBoundSocket(
        type: CInt(SOCK_DGRAM.rawValue), address: address, options: options, reactor: reactor)
      return DatagramSocket(handle: handle, localAddress: socketName(fd, peer: false) ?? address)
    }
  }

  /// Fixes the peer (`IORING_OP_CONNECT`): sends without an address go to
  /// it, and only its datagrams are received. A refused earlier send to it
  /// may surface as `ECONNREFUSED` on a later operation.
  nonisolated(nonsending) public func connect(to address: SocketAddress) async throws(IOError) {
    let boxed = SocketAddressBox(address)
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in
      let fd = try handle.liveDescriptor(for: .connect)
      _ = unsafe try await loop.perform(
        .connect(fd: fd, address: boxed.pointer, length: boxed.length.pointee),
        retaining: (boxed, handle)
      ).value(.connect, address: address)
    }
  }

  /// Sends one datagram of `bytes` (copied) to `address` (`nil`: the
  /// connected peer). Returns the bytes sent.
  nonisolated(nonsending) public func send(
    _ bytes: some Collection<UInt8>, to address: SocketAddress? = nil
  ) async throws(IOError) -> Int {
    let storage = OwnedBufferStorage(capacity: bytes.count)
    // SAFETY: fresh storage, not shared with anyone yet.
    unsafe storage.region.copyBytes(from: bytes)
    return try await send(storage, count: bytes.count, to: address).get()
  }

  /// Sends the buffer's filled bytes as one datagram to `address` (`nil`:
  /// the connected peer), and hands the buffer back after the CQE.
  nonisolated(nonsending) public func send(
    from buffer: consuming OwnedBuffer, to address: SocketAddress? = nil
  ) async -> IOResult<OwnedBuffer> {
    let result = await send(buffer.storage, count: buffer.count, to: address)
    return IOResult(buffer: buffer, result: result)
  }

  nonisolated(nonsending) private func send(
    _ storage: OwnedBufferStorage, count: Int, to address: SocketAddress?
  ) async -> Result<Int, IOError> {
    let handle = self.handle
    let name = address.map { SocketAddressBox($0) }
    return await handle.onLoop { loop throws(Never) -> Result<Int, IOError> in
      do throws(IOError) {
        let fd = try handle.liveDescriptor(for: .sendmsg)
        let box = unsafe MessageBox(
          data: UnsafeMutableRawBufferPointer(rebasing: storage.region[..<count]), memory: storage,
          name: name, controlCapacity: 0)
        let outcome = unsafe await loop.perform(
          .sendMessage(fd: fd, message: box.header, flags: UInt32(bitPattern: noSignal)),
          retaining: (box, handle))
        return .success(Int(try outcome.value(.sendmsg, address: address ?? handle.peer)))
      } catch {
        return .failure(error)
      }
    }
  }

  /// Receives one datagram of up to `maximumLength` bytes (copied into
  /// ``Datagram/bytes``), with its sender.
  nonisolated(nonsending) public func receive(maximumLength: Int = 65_536) async throws(IOError)
    -> Datagram
  {
    let storage = OwnedBufferStorage(capacity: max(1, maximumLength))
    let (count, sender, flags) = try await receive(into: storage).get()
    return unsafe Datagram(
      bytes: Array(UnsafeRawBufferPointer(rebasing: storage.region[..<count])), sender: sender,
      isTruncated: flags & CInt(MSG_TRUNC) != 0)
  }

  /// Receives one datagram into the start of `buffer` (its `count` becomes
  /// the datagram's length) and hands the buffer back after the CQE, with
  /// the sender.
  nonisolated(nonsending) public func receive(into buffer: consuming OwnedBuffer) async
    -> ReceivedDatagram
  {
    let outcome = await receive(into: buffer.storage)
    switch outcome {
    case .success(let (count, sender, flags)):
      buffer.count = count
      return ReceivedDatagram(
        buffer: buffer, result: .success(count), sender: sender,
        isTruncated: flags & CInt(MSG_TRUNC) != 0)
    case .failure(let error):
      buffer.count = 0
      return ReceivedDatagram(buffer: buffer, result: .failure(error), sender: nil)
    }
  }

  nonisolated(nonsending) private func receive(
    into storage: OwnedBufferStorage
  ) async -> Result<(Int, SocketAddress?, CInt), IOError> {
    let handle = self.handle
    return await handle.onLoop {
      loop throws(Never) -> Result<(Int, SocketAddress?, CInt), IOError> in
      do throws(IOError) {
        let fd = try handle.liveDescriptor(for: .recvmsg)
        let box = unsafe MessageBox(
          data: storage.region, memory: storage, name: SocketAddressBox(), controlCapacity: 0)
        let outcome = unsafe await loop.perform(
          .receiveMessage(fd: fd, message: box.header, flags: 0), retaining: (box, handle))
        let count = Int(try outcome.value(.recvmsg, address: handle.peer))
        return .success((min(count, storage.capacity), box.peer, box.flags))
      } catch {
        return .failure(error)
      }
    }
  }

  /// Closes the socket (`IORING_OP_CLOSE`). Closing twice throws `EBADF`.
  /// The close is never cancelled (neither by the task nor by an
  /// ``IODeadline``).
  nonisolated(nonsending) public func close() async throws(IOError) {
    let handle = self.handle
    try await handle.onLoop { loop throws(IOError) in try await handle.close(loop) }
  }
}

/// A datagram received into an ``OwnedBuffer``, handed back with the result
/// and the sender (`@frozen`, so the buffer can be taken apart across modules).
@frozen
public struct ReceivedDatagram: ~Copyable {
  /// The buffer, holding the datagram in `0..<count`.
  public var buffer: OwnedBuffer
  /// The datagram's length, or why the receive failed.
  public var result: Result<Int, IOError>
  /// Who sent it.
  public var sender: SocketAddress?
  /// The datagram was longer than the buffer; the rest was discarded.
  public var isTruncated: Bool

  /// Pairs a handed-back buffer with its receive's outcome.
  public init(
    buffer: consuming OwnedBuffer, result: Result<Int, IOError>, sender: SocketAddress?,
    isTruncated: Bool = false
  ) {
    self.buffer = buffer
    self.result = result
    self.sender = sender
    self.isTruncated = isTruncated
  }
}
