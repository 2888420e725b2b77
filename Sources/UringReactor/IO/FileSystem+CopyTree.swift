import Glibc
import SystemPackage
import Uring

extension FileSystem {
  /// Copies the tree at `source` to `destination`, built on
  /// ``walk(_:options:)`` (symbolic links not followed, an unreadable
  /// directory fails the copy): directories are created
  /// (`IORING_OP_MKDIRAT`) before anything in them, regular files are copied
  /// with ``copyFile(from:to:options:)`` as up to
  /// ``CopyOptions/concurrentFiles`` child tasks preferring the reactor,
  /// symbolic links are recreated with the same target text
  /// (`readlinkat(2)` on ``offload``, `IORING_OP_SYMLINKAT`), never followed.
  /// A `source` that is a file (or a link to one) is copied as a file.
  ///
  /// - Modes: files and links as ``copyFile(from:to:options:)`` does.
  ///   Directories are created writable by their owner and get the source's
  ///   permission bits at the end (`chmod(2)`, deepest first, in one job on
  ///   ``offload``), so a read-only source directory can be filled; the copy
  ///   keeps one path and mode per directory until then (memory grows with
  ///   the number of directories, not of files).
  /// - Destination: `destination` itself must not exist (`EEXIST`) unless
  ///   ``CopyOptions/replaceExisting``: then existing directories are merged
  ///   into and existing files and links replaced.
  /// - Other file types (fifos, sockets, devices) fail the copy with
  ///   ``IOError/Kind/invalidRequest(_:)`` naming the path.
  /// - Thread-safety: call from any task.
  /// - Cancellation: the walk and every file copy in flight are cancelled
  ///   (their ring operations with `IORING_OP_ASYNC_CANCEL`, awaited); the
  ///   call throws ``IOError/Kind/cancelled`` and leaves a partial copy.
  /// - Throws: the first failure, an ``IOError`` with its path; files
  ///   already copying finish or are cancelled first, and what was copied
  ///   stays.
  nonisolated(nonsending) public func copyTree(
    from source: some FilePathConvertible, to destination: some FilePathConvertible,
    options: CopyOptions = CopyOptions()
  ) async throws(IOError) {
    let source = try source.filePath(for: .openat)
    let destination = try destination.filePath(for: .openat)
    let walkOptions = WalkOptions(onUnreadableDirectory: .fail)
    var directories: [(path: FilePath, permissions: FilePermissions)] = []
    let failure = await withTaskGroup(of: IOError?.self, returning: IOError?.self) { group in
      var running = 0
      do throws(IOError) {
        for try await entry in walk(source, options: walkOptions) {
          let target = Self.path(of: entry.path, under: source, in: destination)
          switch entry.type {
          case .directory:
            let permissions = try await copyDirectory(entry.path, to: target, options: options)
            directories.append((target, permissions))
          case .regular:
            if running == options.concurrentFiles, let done = await group.next() {
              running -= 1
              if let done { throw done }
            }
            running += 1
            group.addTask(executorPreference: reactor) { () async -> IOError? in
              do throws(IOError) {
                try await self.copyFile(from: entry.path, to: target, options: options)
                return nil
              } catch {
                return error
              }
            }
          case .symbolicLink:
            try await copySymbolicLink(entry.path, to: target, options: options)
          default:
            throw IOError(
              .invalidRequest("cannot copy a \(entry.type)"), operation: .offloaded,
              path: entry.path)
          }
        }
        while let done = await group.next() {
          if let done { throw done }
        }
        return nil
      } catch {
        group.cancelAll()
        return error
      }
    }
    if let failure { throw failure }
    try await restorePermissions(directories.reversed())
  }

  /// `path`, which is `root` or below it, moved under `destination`.
  static func path(of path: FilePath, under root: FilePath, in destination: FilePath)
    -> FilePath
  {
    var result = destination
    result.append(path.components.dropFirst(root.components.count))
    return result
  }

  /// Creates the directory `target` for `source` (owner-writable until
  /// ``restorePermissions(_:)``); returns the permissions it must end with.
  nonisolated(nonsending) private func copyDirectory(
    _ source: FilePath, to target: FilePath, options: CopyOptions
  ) async throws(IOError) -> FilePermissions {
    let permissions = try await status(of: source).permissions
    let working = FilePermissions(rawValue: permissions.rawValue | 0o700)
    do throws(IOError) {
      try await makeDirectory(at: target, permissions: working)
    } catch  where error.kind == .system(.fileExists) && options.replaceExisting {
      guard try await status(of: target, followSymbolicLinks: false).type == .directory else {
        throw IOError(.system(.notDirectory), operation: .mkdirat, path: target)
      }
    }
    return permissions
  }

  /// Recreates the symbolic link `source` at `target` with the same target text.
  nonisolated(nonsending) private func copySymbolicLink(
    _ source: FilePath, to target: FilePath, options: CopyOptions
  ) async throws(IOError) {
    let text = try await destinationOfSymbolicLink(at: source)
    if options.replaceExisting { try await removeNonDirectory(target) }
    try await symbolicLink(target, to: text)
  }

  /// Sets each directory's final permissions (`chmod(2)`, in the order
  /// given: deepest first) in one job on the offload pool.
  nonisolated(nonsending) private func restorePermissions(
    _ directories: some Sequence<(path: FilePath, permissions: FilePermissions)>
  ) async throws(IOError) {
    let work = directories.map { ($0.path, $0.permissions.rawValue) }
    guard let first = work.first else { return }
    let outcome: (FilePath, CInt)?
    do throws(OffloadPoolError) {
      outcome = try await offload.run { () -> (FilePath, CInt)? in
        for (path, mode) in work {
          // SAFETY: the C string lives for the closure; chmod only reads it.
          let result = unsafe path.withCString { unsafe chmod($0, mode) }
          if result != 0 { return (path, errno) }
        }
        return nil
      }
    } catch {
      throw Self.poolError(error, "chmod", first.0)
    }
    if let (path, code) = outcome {
      throw IOError(
        .system(Errno(rawValue: code)), operation: .offloaded, path: path, systemCall: "chmod")
    }
  }
}
