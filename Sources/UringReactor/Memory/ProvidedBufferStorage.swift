import Glibc
public import SystemPackage
public import Uring

/// Why a provided-buffer pool could not be set up.
public struct ProvidedBufferError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong.
  public enum Kind: Sendable, Hashable {
    /// `count` must be in `1...32768` and `bufferSize` in `1...(1 << 30)`.
    case invalidLayout(count: Int, bufferSize: Int)
    /// The reactor has shut down (its ring is gone).
    case reactorShutDown
    /// The buffers could not be mapped (`mmap` failed with this errno).
    case allocationFailed(Errno)
    /// The kernel refused the buffer ring.
    case kernel(BufferRingError)
  }

  /// What went wrong.
  public var kind: Kind

  /// An error of `kind`.
  public init(_ kind: Kind) { self.kind = kind }

  /// What went wrong, in one sentence.
  public var description: String {
    switch kind {
    case .invalidLayout(let count, let size):
      "invalid provided-buffer layout: \(count) buffers of \(size) bytes "
        + "(1...\(ProvidedBufferRing.maximumEntries) buffers of 1...\(1 << 30) bytes)"
    case .reactorShutDown: "the reactor shut down"
    case .allocationFailed(let errno): "could not map provided-buffer memory: \(errno)"
    case .kernel(let error): "\(error)"
    }
  }

  /// The error as an ``IOError`` of a receive that needed the pool.
  var ioError: IOError {
    let kind: IOError.Kind =
      switch self.kind {
      case .invalidLayout: .system(.invalidArgument)
      case .reactorShutDown: .reactorShutDown
      case .allocationFailed(let errno): .system(errno)
      case .kernel(let error): .system(error.errno)
      }
    return IOError(kind, operation: .recv)
  }
}

/// The memory of a ``ProvidedBufferPool``: `count` buffers of `size` bytes in
/// one anonymous mapping, and the buffer ring that hands them to the kernel.
///
/// Thread-safety: the ring is touched on the loop thread only (rule 5: its
/// tail is part of the ring's protocol with the kernel). The bytes of a
/// buffer are written by the kernel while the buffer is in the ring, and read
/// by the one ``ReceivedBytes`` that holds it afterwards; never both.
@safe
final class ProvidedBufferStorage: @unchecked Sendable {
  // @safe: it owns its buffers (freed in deinit, after the buffer ring is unregistered).
  let count: Int
  let size: Int
  // SAFETY: a private anonymous mapping of `length` bytes, unmapped in
  // `deinit`, which runs after the pool (and every slot and every
  // ReceivedBytes that retains it) is gone and the group unregistered.
  private let base: UnsafeMutableRawPointer
  private let length: Int
  @exclusivity(unchecked) var ring: ProvidedBufferRing

  init(count: Int, size: Int, group: UInt16) throws(ProvidedBufferError) {
    guard (1...Int(ProvidedBufferRing.maximumEntries)).contains(count),
      (1...(1 << 30)).contains(size)
    else {
      throw ProvidedBufferError(.invalidLayout(count: count, bufferSize: size))
    }
    let (length, overflow) = count.multipliedReportingOverflow(by: size)
    guard !overflow,
      let address = unsafe mmap(
        nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      unsafe address != MAP_FAILED
    else {
      throw ProvidedBufferError(.allocationFailed(Errno(rawValue: errno)))
    }
    var entries: UInt32 = 1
    while Int(entries) < count { entries <<= 1 }
    do throws(BufferRingError) {
      unsafe ring = try ProvidedBufferRing(entries: entries, group: group)
    } catch {
      unsafe munmap(address, length)
      throw ProvidedBufferError(.kernel(error))
    }
    unsafe self.base = unsafe address
    self.length = length
    self.count = count
    self.size = size
    for id in 0..<count { unsafe ring.add(buffer(UInt16(id)), id: UInt16(id)) }
    unsafe ring.advance()
  }

  deinit {
    unsafe munmap(base, length)
  }

  /// The memory of buffer `id`.
  @inline(__always)
  func buffer(_ id: UInt16) -> UnsafeMutableRawBufferPointer {
    unsafe UnsafeMutableRawBufferPointer(start: base + Int(id) * size, count: size)
  }

  /// Gives buffer `id` back to the kernel. Loop thread only.
  @inline(__always)
  func recycle(_ id: UInt16) {
    unsafe ring.add(buffer(id), id: id)
  }

  /// Publishes recycled buffers (a store-release of the ring's tail).
  @inline(__always)
  func publish() {
    unsafe ring.advance()
  }
}
