import Glibc

/// A blocking TCP echo client over one connection to 127.0.0.1, the same for
/// every server measured: it sends a message, reads the whole echo back,
/// checks it, and repeats. It allocates nothing per round trip, so the
/// allocations measured are the server's.
///
/// The blocking calls run on a thread of the client's own: blocking a thread
/// of Swift's cooperative pool (2 on this machine, one of which the benchmark
/// framework already blocks) would starve a server that runs on it
/// (`NIOAsyncChannel`).
public final class EchoClient: @unchecked Sendable {
  // @unchecked: `connection` is used by the worker thread only; `pending` and
  // `stopping` under `lock`.
  private let connection: Connection
  private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var pending: (count: Int, done: UnsafeContinuation<BenchmarkFailure?, Never>)?
  private var stopping = false
  private var worker = pthread_t()

  /// Connects (TCP_NODELAY) to 127.0.0.1:`port` and starts the worker thread.
  public init(port: UInt16, messageSize: Int = 64) throws(BenchmarkFailure) {
    connection = try Connection(port: port, messageSize: messageSize)
    pthread_mutex_init(lock, nil)
    pthread_cond_init(wake, nil)
    let context = Unmanaged.passRetained(self).toOpaque()
    let status = pthread_create(
      &worker, nil,
      { context in
        let client = Unmanaged<EchoClient>.fromOpaque(context!).takeRetainedValue()
        client.serve()
        return nil
      }, context)
    guard status == 0 else {
      Unmanaged<EchoClient>.fromOpaque(context).release()
      throw BenchmarkFailure("pthread_create: \(status)")
    }
  }

  deinit {
    pthread_cond_destroy(wake)
    pthread_mutex_destroy(lock)
    wake.deallocate()
    lock.deallocate()
  }

  /// `count` round trips on the worker thread; throws if the connection
  /// fails or an echo differs.
  public func roundTrips(_ count: Int) async throws(BenchmarkFailure) {
    let failure = await withUnsafeContinuation { continuation in
      pthread_mutex_lock(lock)
      pending = (count, continuation)
      pthread_cond_signal(wake)
      pthread_mutex_unlock(lock)
    }
    if let failure { throw failure }
  }

  /// Stops the worker thread and closes the connection.
  public func close() {
    pthread_mutex_lock(lock)
    stopping = true
    pthread_cond_signal(wake)
    pthread_mutex_unlock(lock)
    pthread_join(worker, nil)
    connection.close()
  }

  private func serve() {
    while true {
      pthread_mutex_lock(lock)
      while pending == nil && !stopping { pthread_cond_wait(wake, lock) }
      let request = pending
      pending = nil
      pthread_mutex_unlock(lock)
      guard let request else { return }
      request.done.resume(returning: connection.roundTrips(request.count))
    }
  }
}

/// The socket and the two message buffers.
private final class Connection {
  private let fd: Int32
  private let messageSize: Int
  private let outgoing: UnsafeMutableRawBufferPointer
  private let incoming: UnsafeMutableRawBufferPointer
  private var round: UInt64 = 0

  init(port: UInt16, messageSize: Int) throws(BenchmarkFailure) {
    precondition(messageSize >= 8)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw BenchmarkFailure("socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      let code = errno
      Glibc.close(fd)
      throw BenchmarkFailure("connect to 127.0.0.1:\(port): errno \(code)")
    }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    self.fd = fd
    self.messageSize = messageSize
    outgoing = .allocate(byteCount: messageSize, alignment: 8)
    incoming = .allocate(byteCount: messageSize, alignment: 8)
    outgoing.initializeMemory(as: UInt8.self, repeating: 0x5A)
    incoming.initializeMemory(as: UInt8.self, repeating: 0)
  }

  deinit {
    outgoing.deallocate()
    incoming.deallocate()
  }

  func close() { Glibc.close(fd) }

  /// `count` round trips; the failure, if one happened.
  func roundTrips(_ count: Int) -> BenchmarkFailure? {
    for _ in 0..<count {
      round &+= 1
      outgoing.storeBytes(of: round, as: UInt64.self)
      var sent = 0
      while sent < messageSize {
        let n = send(fd, outgoing.baseAddress! + sent, messageSize - sent, Int32(MSG_NOSIGNAL))
        guard n > 0 else { return BenchmarkFailure("send: errno \(errno)") }
        sent += n
      }
      var received = 0
      while received < messageSize {
        let n = recv(fd, incoming.baseAddress! + received, messageSize - received, 0)
        guard n > 0 else {
          return BenchmarkFailure(n == 0 ? "echo closed" : "recv: errno \(errno)")
        }
        received += n
      }
      guard memcmp(outgoing.baseAddress!, incoming.baseAddress!, messageSize) == 0 else {
        return BenchmarkFailure("echo \(round) differs from what was sent")
      }
    }
    return nil
  }
}
