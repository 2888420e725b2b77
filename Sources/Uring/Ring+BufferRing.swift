import CLibUring
import Glibc
public import SystemPackage

/// The kernel (or the memory system) refused a provided-buffer ring
/// (`IORING_REGISTER_PBUF_RING` / `IORING_UNREGISTER_PBUF_RING`, or the
/// `mmap` of its entries).
public struct BufferRingError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Why it was refused.
  public enum Cause: Hashable, Sendable {
    /// `entries` must be a power of two in `1...32768`.
    case invalidEntryCount(UInt32)
    /// `EEXIST`: the ring already has a buffer group with this id.
    case groupInUse
    /// `ENOENT` or `EINVAL` on unregistration: no ring-mapped group has this id.
    case unknownGroup
    /// `ENOMEM`: the ring's pages could not be pinned (`RLIMIT_MEMLOCK`), or
    /// `mmap` failed.
    case noMemory
    /// Any other refusal (`EINVAL`: a kernel without buffer rings, before 5.19).
    case other
  }

  /// Why it was refused.
  public var cause: Cause
  /// The errno behind it.
  public var errno: Errno

  /// An error with `cause`, from `errno`.
  public init(cause: Cause, errno: Errno) {
    self.cause = cause
    self.errno = errno
  }

  init(result: Int32, unregistering: Bool) {
    let errno = Errno(rawValue: -result)
    let cause: Cause =
      switch errno {
      case .fileExists: .groupInUse
      case .noSuchFileOrDirectory: .unknownGroup
      case .invalidArgument where unregistering: .unknownGroup
      case .noMemory: .noMemory
      default: .other
      }
    self.init(cause: cause, errno: errno)
  }

  /// The refusal in one sentence, with the errno.
  public var description: String {
    let what: String =
      switch cause {
      case .invalidEntryCount(let count):
        "\(count) entries: a buffer ring needs a power of two in 1...\(ProvidedBufferRing.maximumEntries)"
      case .groupInUse: "the ring already has a buffer group with this id"
      case .unknownGroup: "the ring has no buffer ring with this group id"
      case .noMemory: "no memory for the buffer ring (mmap, or RLIMIT_MEMLOCK when pinning)"
      case .other: "refused"
      }
    return "io_uring provided-buffer ring: \(what) (\(errno))"
  }
}

/// The memory of one provided-buffer ring (`struct io_uring_buf_ring`): the
/// array of buffer descriptors the kernel picks from when a receive submitted
/// with `IOSQE_BUFFER_SELECT` names its group, and the tail index through
/// which user space hands buffers (back) to the kernel.
///
/// liburing 2.3 has `io_uring_register_buf_ring` but not the 2.4 helper that
/// allocates the ring (`io_uring_setup_buf_ring`): this type maps the entries
/// page-aligned itself, and wraps the static-inline `io_uring_buf_ring_add` /
/// `io_uring_buf_ring_advance`.
///
/// - Ownership: move-only; it owns the mapping and unmaps it on `deinit`. The
///   buffers it describes belong to whoever adds them. Registration
///   (``Ring/registerBufferRing(_:)``) lets the kernel read the entries and
///   write into the buffers they name: keep this value, and the buffers, until
///   ``Ring/unregisterBufferRing(group:)`` returned or the ring is torn down.
///   (The kernel pins the entries' pages while registered, so an early unmap
///   cannot make the kernel touch freed memory, but the buffers themselves
///   are not pinned.)
/// - Thread-safety: not `Sendable`; use it from the ring's owner thread only.
@safe
public struct ProvidedBufferRing: ~Copyable {
  // @safe: it owns its mapping (unmapped in deinit, move-only); adding buffers is the @unsafe part
  // of its API.
  /// The largest ring the kernel accepts.
  public static let maximumEntries: UInt32 = 1 << 15

  /// The buffer group id receives name (`sqe->buf_group`).
  public let group: UInt16
  /// How many buffers the ring can hold (a power of two).
  public let entries: UInt32
  // SAFETY: a private anonymous mapping of `mappedLength` bytes, page-aligned
  // as the kernel requires, zero-filled by mmap (tail 0); unmapped in `deinit`.
  let raw: UnsafeMutablePointer<io_uring_buf_ring>
  private let mappedLength: Int
  /// Buffers added since the last ``advance()``, not yet visible to the kernel.
  public private(set) var pending: UInt32 = 0

  /// Maps a ring of `entries` descriptors for buffer group `group`.
  ///
  /// - Throws: ``BufferRingError/Cause/invalidEntryCount(_:)`` unless
  ///   `entries` is a power of two up to ``maximumEntries``;
  ///   ``BufferRingError/Cause/noMemory`` if `mmap` fails.
  public init(entries: UInt32, group: UInt16) throws(BufferRingError) {
    guard entries > 0, entries <= Self.maximumEntries, entries & (entries - 1) == 0 else {
      throw BufferRingError(cause: .invalidEntryCount(entries), errno: .invalidArgument)
    }
    let length = Int(entries) * MemoryLayout<io_uring_buf>.stride
    guard
      let address = unsafe mmap(
        nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      unsafe address != MAP_FAILED
    else {
      throw BufferRingError(cause: .noMemory, errno: Errno(rawValue: Glibc.errno))
    }
    unsafe self.raw = unsafe address.bindMemory(to: io_uring_buf_ring.self, capacity: 1)
    self.mappedLength = length
    self.entries = entries
    self.group = group
    unsafe io_uring_buf_ring_init(raw)
  }

  deinit {
    unsafe munmap(UnsafeMutableRawPointer(raw), mappedLength)
  }

  /// Writes a descriptor for `buffer` (id `id`) into the next free entry. The
  /// kernel sees it only after ``advance()``.
  ///
  /// The caller guarantees that at most ``entries`` buffers are in the ring
  /// at once (each id appears once), that `buffer` stays valid while it is
  /// in the ring or in a completion not yet handled, and that nobody else
  /// touches it meanwhile: the kernel writes received bytes into it.
  @unsafe
  public mutating func add(_ buffer: UnsafeMutableRawBufferPointer, id: UInt16) {
    precondition(pending < entries, "more buffers added than the ring holds")
    // SAFETY: `raw` maps `entries` descriptors; the helper masks the index.
    unsafe io_uring_buf_ring_add(
      raw, buffer.baseAddress, UInt32(buffer.count), id,
      io_uring_buf_ring_mask(entries), Int32(pending))
    pending += 1
  }

  /// Publishes every buffer added since the last call (a store-release of
  /// the tail, as `io_uring_buf_ring_advance`): the kernel may pick them from
  /// now on.
  public mutating func advance() {
    guard pending > 0 else { return }
    unsafe io_uring_buf_ring_advance(raw, Int32(pending))
    pending = 0
  }
}

extension Ring {
  /// Registers `bufferRing` as provided-buffer group `bufferRing.group`
  /// (`io_uring_register_buf_ring`, `IORING_REGISTER_PBUF_RING`, Linux 5.19+).
  /// From then on a receive submitted with `IOSQE_BUFFER_SELECT` and that
  /// group takes the next buffer from the ring and names its id in the CQE
  /// (`IORING_CQE_F_BUFFER`).
  ///
  /// Thread-safety: call from the thread that owns the ring (the submitter
  /// with `IORING_SETUP_SINGLE_ISSUER`).
  ///
  /// - Throws: ``BufferRingError``; ``BufferRingError/Cause/groupInUse`` when
  ///   the group id is taken.
  public mutating func registerBufferRing(_ bufferRing: borrowing ProvidedBufferRing)
    throws(BufferRingError)
  {
    var registration = io_uring_buf_reg()
    registration.ring_addr = unsafe UInt64(UInt(bitPattern: bufferRing.raw))
    registration.ring_entries = bufferRing.entries
    registration.bgid = bufferRing.group
    let result = unsafe io_uring_register_buf_ring(raw, &registration, 0)
    if result < 0 { throw BufferRingError(result: result, unregistering: false) }
  }

  /// Unregisters provided-buffer group `group` (`io_uring_unregister_buf_ring`,
  /// `IORING_UNREGISTER_PBUF_RING`). Receives submitted afterwards with that
  /// group fail with `ENOBUFS`; the ring's memory and buffers are the
  /// owner's again once no receive that picked one of them is in flight.
  ///
  /// - Throws: ``BufferRingError``; ``BufferRingError/Cause/unknownGroup``.
  public mutating func unregisterBufferRing(group: UInt16) throws(BufferRingError) {
    let result = unsafe io_uring_unregister_buf_ring(raw, Int32(group))
    if result < 0 { throw BufferRingError(result: result, unregistering: true) }
  }
}
