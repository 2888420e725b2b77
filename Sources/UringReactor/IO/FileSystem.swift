import Glibc
public import SystemPackage
import Uring

/// Path operations on a reactor's ring: create, remove, rename and link
/// files and directories, read their status, and list directories.
///
/// Every operation but listing (and reading a symbolic link) is one io_uring
/// request (`IORING_OP_MKDIRAT`, `UNLINKAT`, `RENAMEAT`, `LINKAT`,
/// `SYMLINKAT`, `STATX`). io_uring has no opcode for reading a directory
/// (`getdents64`) or a link (`readlinkat`): those run as blocking system
/// calls on ``offload``, a bounded ``OffloadPool``, never on the loop thread.
///
/// - Paths: relative paths start at `directory` when given (a ``File``
///   opened on a directory), else at the working directory. A path is a
///   `FilePath` or text (``FilePathConvertible``); text holding a NUL byte
///   is refused with ``IOError`` `EINVAL`, naming it, before anything is
///   submitted.
/// - Ownership: each path is copied into a C string that the in-flight slot
///   retains, with the directory's ``File``, until the final CQE: the
///   kernel may read the path after the call was submitted.
/// - Thread-safety: a `Sendable` value; call from any task. Cheapest from a
///   task preferring the reactor (no hop).
/// - Cancellation: a cancelled task's request is cancelled
///   (`IORING_OP_ASYNC_CANCEL`) and the call returns after its CQE, throwing
///   ``IOError/Kind/cancelled``, unless it completed first (then it returns
///   normally: the change was made).
/// - Errors: ``IOError`` with the errno, the operation and the path.
public struct FileSystem: Sendable {
  /// The reactor whose ring performs the operations.
  public let reactor: Reactor
  /// Where work io_uring cannot do runs.
  public let offload: OffloadPool

  /// Path operations on `reactor`, offloading to `offload` what io_uring
  /// cannot do. The pool is not owned: shut it down when you are done.
  public init(on reactor: Reactor, offload: OffloadPool = .shared) {
    self.reactor = reactor
    self.offload = offload
  }

  /// Creates the directory `path` (`IORING_OP_MKDIRAT`).
  ///
  /// - Throws: `EEXIST` if something is there, `ENOENT` if the parent is missing.
  nonisolated(nonsending) public func makeDirectory(
    at path: some FilePathConvertible,
    permissions: FilePermissions = FilePermissions(rawValue: 0o755),
    relativeTo directory: File? = nil
  ) async throws(IOError) {
    let path = try path.filePath(for: .mkdirat)
    let request = PathRequest(path, directory: directory)
    let mode = UInt32(permissions.rawValue)
    _ = unsafe try await perform(.mkdirat, path: path, request) { request, directory in
      unsafe .mkdirat(directory: directory, path: request.first.pointer, mode: mode)
    }
  }

  /// Creates `path` and every missing parent (like `mkdir -p`): one
  /// `IORING_OP_MKDIRAT` per missing component. A directory already there is
  /// fine; anything else there throws `EEXIST` or `ENOTDIR`.
  nonisolated(nonsending) public func makeDirectories(
    at path: some FilePathConvertible,
    permissions: FilePermissions = FilePermissions(rawValue: 0o755)
  ) async throws(IOError) {
    let path = try path.filePath(for: .mkdirat)
    var prefix = FilePath(root: path.root)
    for component in path.components {
      prefix.append(component)
      do throws(IOError) {
        try await makeDirectory(at: prefix, permissions: permissions)
      } catch  where error.kind == .system(.fileExists) {
        guard try await status(of: prefix).type == .directory else {
          throw IOError(.system(.notDirectory), operation: .mkdirat, path: prefix)
        }
      }
    }
  }

  /// Removes the file, link or empty directory at `path` (`IORING_OP_UNLINKAT`;
  /// a directory gets a second one with `AT_REMOVEDIR` after `EISDIR`).
  ///
  /// - Throws: `ENOENT`, `ENOTEMPTY` for a directory that is not empty.
  nonisolated(nonsending) public func remove(
    at path: some FilePathConvertible, relativeTo directory: File? = nil
  ) async throws(IOError) {
    let path = try path.filePath(for: .unlinkat)
    do throws(IOError) {
      try await unlink(path, flags: 0, relativeTo: directory)
    } catch  where error.kind == .system(.isDirectory) {
      try await unlink(path, flags: FileSystem.removeDirectoryFlag, relativeTo: directory)
    }
  }

  /// Removes the empty directory at `path` (`IORING_OP_UNLINKAT` with
  /// `AT_REMOVEDIR`). - Throws: `ENOTDIR`, `ENOTEMPTY`, `ENOENT`.
  nonisolated(nonsending) public func removeDirectory(
    at path: some FilePathConvertible, relativeTo directory: File? = nil
  ) async throws(IOError) {
    let path = try path.filePath(for: .unlinkat)
    try await unlink(path, flags: FileSystem.removeDirectoryFlag, relativeTo: directory)
  }

  /// Renames `source` to `destination` (`IORING_OP_RENAMEAT`), replacing
  /// what is there unless `options` says otherwise.
  nonisolated(nonsending) public func rename(
    _ source: some FilePathConvertible, to destination: some FilePathConvertible,
    options: RenameOptions = [], relativeTo directory: File? = nil
  ) async throws(IOError) {
    let source = try source.filePath(for: .renameat)
    let destination = try destination.filePath(for: .renameat)
    let request = PathRequest(source, destination, directory: directory)
    let flags = options.rawValue
    _ = unsafe try await perform(.renameat, path: source, request) { request, directory in
      unsafe .renameat(
        oldDirectory: directory, oldPath: request.first.pointer, newDirectory: directory,
        newPath: request.second!.pointer, flags: flags)
    }
  }

  /// Makes `link` a new hard link to the file `existing` (`IORING_OP_LINKAT`).
  nonisolated(nonsending) public func link(
    _ link: some FilePathConvertible, to existing: some FilePathConvertible,
    relativeTo directory: File? = nil
  ) async throws(IOError) {
    let link = try link.filePath(for: .linkat)
    let existing = try existing.filePath(for: .linkat)
    let request = PathRequest(existing, link, directory: directory)
    _ = unsafe try await perform(.linkat, path: link, request) { request, directory in
      unsafe .linkat(
        oldDirectory: directory, oldPath: request.first.pointer, newDirectory: directory,
        newPath: request.second!.pointer, flags: 0)
    }
  }

  /// Makes `link` a symbolic link whose target is the text `target`
  /// (`IORING_OP_SYMLINKAT`); the target need not exist.
  nonisolated(nonsending) public func symbolicLink(
    _ link: some FilePathConvertible, to target: some FilePathConvertible,
    relativeTo directory: File? = nil
  ) async throws(IOError) {
    let link = try link.filePath(for: .symlinkat)
    let target = try target.filePath(for: .symlinkat)
    let request = PathRequest(target, link, directory: directory)
    _ = unsafe try await perform(.symlinkat, path: link, request) { request, directory in
      unsafe .symlinkat(
        target: request.first.pointer, directory: directory, path: request.second!.pointer)
    }
  }

  /// The status of `path` (`IORING_OP_STATX`); of the link itself unless
  /// `followSymbolicLinks`. The 256-byte `statx` buffer is retained with the
  /// path until the final CQE and decoded after it.
  ///
  /// - Throws: `ENOENT`, `ENOTDIR`, `EACCES`, ``IOError/Kind/cancelled``.
  nonisolated(nonsending) public func status(
    of path: some FilePathConvertible, relativeTo directory: File? = nil,
    followSymbolicLinks: Bool = true
  ) async throws(IOError) -> FileStatus {
    let path = try path.filePath(for: .statx)
    let request = StatxRequest(path: path)
    let flags: CInt = followSymbolicLinks ? 0 : FileSystem.noFollowFlag
    return try await reactor.onLoop { loop throws(IOError) -> FileStatus in
      let directoryFD = try directory?.liveDescriptor(for: .statx) ?? AT_FDCWD
      let outcome = unsafe await loop.perform(
        .statx(
          directory: directoryFD, path: request.path.pointer, flags: flags,
          mask: StatxRequest.mask, buffer: request.buffer),
        retaining: (request, directory))
      _ = try outcome.value(.statx, path: path)
      return request.status()
    }
  }

  /// Whether something exists at `path` (`IORING_OP_STATX`, not following a
  /// final symbolic link). Errors other than `ENOENT`/`ENOTDIR` are thrown.
  nonisolated(nonsending) public func exists(
    _ path: some FilePathConvertible, relativeTo directory: File? = nil
  ) async throws(IOError) -> Bool {
    let path = try path.filePath(for: .statx)
    do throws(IOError) {
      _ = try await status(of: path, relativeTo: directory, followSymbolicLinks: false)
      return true
    } catch
      where error.kind == .system(.noSuchFileOrDirectory)
      || error.kind == .system(.notDirectory)
    {
      return false
    }
  }

  // MARK: Plumbing

  static let removeDirectoryFlag: CInt = 0x200  // AT_REMOVEDIR
  static let noFollowFlag: CInt = 0x100  // AT_SYMLINK_NOFOLLOW

  func unlink(_ path: FilePath, flags: CInt, relativeTo directory: File?)
    async throws(IOError)
  {
    let request = PathRequest(path, directory: directory)
    _ = unsafe try await perform(.unlinkat, path: path, request) { request, directory in
      unsafe .unlinkat(directory: directory, path: request.first.pointer, flags: flags)
    }
  }

  /// Submits the operation `make` builds from the retained request and the
  /// directory descriptor, and waits for its CQE.
  private func perform(
    _ opcode: Opcode, path: FilePath, _ request: PathRequest,
    _ make: @escaping @Sendable (PathRequest, CInt) -> RingOperation
  ) async throws(IOError) -> Int32 {
    try await reactor.onLoop { loop throws(IOError) -> Int32 in
      let directoryFD = try request.directory?.liveDescriptor(for: opcode) ?? AT_FDCWD
      // SAFETY: the in-flight slot retains `request` (the C strings) and, through
      // it, the directory's File (its descriptor) until the final CQE.
      let outcome = unsafe await loop.perform(make(request, directoryFD), retaining: (request, nil))
      return try outcome.value(opcode, path: path)
    }
  }
}

/// How ``FileSystem/rename(_:to:options:relativeTo:)`` treats the
/// destination (`renameat2(2)` flags).
public struct RenameOptions: OptionSet, Sendable, Hashable {
  public let rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// `RENAME_NOREPLACE`: fail with `EEXIST` instead of replacing.
  public static let noReplace = RenameOptions(rawValue: 1)
  /// `RENAME_EXCHANGE`: swap the two paths atomically (both must exist).
  public static let exchange = RenameOptions(rawValue: 2)
}

/// The C strings (and the directory) one path operation lends the kernel.
final class PathRequest: Sendable {
  let first: CStringBox
  let second: CStringBox?
  let directory: File?

  init(_ first: FilePath, _ second: FilePath? = nil, directory: File?) {
    self.first = CStringBox(first)
    self.second = second.map(CStringBox.init)
    self.directory = directory
  }
}
