import Glibc
import Testing

@testable import UringReactor

/// Raises this process's soft descriptor limit to its hard limit (tests with
/// thousands of sockets), and returns the soft limit now in force.
@discardableResult
func raiseDescriptorLimit() -> Int {
  var limit = rlimit()
  guard getrlimit(CInt(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
  if limit.rlim_cur < limit.rlim_max {
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(CInt(RLIMIT_NOFILE.rawValue), &limit)
    _ = getrlimit(CInt(RLIMIT_NOFILE.rawValue), &limit)
  }
  return Int(clamping: limit.rlim_cur)
}

/// Deterministic pseudo-random bytes (SplitMix64), so a failure reproduces.
struct SeededRandom: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var value = state
    value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
    value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
    return value ^ (value >> 31)
  }

  mutating func bytes(_ count: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
      let word = next()
      for shift in stride(from: 0, to: 64, by: 8) where bytes.count < count {
        bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
      }
    }
    return bytes
  }
}

extension SocketStream {
  /// Everything received until end of stream (the receive path under test).
  func receiveAll(limit: Int = 1 << 26) async throws -> [UInt8] {
    var bytes: [UInt8] = []
    while let chunk = try await receive() {
      chunk.withUnsafeBytes { bytes.append(contentsOf: $0) }
      if bytes.count > limit { break }
    }
    return bytes
  }

  /// Exactly `count` bytes (fewer only at end of stream).
  func receive(exactly count: Int) async throws -> [UInt8] {
    var bytes: [UInt8] = []
    while bytes.count < count, let chunk = try await receive() {
      chunk.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    return bytes
  }
}

/// A plain blocking socket, driven by system calls on the calling thread: a
/// client the reactor did not write.
struct RawSocket: ~Copyable {
  let fd: CInt

  /// Connects a blocking TCP socket to `address`.
  init(connectingTo address: SocketAddress) throws {
    fd = socket(address.family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw RawSocketError(call: "socket", errno: errno) }
    let box = SocketAddressBox(address)
    guard Glibc.connect(fd, box.pointer, box.length.pointee) == 0 else {
      let code = errno
      Glibc.close(fd)
      throw RawSocketError(call: "connect", errno: code)
    }
  }

  deinit { Glibc.close(fd) }

  func send(_ bytes: [UInt8]) throws {
    var sent = 0
    while sent < bytes.count {
      let count = bytes.withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, CInt(MSG_NOSIGNAL))
      }
      guard count > 0 else { throw RawSocketError(call: "send", errno: errno) }
      sent += count
    }
  }

  /// Reads until `count` bytes or end of stream.
  func receive(_ count: Int) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while bytes.count < count {
      let received = chunk.withUnsafeMutableBytes {
        recv(fd, $0.baseAddress, min($0.count, count - bytes.count), 0)
      }
      if received == 0 { break }
      guard received > 0 else { throw RawSocketError(call: "recv", errno: errno) }
      bytes += chunk[..<received]
    }
    return bytes
  }

  /// Makes the close reset the connection (`SO_LINGER` 0: an `RST`, no `FIN`).
  func resetOnClose() {
    var value = linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
  }
}

struct RawSocketError: Error, CustomStringConvertible {
  var call: String
  var errno: CInt
  var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Runs `body` on a new thread (not the cooperative pool: blocking calls
/// there could starve the tasks they wait for) and returns its result.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    let box = Unmanaged.passRetained(
      ThreadBody { continuation.resume(with: Result { try body() }) })
    var thread = pthread_t()
    let result = pthread_create(
      &thread, nil,
      { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
      }, box.toOpaque())
    if result == 0 {
      pthread_detach(thread)
    } else {
      box.release()
      continuation.resume(throwing: RawSocketError(call: "pthread_create", errno: result))
    }
  }
}

private final class ThreadBody: Sendable {
  let body: @Sendable () -> Void
  init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
