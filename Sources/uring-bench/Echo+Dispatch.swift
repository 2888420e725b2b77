import Dispatch
import Glibc

extension Echo {
  /// Dispatch: non-blocking sockets, one `DispatchSourceRead` per socket, all
  /// handlers on one serial queue. Same-system: server and client sockets of
  /// connected pairs; C client: a listening socket whose read source accepts.
  @concurrent
  func runOnDispatch(perConnection: Int) async -> Result<Sample, BenchError> {
    let queue = DispatchQueue(label: "uring-bench.echo")
    if cClient {
      let listener: CInt
      do { listener = try EchoSockets.listen() } catch { return .failure(error) }
      let server = DispatchEchoServer(listener: listener, queue: queue)
      queue.sync { server.start() }
      let sample = await Echo.cClient(
        port: EchoSockets.port(of: listener), connections: connections,
        messages: perConnection * connections)
      queue.sync { server.stop() }
      return sample
    }
    let pairs: [(client: CInt, server: CInt)]
    do { pairs = try EchoSockets.connectedPairs(connections) } catch { return .failure(error) }
    for pair in pairs {
      for fd in [pair.client, pair.server] { EchoSockets.makeNonBlocking(fd) }
    }
    let clock = ContinuousClock()
    let start = clock.now
    let echoed = unsafe await withUnsafeContinuation {
      (continuation: UnsafeContinuation<Int, Never>) in
      queue.async {
        DispatchEchoPairs(pairs: pairs, messages: perConnection, queue: queue) {
          unsafe continuation.resume(returning: $0)
        }.start()
      }
    }
    return .success(Sample(operations: echoed, elapsed: start.duration(to: clock.now)))
  }
}

/// Plain socket calls shared by the Dispatch and blocking echoes.
enum EchoSockets {
  static let message = [UInt8](repeating: UInt8(ascii: "x"), count: 64)

  /// A loopback TCP listener on a free port.
  static func listen() throws(BenchError) -> CInt {
    let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let listening = unsafe withUnsafePointer(to: &address) { pointer in
      unsafe pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        unsafe bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
          && Glibc.listen(fd, 1024) == 0
      }
    }
    guard fd >= 0, listening else {
      throw BenchError(unsafe "listen: \(String(cString: strerror(errno)))")
    }
    return fd
  }

  static func port(of fd: CInt) -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = unsafe withUnsafeMutablePointer(to: &address) { pointer in
      unsafe pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        unsafe getsockname(fd, $0, &length)
      }
    }
    return UInt16(bigEndian: address.sin_port)
  }

  /// `count` connected loopback TCP pairs (client, server), with TCP_NODELAY.
  static func connectedPairs(_ count: Int) throws(BenchError) -> [(client: CInt, server: CInt)] {
    let listener = try listen()
    defer { Glibc.close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    address.sin_port = port(of: listener).bigEndian
    var pairs: [(client: CInt, server: CInt)] = []
    for _ in 0..<count {
      let client = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
      let connected = unsafe withUnsafePointer(to: &address) { pointer in
        unsafe pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          unsafe connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      let server = accept(listener, nil, nil)
      guard client >= 0, connected == 0, server >= 0 else {
        throw BenchError(unsafe "connect/accept: \(String(cString: strerror(errno)))")
      }
      noDelay(client)
      noDelay(server)
      pairs.append((client, server))
    }
    return pairs
  }

  static func noDelay(_ fd: CInt) {
    var one: CInt = 1
    unsafe setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
  }

  static func makeNonBlocking(_ fd: CInt) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
  }

  static func close(_ pair: (client: CInt, server: CInt)) {
    Glibc.close(pair.client)
    Glibc.close(pair.server)
  }

  /// Reads what is there and writes it back, until `EAGAIN` (or end).
  /// Returns `false` at end of stream or on an error.
  static func echoAvailable(_ fd: CInt, _ buffer: inout [UInt8]) -> Bool {
    while true {
      let count = unsafe buffer.withUnsafeMutableBytes {
        unsafe recv(fd, $0.baseAddress, $0.count, 0)
      }
      if count == 0 { return false }
      if count < 0 { return errno == EAGAIN || errno == EINTR }
      guard sendAll(fd, buffer, count) else { return false }
    }
  }

  /// Sends `count` bytes of `bytes`, retrying short sends (and `EAGAIN`).
  static func sendAll(_ fd: CInt, _ bytes: [UInt8], _ count: Int) -> Bool {
    var sent = 0
    while sent < count {
      let written = unsafe bytes.withUnsafeBytes {
        unsafe send(fd, $0.baseAddress! + sent, count - sent, CInt(MSG_NOSIGNAL))
      }
      if written < 0, errno == EAGAIN || errno == EINTR { continue }
      guard written > 0 else { return false }
      sent += written
    }
    return true
  }

  /// A blocking echo of `bytes` bytes.
  static func blockingEcho(_ fd: CInt, bytes: Int) -> Int {
    var buffer = [UInt8](repeating: 0, count: 4096)
    var echoed = 0
    while echoed < bytes {
      let count = unsafe buffer.withUnsafeMutableBytes {
        unsafe recv(fd, $0.baseAddress, $0.count, 0)
      }
      guard count > 0, sendAll(fd, buffer, count) else { break }
      echoed += count
    }
    return echoed
  }

  /// A blocking client: `messages` round trips of 64 bytes.
  static func blockingClient(_ fd: CInt, messages: Int) -> Int {
    var buffer = [UInt8](repeating: 0, count: 4096)
    for done in 0..<messages {
      guard sendAll(fd, message, 64) else { return done }
      var received = 0
      while received < 64 {
        let count = unsafe buffer.withUnsafeMutableBytes {
          unsafe recv(fd, $0.baseAddress, $0.count, 0)
        }
        guard count > 0 else { return done }
        received += count
      }
    }
    return messages
  }
}

/// Dispatch echo server: the listener's read source accepts; each
/// connection's read source echoes. State is touched on `queue` only.
private final class DispatchEchoServer: @unchecked Sendable {
  private let listener: CInt
  private let queue: DispatchQueue
  private var accepting: (any DispatchSourceRead)?
  private var connections: [CInt: any DispatchSourceRead] = [:]
  private var buffer = [UInt8](repeating: 0, count: 4096)

  init(listener: CInt, queue: DispatchQueue) {
    self.listener = listener
    self.queue = queue
    EchoSockets.makeNonBlocking(listener)
  }

  func start() {
    let source = DispatchSource.makeReadSource(fileDescriptor: listener, queue: queue)
    let listener = self.listener
    source.setEventHandler { self.acceptAll() }
    source.setCancelHandler { Glibc.close(listener) }
    accepting = source
    source.resume()
  }

  private func acceptAll() {
    while true {
      let fd = accept(listener, nil, nil)
      guard fd >= 0 else { return }
      EchoSockets.makeNonBlocking(fd)
      EchoSockets.noDelay(fd)
      let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
      source.setEventHandler {
        if !EchoSockets.echoAvailable(fd, &self.buffer) {
          self.connections.removeValue(forKey: fd)?.cancel()
        }
      }
      source.setCancelHandler { Glibc.close(fd) }
      connections[fd] = source
      source.resume()
    }
  }

  /// Cancels every source; each cancel handler closes its socket.
  func stop() {
    accepting?.cancel()
    accepting = nil
    for source in connections.values { source.cancel() }
    connections.removeAll()
  }
}

/// Dispatch echo over connected pairs: server and client sockets each have a
/// read source on one serial queue. State is touched on `queue` only.
private final class DispatchEchoPairs: @unchecked Sendable {
  private let pairs: [(client: CInt, server: CInt)]
  private let messages: Int
  private let queue: DispatchQueue
  private let done: (Int) -> Void
  private var sources: [any DispatchSourceRead] = []
  private var received: [Int]
  private var completed: [Int]
  private var finished = 0
  private var buffer = [UInt8](repeating: 0, count: 4096)

  init(
    pairs: [(client: CInt, server: CInt)], messages: Int, queue: DispatchQueue,
    done: @escaping (Int) -> Void
  ) {
    self.pairs = pairs
    self.messages = messages
    self.queue = queue
    self.done = done
    received = Array(repeating: 0, count: pairs.count)
    completed = Array(repeating: 0, count: pairs.count)
  }

  func start() {
    for (index, pair) in pairs.enumerated() {
      let server = DispatchSource.makeReadSource(fileDescriptor: pair.server, queue: queue)
      server.setEventHandler { _ = EchoSockets.echoAvailable(pair.server, &self.buffer) }
      server.setCancelHandler { Glibc.close(pair.server) }
      let client = DispatchSource.makeReadSource(fileDescriptor: pair.client, queue: queue)
      client.setEventHandler { self.clientReadable(index) }
      client.setCancelHandler { Glibc.close(pair.client) }
      sources += [server, client]
      server.resume()
      client.resume()
      _ = EchoSockets.sendAll(pair.client, EchoSockets.message, 64)
    }
  }

  private func clientReadable(_ index: Int) {
    let fd = pairs[index].client
    while true {
      let count = unsafe buffer.withUnsafeMutableBytes {
        unsafe recv(fd, $0.baseAddress, $0.count, 0)
      }
      guard count > 0 else { return }
      received[index] += count
      while received[index] >= 64 {
        received[index] -= 64
        completed[index] += 1
        if completed[index] == messages {
          finish()
        } else {
          _ = EchoSockets.sendAll(fd, EchoSockets.message, 64)
        }
      }
    }
  }

  private func finish() {
    finished += 1
    guard finished == pairs.count else { return }
    // Each cancel handler closes its socket, once Dispatch no longer watches it.
    for source in sources { source.cancel() }
    done(completed.reduce(0, +))
  }
}
