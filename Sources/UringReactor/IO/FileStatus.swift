import Glibc
public import SystemPackage

/// What kind of file a path or descriptor names.
public enum FileType: Sendable, Hashable, CustomStringConvertible {
  case regular
  case directory
  case symbolicLink
  case characterDevice
  case blockDevice
  case fifo
  case socket
  /// A type the kernel reported that none of the above covers (or a
  /// directory entry whose type the file system does not record).
  case unknown

  /// The type in the `S_IFMT` bits of a `st_mode`/`stx_mode`.
  init(mode: UInt32) {
    switch mode & UInt32(S_IFMT) {
    case UInt32(S_IFREG): self = .regular
    case UInt32(S_IFDIR): self = .directory
    case UInt32(S_IFLNK): self = .symbolicLink
    case UInt32(S_IFCHR): self = .characterDevice
    case UInt32(S_IFBLK): self = .blockDevice
    case UInt32(S_IFIFO): self = .fifo
    case UInt32(S_IFSOCK): self = .socket
    default: self = .unknown
    }
  }

  /// The type in a `d_type` of a directory entry (`DT_*`).
  init(directoryEntryType type: UInt8) {
    switch Int(type) {
    case Int(DT_REG): self = .regular
    case Int(DT_DIR): self = .directory
    case Int(DT_LNK): self = .symbolicLink
    case Int(DT_CHR): self = .characterDevice
    case Int(DT_BLK): self = .blockDevice
    case Int(DT_FIFO): self = .fifo
    case Int(DT_SOCK): self = .socket
    default: self = .unknown
    }
  }

  public var description: String {
    switch self {
    case .regular: "regular file"
    case .directory: "directory"
    case .symbolicLink: "symbolic link"
    case .characterDevice: "character device"
    case .blockDevice: "block device"
    case .fifo: "fifo"
    case .socket: "socket"
    case .unknown: "unknown"
    }
  }
}

/// A point in time as the kernel stores it for files: seconds and
/// nanoseconds since the Unix epoch (`statx_timestamp`).
public struct FileTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var seconds: Int64
  public var nanoseconds: UInt32

  public init(seconds: Int64, nanoseconds: UInt32) {
    self.seconds = seconds
    self.nanoseconds = nanoseconds
  }

  /// The time since the epoch.
  public var sinceEpoch: Duration { .seconds(seconds) + .nanoseconds(Int64(nanoseconds)) }

  public static func < (lhs: FileTimestamp, rhs: FileTimestamp) -> Bool {
    (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
  }

  public var description: String {
    let fraction = String(nanoseconds)
    return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
  }
}

/// What `statx(2)` reports about a file, as Swift values: the result of
/// ``File/status()`` and ``FileSystem/status(of:relativeTo:followSymbolicLinks:)``
/// (`IORING_OP_STATX`).
///
/// Fields the file system could not provide are left at 0 (`nil` for the
/// birth time and the `O_DIRECT` alignments, which many file systems lack).
public struct FileStatus: Sendable, Hashable {
  public var type: FileType
  /// The permission bits (and set-id/sticky bits): `mode & 0o7777`.
  public var permissions: FilePermissions
  /// The size in bytes.
  public var size: UInt64
  /// 512-byte blocks allocated (less than `size` for a sparse file).
  public var allocatedBlocks: UInt64
  /// The preferred I/O size.
  public var blockSize: UInt32
  public var linkCount: UInt32
  public var userID: UInt32
  public var groupID: UInt32
  public var inode: UInt64
  /// The device holding the file (major, minor).
  public var device: DeviceNumber
  /// For a device file, the device it stands for.
  public var representedDevice: DeviceNumber
  public var accessed: FileTimestamp
  public var modified: FileTimestamp
  /// When the inode (metadata) last changed.
  public var changed: FileTimestamp
  /// When the file was created, where the file system records it.
  public var created: FileTimestamp?
  /// The memory alignment `O_DIRECT` I/O on this file needs, when known
  /// (`STATX_DIOALIGN`; `nil` when the file system does not say, 0 when
  /// direct I/O is not supported).
  public var directIOMemoryAlignment: UInt32?
  /// The file offset (and length) alignment `O_DIRECT` I/O needs, when known.
  public var directIOOffsetAlignment: UInt32?
}

/// A device number: `major` names the driver, `minor` the device.
public struct DeviceNumber: Sendable, Hashable {
  public var major: UInt32
  public var minor: UInt32

  public init(major: UInt32, minor: UInt32) {
    self.major = major
    self.minor = minor
  }
}

/// The buffer a `statx` operation writes: 256 bytes (the kernel's
/// `struct statx`, whose layout is fixed ABI; SwiftGlibc does not import the
/// type, so fields are read at their documented offsets). Retained by the
/// in-flight slot until the final CQE, with the path the kernel reads.
@safe
final class StatxRequest: @unchecked Sendable {
  // @safe: it owns its path copy and statx buffer (freed in deinit); operations retain the request.
  /// `STATX_BASIC_STATS | STATX_BTIME | STATX_DIOALIGN`.
  static let mask: UInt32 = 0x7FF | 0x800 | 0x2000
  static let size = 256
  // SAFETY: allocated and zeroed in `init`, freed in `deinit`, which runs
  // only after the in-flight slot retaining this request was released (the
  // final CQE): the kernel writes it only before that CQE, and it is read
  // only after it.
  let buffer: UnsafeMutableRawPointer
  /// The path the kernel reads (`""` with `AT_EMPTY_PATH` for a descriptor).
  let path: CStringBox

  init(path: FilePath) {
    unsafe buffer = .allocate(byteCount: Self.size, alignment: 16)
    unsafe buffer.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
    self.path = CStringBox(path)
  }

  deinit {
    unsafe buffer.deallocate()
  }

  private func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
    unsafe buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
  }

  private func timestamp(_ offset: Int) -> FileTimestamp {
    FileTimestamp(
      seconds: load(offset, as: Int64.self), nanoseconds: load(offset + 8, as: UInt32.self))
  }

  /// Decodes the buffer after a successful CQE.
  func status() -> FileStatus {
    let returned = load(0, as: UInt32.self)
    let mode = UInt32(load(28, as: UInt16.self))
    let hasDirectIO = returned & 0x2000 != 0
    return FileStatus(
      type: FileType(mode: mode),
      permissions: FilePermissions(rawValue: CModeT(mode & 0o7777)),
      size: load(40, as: UInt64.self),
      allocatedBlocks: load(48, as: UInt64.self),
      blockSize: load(4, as: UInt32.self),
      linkCount: load(16, as: UInt32.self),
      userID: load(20, as: UInt32.self),
      groupID: load(24, as: UInt32.self),
      inode: load(32, as: UInt64.self),
      device: DeviceNumber(major: load(136, as: UInt32.self), minor: load(140, as: UInt32.self)),
      representedDevice: DeviceNumber(
        major: load(128, as: UInt32.self), minor: load(132, as: UInt32.self)),
      accessed: timestamp(64),
      modified: timestamp(112),
      changed: timestamp(96),
      created: returned & 0x800 != 0 ? timestamp(80) : nil,
      directIOMemoryAlignment: hasDirectIO ? load(152, as: UInt32.self) : nil,
      directIOOffsetAlignment: hasDirectIO ? load(156, as: UInt32.self) : nil)
  }
}
