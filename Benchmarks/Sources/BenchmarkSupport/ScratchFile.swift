import Glibc

/// A file of `size` bytes of a known pattern under `$TMPDIR` (or `/tmp`),
/// read once so that it is in the page cache; removed by ``remove()``.
public final class ScratchFile: Sendable {
  public let path: String
  public let size: Int

  public init(megabytes: Int) throws(BenchmarkFailure) {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(directory)/uring-benchmarks-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw BenchmarkFailure("mkstemp in \(directory): errno \(errno)") }
    path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    size = megabytes << 20
    defer { close(fd) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    for index in chunk.indices { chunk[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
    for _ in 0..<megabytes {
      let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      guard written == chunk.count else {
        unlink(path)
        throw BenchmarkFailure("writing \(path): errno \(errno)")
      }
    }
    warm()
  }

  /// Reads the whole file, so that the page cache holds it (it can be dropped
  /// from outside at any time on these machines).
  public func warm() {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while chunk.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
  }

  public func remove() { unlink(path) }
}

/// Offsets of `blockSize`-aligned blocks spread over a file, without
/// allocating (xorshift64).
public struct RandomBlocks: Sendable {
  private var state: UInt64
  private let blocks: UInt64
  private let blockSize: Int

  public init(fileSize: Int, blockSize: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
    state = seed
    blocks = UInt64(fileSize / blockSize)
    self.blockSize = blockSize
  }

  public mutating func next() -> Int {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Int(state % blocks) * blockSize
  }
}
