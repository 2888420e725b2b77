import Glibc
public import SystemPackage
import Uring

/// One entry of a directory listing.
public struct DirectoryEntry: Sendable, Hashable {
  /// The entry's name within its directory (never `.` or `..`).
  public var name: FilePath.Component
  /// The type the directory records (`d_type`); ``FileType/unknown`` on file
  /// systems that do not record it: ask ``FileSystem/status(of:relativeTo:followSymbolicLinks:)``.
  public var type: FileType
  /// The inode number.
  public var inode: UInt64
}

/// The entries of one directory, read in batches on an ``OffloadPool``
/// (io_uring has no `getdents` opcode): an `AsyncSequence` of
/// ``DirectoryEntry`` from ``FileSystem/entries(of:relativeTo:batchSize:)``.
///
/// How listing works: the first batch opens the directory (`openat(2)` with
/// `O_DIRECTORY`, then `fdopendir(3)`) and every batch reads up to
/// `batchSize` entries with `readdir(3)` (`getdents64(2)` underneath), each
/// as one job on the pool; the caller is suspended meanwhile and resumed on
/// its own executor. The loop thread never blocks. The directory stream is
/// closed when the listing ends, fails, or its iterator is dropped.
///
/// Order is the file system's. Entries added or removed during the listing
/// may or may not appear. Single pass: iterate once.
///
/// Cancellation: a batch not yet started is dropped and `next()` throws
/// ``IOError/Kind/cancelled``; a batch already running finishes first.
public struct DirectoryEntries: AsyncSequence, Sendable {
  public typealias Element = DirectoryEntry
  public typealias Failure = IOError

  let path: FilePath
  let directory: File?
  let fileSystem: FileSystem
  let batchSize: Int

  public func makeAsyncIterator() -> Iterator {
    Iterator(
      stream: DirectoryStream(path: path), directory: directory, fileSystem: fileSystem,
      batchSize: batchSize)
  }

  public struct Iterator: AsyncIteratorProtocol {
    let stream: DirectoryStream
    let directory: File?
    let fileSystem: FileSystem
    let batchSize: Int
    var batch: [DirectoryEntry] = []
    var index = 0
    var started = false
    var finished = false

    public mutating func next(isolation actor: isolated (any Actor)?) async throws(IOError)
      -> DirectoryEntry?
    {
      while index == batch.count {
        guard !finished else { return nil }
        let stream = self.stream
        let size = batchSize
        if !started {
          started = true
          do throws(IOError) {
            // A duplicate, made on the loop thread: a concurrent close of
            // `directory` cannot make the pool open relative to another file.
            stream.setBase(
              try await fileSystem.duplicate(directory, for: "openat", path: stream.path))
          } catch {
            finished = true
            throw error
          }
        }
        let result: Result<[DirectoryEntry], IOError>
        do throws(OffloadPoolError) {
          result = try await fileSystem.offload.run { stream.readBatch(size) }
        } catch {
          finished = true
          stream.close()
          let kind: IOError.Kind =
            error == .cancelled ? .cancelled : .invalidRequest("\(error)")
          throw IOError(kind, operation: .offloaded, path: stream.path, systemCall: "readdir")
        }
        switch result {
        case .success(let entries):
          batch = entries
          index = 0
          if entries.count < size {
            finished = true
            stream.close()
          }
        case .failure(let error):
          finished = true
          stream.close()
          throw error
        }
      }
      defer { index += 1 }
      return batch[index]
    }

    public mutating func next() async throws(IOError) -> DirectoryEntry? {
      try await next(isolation: nil)
    }
  }
}

/// An open `DIR*`, used by one pool job at a time (the iterator awaits each
/// batch before asking for the next); closed once.
final class DirectoryStream: Sendable {
  @safe
  private struct State {
    // @safe: the memory or handle it holds is owned here and released once, under the owner's lock.
    /// The directory `path` is relative to (a duplicate owned here), or `AT_FDCWD`.
    var base = AT_FDCWD
    var handle: OpaquePointer?
    var closed = false

    mutating func close() {
      if let handle = unsafe handle { unsafe closedir(handle) }
      unsafe handle = nil
      closed = true
      if base != AT_FDCWD { Glibc.close(base) }
      base = AT_FDCWD
    }
  }

  let path: FilePath
  private let state = Locked(State())

  init(path: FilePath) {
    self.path = path
  }

  deinit {
    state.withLock { $0.close() }
  }

  /// Sets the descriptor `path` is relative to; the stream closes it.
  func setBase(_ descriptor: CInt) {
    state.withLock { $0.base = descriptor }
  }

  func close() {
    state.withLock { $0.close() }
  }

  private func failure(_ call: String, _ code: CInt) -> IOError {
    IOError(.system(Errno(rawValue: code)), operation: .offloaded, path: path, systemCall: call)
  }

  /// Pool thread: opens the directory if needed and reads up to `limit` entries.
  func readBatch(_ limit: Int) -> Result<[DirectoryEntry], IOError> {
    state.withLock { state -> Result<[DirectoryEntry], IOError> in
      guard !state.closed else { return .success([]) }
      if unsafe state.handle == nil {
        let base = state.base
        let fd = unsafe path.withCString {
          unsafe openat(base, $0, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        guard fd >= 0 else { return .failure(failure("openat", errno)) }
        guard let opened = unsafe fdopendir(fd) else {
          let code = errno
          Glibc.close(fd)
          return .failure(failure("fdopendir", code))
        }
        unsafe state.handle = unsafe opened
      }
      guard let handle = unsafe state.handle else { return .success([]) }
      var entries: [DirectoryEntry] = []
      entries.reserveCapacity(min(limit, 256))
      while entries.count < limit {
        errno = 0
        guard let entry = unsafe readdir(handle) else {
          if errno != 0 { return .failure(failure("readdir", errno)) }
          break
        }
        // SAFETY: `entry` points into the DIR's buffer, valid until the next
        // readdir on it; d_name is NUL-terminated within its 256 bytes.
        let name = unsafe withUnsafePointer(to: &entry.pointee.d_name) {
          unsafe $0.withMemoryRebound(to: CChar.self, capacity: 256) { unsafe String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        guard let component = FilePath.Component(name) else { continue }
        unsafe entries.append(
          DirectoryEntry(
            name: component, type: FileType(directoryEntryType: entry.pointee.d_type),
            inode: UInt64(entry.pointee.d_ino)))
      }
      return .success(entries)
    }
  }
}
