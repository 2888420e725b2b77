import Glibc
public import SystemPackage
import Uring

extension FileSystem {
  /// The default `maximumSize` of ``readFiles(_:maximumSize:)``: 64 KiB.
  public static let defaultMaximumFileSize = 64 * 1024

  /// Reads whole small files, one buffer each, with one suspension for the
  /// batch (none when everything completes within the submission, as cached
  /// files do): for tools that read many configuration files, sources,
  /// thumbnails or records.
  ///
  /// Per file, three linked submissions on one of the reactor's direct
  /// descriptor slots go to the kernel together: `IORING_OP_OPENAT`
  /// (`O_RDONLY`, into the slot: no descriptor is created),
  /// `IORING_OP_READ` on the fixed file (`IOSQE_FIXED_FILE`, after
  /// `IOSQE_IO_LINK`) of up to `maximumSize + 1` bytes, and
  /// `IORING_OP_CLOSE` of the slot (after `IOSQE_IO_HARDLINK`, so it runs
  /// whatever the read did). The reactor has 256 slots, shared by every
  /// batch on it: a larger batch, or several at once, go through them in
  /// turn, a slot being reused only after its close's CQE.
  ///
  /// Returns one result per path, in order: a fresh ``SharedBuffer`` (of
  /// capacity `maximumSize + 1`) holding the file (`count` = its size), or
  /// that file's own error, which leaves the others unaffected: the open's
  /// (`ENOENT`, `ENOTDIR`, `ELOOP`, `EACCES`...), else the read's (`EISDIR`
  /// for a directory), or `EFBIG` for a file of more than `maximumSize`
  /// bytes. Each file is read with one read: a file whose size changes
  /// meanwhile, or one that returns less than it holds in one read (some
  /// `/proc` files), is read as that one read returned it.
  ///
  /// Ownership: every buffer belongs to the reactor until its read's CQE
  /// and is handed to the caller only when the call returns; the paths are
  /// copied into C strings the in-flight slots keep alive.
  ///
  /// Cancellation: cancelling the task starts no more files and cancels the
  /// opens and reads in flight (`IORING_OP_ASYNC_CANCEL`); the call still
  /// waits for every chain's CQEs, closes included, before it returns. Files
  /// not read end with ``IOError/Kind/cancelled``, the others keep their
  /// data. An already cancelled task submits nothing.
  ///
  /// Thread-safety: any task; from a task preferring the reactor it runs
  /// there with no hop. If the ring already holds a ``RegisteredFileTable``
  /// (one table per ring), the files are read one after the other with
  /// ordinary descriptors instead (three round trips each).
  ///
  /// - Parameters:
  ///   - paths: the files to read, each opened with `O_RDONLY`; a relative
  ///     path starts at the working directory.
  ///   - maximumSize: the largest file read (`1...1 << 30`); any other
  ///     value fails every entry with `EINVAL`.
  nonisolated(nonsending) public func readFiles(
    _ paths: [FilePath], maximumSize: Int = FileSystem.defaultMaximumFileSize
  ) async -> [Result<SharedBuffer, IOError>] {
    guard !paths.isEmpty else { return [] }
    guard maximumSize > 0, maximumSize <= 1 << 30 else {
      return paths.map { path in
        .failure(
          IOError(
            .invalidRequest("maximumSize \(maximumSize) is outside 1...\(1 << 30)"),
            operation: .read, path: path))
      }
    }
    if Task.isCancelled {
      return paths.map { .failure(IOError(.cancelled, operation: .openat, path: $0)) }
    }
    let batch = await reactor.onLoop { loop -> SmallFileBatch? in
      guard let slots = loop.directSlotTable() else { return nil }
      let batch = SmallFileBatch(loop: loop, paths: paths, maximumSize: maximumSize)
      batch.startMore(on: loop, slots: slots)
      // Cached files complete within the submission: take them inline while
      // nothing else waits to run and each pass finishes some.
      while batch.active > 0, loop.mayCompleteInline {
        // SAFETY: loop state, on the loop thread (`onLoop`).
        unsafe loop.inlineBudget -= 1
        let before = batch.active
        unsafe loop.ring!.submitAndFlushCompletions()
        loop.handleCompletions()
        if batch.active >= before { break }
      }
      if !batch.isDone {
        await loop.suspend { continuation in
          batch.waiter = continuation
        } onCancel: { [reactor] in
          reactor.runOnLoop { loop in if let loop { batch.cancel(on: loop) } }
        }
      }
      return batch
    }
    guard let batch else { return await readOneByOne(paths, maximumSize: maximumSize) }
    return batch.results()
  }

  /// The path without direct slots: open, read and close each file in turn.
  nonisolated(nonsending) private func readOneByOne(
    _ paths: [FilePath], maximumSize: Int
  ) async -> [Result<SharedBuffer, IOError>] {
    var results: [Result<SharedBuffer, IOError>] = []
    results.reserveCapacity(paths.count)
    for path in paths {
      do throws(IOError) {
        let file = try await File.open(path, .readOnly, on: reactor)
        let buffer = SharedBuffer(capacity: maximumSize + 1)
        let count: Int
        do throws(IOError) {
          count = try await file.readAll(into: buffer, at: 0)
        } catch {
          try? await file.close()
          throw error
        }
        try? await file.close()
        guard count <= maximumSize else {
          throw IOError(.system(.fileTooLarge), operation: .read, path: path)
        }
        results.append(.success(buffer))
      } catch {
        results.append(.failure(error))
      }
    }
    return results
  }
}
