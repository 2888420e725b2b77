/// How ``FileSystem/copyFile(from:to:options:)`` and
/// ``FileSystem/copyTree(from:to:options:)`` copy.
public struct CopyOptions: Sendable, Hashable {
  /// How a file's bytes travel.
  public enum Method: Sendable, Hashable {
    /// The measured faster of the two on this machine kind, ``splice``
    /// (a 64 MiB page-cached file: 47-55 ms against 69-76 ms; see
    /// Docs/Performance.md), falling back to ``readWrite`` where the file
    /// system refuses splice (`EINVAL`).
    case automatic
    /// `IORING_OP_SPLICE` from the file into a pipe and from the pipe into
    /// the destination, a pipe's worth (1 MiB when the kernel allows) at a
    /// time: no copy through user memory, two ring round trips per chunk.
    case splice
    /// `IORING_OP_READ` into reactor-owned buffers and `IORING_OP_WRITE`
    /// from them, pipelined (``File/chunks(from:length:chunkSize:readAhead:)``
    /// and ``File/writer(startingAt:maxInFlight:bufferSize:)``): at most
    /// `readAhead` reads and `writesInFlight` writes of `chunkSize` bytes.
    case readWrite
  }

  /// Replace what is at the destination (default `false`: an existing
  /// destination fails with `EEXIST` and nothing is changed). When `true`,
  /// a file or symbolic link there is removed (`IORING_OP_UNLINKAT`, never
  /// followed) and created anew, so the copy has the source's mode; an
  /// existing directory is merged into (kept, its mode set to the source's);
  /// a directory where a file goes fails with `EEXIST`.
  public var replaceExisting: Bool
  /// How bytes travel; default ``Method/automatic``.
  public var method: Method
  /// Bytes per read, write or splice (default 1 MiB).
  public var chunkSize: Int
  /// ``FileSystem/copyTree(from:to:options:)``: at most this many files are
  /// copied at once (default 4), each as a task preferring the reactor.
  public var concurrentFiles: Int

  public init(
    replaceExisting: Bool = false, method: Method = .automatic, chunkSize: Int = 1 << 20,
    concurrentFiles: Int = 4
  ) {
    self.replaceExisting = replaceExisting
    self.method = method
    self.chunkSize = max(4096, chunkSize)
    self.concurrentFiles = max(1, concurrentFiles)
  }
}
