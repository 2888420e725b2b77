import Glibc
public import SystemPackage
import Uring

extension FileSystem {
  /// The entries of the directory `path`, read in batches of `batchSize` on
  /// ``offload`` (io_uring has no `getdents` opcode); see
  /// ``DirectoryEntries`` for how listing works. `directory`, if given, is
  /// retained and must stay open while the listing runs.
  public func entries(
    of path: FilePath, relativeTo directory: File? = nil, batchSize: Int = 512
  ) -> DirectoryEntries {
    DirectoryEntries(
      path: path, directory: directory, fileSystem: self, batchSize: max(1, batchSize))
  }

  /// Every entry of the directory `path` (not `.` and `..`), in the file
  /// system's order: ``entries(of:relativeTo:batchSize:)`` collected.
  ///
  /// - Throws: ``IOError`` with `Opcode.offloaded` and the failing call
  ///   (`openat`, `readdir`): `ENOENT`, `ENOTDIR`, `EACCES`; or
  ///   ``IOError/Kind/cancelled``.
  nonisolated(nonsending) public func contentsOfDirectory(
    at path: some FilePathConvertible, relativeTo directory: File? = nil
  ) async throws(IOError) -> [DirectoryEntry] {
    let path = try path.filePath(for: .offloaded)
    var result: [DirectoryEntry] = []
    for try await entry in entries(of: path, relativeTo: directory) {
      result.append(entry)
    }
    return result
  }

  /// The target of the symbolic link `path` (`readlinkat(2)` on
  /// ``offload``: io_uring has no opcode for it).
  ///
  /// - Throws: `EINVAL` if `path` is not a symbolic link, `ENOENT`,
  ///   ``IOError/Kind/cancelled``.
  nonisolated(nonsending) public func destinationOfSymbolicLink(
    at path: some FilePathConvertible, relativeTo directory: File? = nil
  ) async throws(IOError) -> FilePath {
    let path = try path.filePath(for: .offloaded)
    let base = try await duplicate(directory, for: "readlinkat", path: path)
    let result: Result<FilePath, IOError>
    do throws(OffloadPoolError) {
      result = try await offload.run { () -> Result<FilePath, IOError> in
        defer { if base != AT_FDCWD { Glibc.close(base) } }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = unsafe path.withCString {
          unsafe readlinkat(base, $0, &buffer, buffer.count - 1)
        }
        guard count >= 0 else {
          return .failure(
            IOError(
              .system(Errno(rawValue: errno)), operation: .offloaded, path: path,
              systemCall: "readlinkat"))
        }
        buffer[count] = 0
        return .success(FilePath(platformString: buffer))
      }
    } catch {
      if base != AT_FDCWD { Glibc.close(base) }
      throw Self.poolError(error, "readlinkat", path)
    }
    return try result.get()
  }

  /// Removes `path` and, if it is a directory, everything in it (like
  /// `rm -r`): directories are listed on ``offload``; every removal is an
  /// `IORING_OP_UNLINKAT`. Symbolic links are removed, never followed.
  ///
  /// - Throws: the first failure; what was removed before stays removed.
  nonisolated(nonsending) public func removeTree(at path: some FilePathConvertible)
    async throws(IOError)
  {
    let path = try path.filePath(for: .unlinkat)
    let status = try await self.status(of: path, followSymbolicLinks: false)
    guard status.type == .directory else {
      try await remove(at: path)
      return
    }
    for entry in try await contentsOfDirectory(at: path) {
      let child = path.appending(entry.name)
      if entry.type == .directory || entry.type == .unknown {
        try await removeTree(at: child)
      } else {
        try await remove(at: child)
      }
    }
    try await removeDirectory(at: path)
  }

  /// A duplicate of `directory`'s descriptor for blocking work on the pool
  /// (so a concurrent close cannot make it name another file), or
  /// `AT_FDCWD`. Made on the loop thread, where closes happen.
  nonisolated(nonsending) func duplicate(_ directory: File?, for call: String, path: FilePath)
    async throws(IOError) -> CInt
  {
    guard let directory else { return AT_FDCWD }
    return try await reactor.onLoop { loop throws(IOError) -> CInt in
      let fd = try directory.liveDescriptor(for: .offloaded)
      let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
      guard copy >= 0 else {
        throw IOError(
          .system(Errno(rawValue: errno)), operation: .offloaded, path: path, systemCall: "dup")
      }
      return copy
    }
  }

  static func poolError(_ error: OffloadPoolError, _ call: String, _ path: FilePath) -> IOError {
    let kind: IOError.Kind = error == .cancelled ? .cancelled : .invalidRequest("\(error)")
    return IOError(kind, operation: .offloaded, path: path, systemCall: call)
  }
}
