import CLibUring
import Glibc
public import SystemPackage
import Uring

/// How `openat2(2)` may resolve a path (`RESOLVE_*`), for
/// ``File/open(_:_:options:permissions:resolving:relativeTo:on:)``.
public struct ResolveOptions: OptionSet, Sendable, Hashable {
  public let rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// `RESOLVE_NO_XDEV`: never cross a mount point.
  public static let noCrossingMounts = ResolveOptions(rawValue: 0x01)
  /// `RESOLVE_NO_MAGICLINKS`: refuse `/proc/self/fd/N`-style links.
  public static let noMagicLinks = ResolveOptions(rawValue: 0x02)
  /// `RESOLVE_NO_SYMLINKS`: refuse every symbolic link on the way.
  public static let noSymbolicLinks = ResolveOptions(rawValue: 0x04)
  /// `RESOLVE_BENEATH`: refuse anything that leaves the starting directory
  /// (`..` above it, absolute paths, links pointing out): `EXDEV`.
  public static let beneath = ResolveOptions(rawValue: 0x08)
  /// `RESOLVE_IN_ROOT`: resolve as if the starting directory were `/`.
  public static let inRoot = ResolveOptions(rawValue: 0x10)
  /// `RESOLVE_CACHED`: only from the dentry cache, else `EAGAIN`.
  public static let cachedOnly = ResolveOptions(rawValue: 0x20)
}

extension FileDescriptor.OpenOptions {
  /// `O_DIRECT`: bypass the page cache. Transfers must be aligned (see
  /// ``File/directIO``); not every file system supports it (`EINVAL`).
  public static var directIO: Self { Self(rawValue: File.directFlag) }
  /// `O_NOATIME`: do not update the access time (owner or privileged only).
  public static var noAccessTime: Self { Self(rawValue: 0o1000000) }
}

/// What an `IORING_OP_OPENAT2` lends the kernel: the path and the `open_how`,
/// retained by the in-flight slot until the final CQE.
@safe
final class OpenHowRequest: @unchecked Sendable {
  // @safe: it owns the path and the open_how it points to (freed in deinit); operations retain the
  // request.
  let path: CStringBox
  // SAFETY: allocated and initialised in `init`, freed in `deinit` (after the
  // in-flight slot released this request); written only in `init`.
  let how: UnsafeMutablePointer<open_how>

  init(path: FilePath, flags: CInt, mode: UInt32, resolve: UInt64) {
    self.path = CStringBox(path)
    unsafe how = .allocate(capacity: 1)
    var value = open_how()
    value.flags = UInt64(UInt32(bitPattern: flags))
    value.mode = UInt64(mode)
    value.resolve = resolve
    unsafe how.initialize(to: value)
  }

  deinit {
    unsafe how.deinitialize(count: 1)
    unsafe how.deallocate()
  }
}

extension File {
  /// Opens `path` with `IORING_OP_OPENAT2`, restricting how the path may be
  /// resolved: e.g. `.beneath` keeps a path from a client inside
  /// `directory`. `O_CLOEXEC` is always added.
  ///
  /// Ownership: the path, the `open_how` and `directory` (its descriptor) are
  /// retained by the in-flight slot until the final CQE.
  ///
  /// Thread-safety: call from any task. Cancellation: if the task is
  /// cancelled and the open completes anyway, the new descriptor is closed by
  /// the reactor (never leaked) and the call throws ``IOError/Kind/cancelled``.
  ///
  /// - Throws: `EINVAL` for text holding a NUL byte, refused before anything
  ///   is submitted (see ``FilePathConvertible``);
  ///   `EXDEV` when the path leaves `directory` under `.beneath`,
  ///   `ELOOP` for a refused symbolic link, `EAGAIN` with `.cachedOnly`, and
  ///   the errors of `open(2)`; `operation` is `.openat2`.
  nonisolated(nonsending) public static func open(
    _ path: some FilePathConvertible,
    _ mode: FileDescriptor.AccessMode,
    options: FileDescriptor.OpenOptions = [],
    permissions: FilePermissions? = nil,
    resolving resolve: ResolveOptions,
    relativeTo directory: File? = nil,
    on reactor: Reactor
  ) async throws(IOError) -> File {
    let path = try path.filePath(for: .openat2)
    let flags = mode.rawValue | options.rawValue | O_CLOEXEC
    let request = OpenHowRequest(
      path: path, flags: flags, mode: UInt32(permissions?.rawValue ?? 0), resolve: resolve.rawValue)
    let fd = try await reactor.onLoop { loop throws(IOError) -> Int32 in
      let directoryFD = try directory?.liveDescriptor(for: .openat2) ?? AT_FDCWD
      return unsafe try await loop.perform(
        .openat2(directory: directoryFD, path: request.path.pointer, how: request.how),
        retaining: (request, directory), createsDescriptor: true
      ).value(.openat2, path: path)
    }
    return try await File.adopt(opened: fd, flags: flags, path: path, on: reactor)
  }
}
