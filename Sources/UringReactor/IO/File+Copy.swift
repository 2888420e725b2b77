import Glibc
import SystemPackage

extension File {
  /// Copies this file's bytes, from offset 0 to its end, into `target` from
  /// offset 0; returns the bytes copied. Both files belong to the caller and
  /// stay open; every operation retains them until its CQE.
  nonisolated(nonsending) func copyContent(to target: File, options: CopyOptions)
    async throws(IOError) -> UInt64
  {
    switch options.method {
    case .splice:
      return try await spliceContent(to: target, chunkSize: options.chunkSize)
    case .automatic:
      do throws(IOError) {
        return try await spliceContent(to: target, chunkSize: options.chunkSize)
      } catch  where error.kind == .system(.invalidArgument) {
        // A file system without splice support: read and write instead
        // (from offset 0 again, so the result is whole either way).
        var fallback = options
        fallback.method = .readWrite
        return try await copyContent(to: target, options: fallback)
      }
    case .readWrite:
      let chunks = self.chunks(from: 0, chunkSize: options.chunkSize, readAhead: 4)
      let writer = target.writer(startingAt: 0, maxInFlight: 4, bufferSize: options.chunkSize)
      for try await chunk in chunks {
        // Zero copy: the chunk's own buffer is written, then handed back.
        try await writer.write(chunk)
      }
      return try await writer.finish()
    }
  }

  /// `IORING_OP_SPLICE` file -> pipe -> file, a pipe's worth at a time.
  nonisolated(nonsending) private func spliceContent(to target: File, chunkSize: Int)
    async throws(IOError) -> UInt64
  {
    let (readEnd, writeEnd) = try File.pipe(capacity: chunkSize, on: reactor, for: path)
    var offset: UInt64 = 0
    // On a failure the pipe's last references close it (close(2)).
    while true {
      let moved = try await splice(count: chunkSize, from: offset, to: writeEnd)
      if moved == 0 { break }
      var drained = 0
      while drained < moved {
        let count = try await readEnd.splice(
          count: moved - drained, to: target, at: offset + UInt64(drained))
        guard count > 0 else {
          throw IOError(.system(.ioError), operation: .splice, path: target.path)
        }
        drained += count
      }
      offset += UInt64(moved)
    }
    try await readEnd.close()
    try await writeEnd.close()
    return offset
  }

  /// A new pipe's two ends (`pipe(2)` then `FD_CLOEXEC`: Glibc's module has
  /// no `pipe2`; system calls that do not block), asking the kernel for
  /// `capacity` bytes of buffer (`F_SETPIPE_SZ`, best effort: the default is
  /// 64 KiB, and unprivileged processes are capped by
  /// `/proc/sys/fs/pipe-max-size`).
  static func pipe(capacity: Int, on reactor: Reactor, for path: FilePath?) throws(IOError)
    -> (File, File)
  {
    var descriptors: [CInt] = [-1, -1]
    // SAFETY: `pipe` writes two descriptors into the two-element array.
    guard unsafe Glibc.pipe(&descriptors) == 0 else {
      throw IOError(
        .system(Errno(rawValue: errno)), operation: .splice, path: path, systemCall: "pipe")
    }
    for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    _ = fcntl(descriptors[1], File.setPipeSize, CInt(clamping: capacity))
    return (
      File(adopting: FileDescriptor(rawValue: descriptors[0]), on: reactor),
      File(adopting: FileDescriptor(rawValue: descriptors[1]), on: reactor)
    )
  }

  /// `F_SETPIPE_SZ` (not imported: `_GNU_SOURCE` only).
  static let setPipeSize: CInt = 1031
}
