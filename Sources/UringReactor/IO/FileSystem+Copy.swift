import Glibc
import SystemPackage
import Uring

extension FileSystem {
  /// Copies the regular file `source` to `destination`: its bytes through
  /// the reactor (``CopyOptions/method``; by default `IORING_OP_SPLICE`
  /// file -> pipe -> file, 1 MiB at a time, no copy through user memory;
  /// or pipelined `IORING_OP_READ`/`IORING_OP_WRITE` with reactor-owned
  /// buffers, at most 4 reads and 4 writes in flight), then its permission
  /// bits.
  ///
  /// - Destination: must not exist (`O_EXCL`; `EEXIST` otherwise) unless
  ///   ``CopyOptions/replaceExisting``, which removes a file or link there
  ///   first (never writing through a link).
  /// - Mode: the new file is created with the source's permission bits; if
  ///   the umask took some away (checked with `IORING_OP_STATX`), they are
  ///   set with `fchmod(2)` on ``offload`` (io_uring has no chmod opcode).
  ///   Owner, times and extended attributes are not copied.
  /// - Ownership: both files are opened and closed here; each read, write
  ///   or splice retains its file and buffer until its CQE.
  /// - Thread-safety: call from any task; cheapest from one preferring the
  ///   reactor.
  /// - Cancellation: the operation in flight is cancelled
  ///   (`IORING_OP_ASYNC_CANCEL`) and awaited; the call throws
  ///   ``IOError/Kind/cancelled`` and leaves a partial destination.
  /// - Throws: ``IOError`` naming the source or the destination:
  ///   ``IOError/Kind/invalidRequest(_:)`` when `source` is not a regular
  ///   file, `ENOENT`, `EEXIST`, `EISDIR`, `EACCES`, `ENOSPC`...
  /// - Returns: the bytes copied.
  @discardableResult
  nonisolated(nonsending) public func copyFile(
    from source: some FilePathConvertible, to destination: some FilePathConvertible,
    options: CopyOptions = CopyOptions()
  ) async throws(IOError) -> UInt64 {
    let source = try source.filePath(for: .openat)
    let destination = try destination.filePath(for: .openat)
    let input = try await File.open(source, .readOnly, on: reactor)
    let status = try await input.status()
    guard status.type == .regular else {
      try? await input.close()
      throw IOError(
        .invalidRequest("not a regular file (\(status.type))"), operation: .openat, path: source)
    }
    if options.replaceExisting { try await removeNonDirectory(destination) }
    let output: File
    do throws(IOError) {
      output = try await File.open(
        destination, .writeOnly, options: [.create, .exclusiveCreate],
        permissions: status.permissions, on: reactor)
    } catch {
      try? await input.close()
      throw error
    }
    do throws(IOError) {
      let copied = try await input.copyContent(to: output, options: options)
      try await setPermissions(status.permissions, of: output, path: destination)
      try await output.close()
      try await input.close()
      return copied
    } catch {
      try? await output.close()
      try? await input.close()
      throw error
    }
  }

  /// Removes the file or symbolic link at `path` if there is one
  /// (`IORING_OP_UNLINKAT` without `AT_REMOVEDIR`: a directory stays, and
  /// the open that follows fails with `EEXIST`).
  nonisolated(nonsending) func removeNonDirectory(_ path: FilePath) async throws(IOError) {
    do throws(IOError) {
      try await unlink(path, flags: 0, relativeTo: nil)
    } catch
      where error.kind == .system(.noSuchFileOrDirectory)
      || error.kind == .system(.isDirectory)
    {
      return
    }
  }

  /// Gives the open `file` exactly `permissions` if it lacks them (the umask
  /// at creation): `fchmod(2)` on the offload pool, which retains `file`.
  nonisolated(nonsending) func setPermissions(
    _ permissions: FilePermissions, of file: File, path: FilePath
  ) async throws(IOError) {
    guard try await file.status().permissions != permissions else { return }
    let mode = permissions.rawValue
    let outcome: CInt
    do throws(OffloadPoolError) {
      outcome = try await offload.run { () -> CInt in
        guard let fd = file.descriptor else { return EBADF }
        return fchmod(fd.rawValue, mode) == 0 ? 0 : errno
      }
    } catch {
      throw Self.poolError(error, "fchmod", path)
    }
    guard outcome == 0 else {
      throw IOError(
        .system(Errno(rawValue: outcome)), operation: .offloaded, path: path, systemCall: "fchmod")
    }
  }
}
