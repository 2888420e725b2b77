public import SystemPackage

extension FileSystem {
  /// Every entry of the tree at `root`, depth first, the root first: an
  /// `AsyncSequence` of ``WalkEntry`` (see ``DirectoryWalk``).
  ///
  /// - Parameters:
  ///   - root: where the walk starts; followed if it is a symbolic link.
  ///   - options: symbolic links, unreadable directories, depth; see
  ///     ``WalkOptions``.
  public func walk(_ root: FilePath, options: WalkOptions = WalkOptions()) -> DirectoryWalk {
    DirectoryWalk(root: root, options: options, fileSystem: self)
  }
}

/// A recursive walk of a directory tree: an `AsyncSequence` of
/// ``WalkEntry`` from ``FileSystem/walk(_:options:)``, in pre-order (a
/// directory before its entries; siblings in the file system's order).
///
/// How it works: directories are listed on the ``FileSystem/offload`` pool in
/// batches of ``WalkOptions/batchSize`` (``DirectoryEntries``; io_uring has no
/// `getdents` opcode). Types come from `d_type`; an entry whose type the file
/// system does not record, a followed symbolic link, and (when following)
/// every directory are asked with `IORING_OP_STATX` on the reactor's ring.
///
/// Memory is bounded by the depth, never by the size of the tree: at most
/// one open directory per level of the current path (`depth + 1`), and at
/// most ``WalkOptions/batchSize`` buffered entries per open directory (its
/// first batch is read when it is opened, before its own entry is yielded,
/// so that an unreadable directory's entry carries the error).
///
/// - Ownership: the iterator owns the open directories; they are closed when
///   each is exhausted, when the walk ends or fails, and when the iterator is
///   dropped (a `break` out of the loop).
/// - Thread-safety: the sequence is `Sendable`; an iterator is used by one
///   task. Single pass.
/// - Cancellation: once the consuming task is cancelled, `next()` closes
///   every open directory and throws ``IOError/Kind/cancelled``; a directory
///   batch already running on the pool finishes first, a `statx` in flight
///   is cancelled (`IORING_OP_ASYNC_CANCEL`) and awaited. No descriptor stays
///   open.
/// - Errors: ``IOError`` with the path; the root must exist (its `statx`
///   failure is thrown). Unreadable directories below follow
///   ``WalkOptions/onUnreadableDirectory``.
public struct DirectoryWalk: AsyncSequence, Sendable {
  public typealias Element = WalkEntry
  public typealias Failure = IOError

  let root: FilePath
  let options: WalkOptions
  let fileSystem: FileSystem

  public func makeAsyncIterator() -> Iterator {
    Iterator(root: root, options: options, fileSystem: fileSystem)
  }

  /// Walks the tree; see ``DirectoryWalk``.
  public struct Iterator: AsyncIteratorProtocol {
    /// One open directory on the current path.
    struct Level {
      var path: FilePath
      var depth: Int
      var entries: DirectoryEntries.Iterator
      /// Its first entry, read when it was opened.
      var first: DirectoryEntry?
      var identity: FileIdentity?
    }

    let root: FilePath
    let options: WalkOptions
    let fileSystem: FileSystem
    var levels: [Level] = []
    /// Closes what is still open when the iterator is dropped.
    let openDirectories = OpenDirectories()
    var started = false
    var finished = false
    /// High-water marks, for tests of the memory bound.
    var statistics = WalkStatistics()

    init(root: FilePath, options: WalkOptions, fileSystem: FileSystem) {
      self.root = root
      self.options = options
      self.fileSystem = fileSystem
    }

    public mutating func next(isolation actor: isolated (any Actor)?) async throws(IOError)
      -> WalkEntry?
    {
      guard !finished else { return nil }
      do throws(IOError) {
        if Task.isCancelled {
          throw IOError(.cancelled, operation: .offloaded, path: levels.last?.path ?? root)
        }
        if !started {
          started = true
          let status = try await fileSystem.status(of: root)
          return try await visit(
            root, type: status.type, depth: 0, status: status, isolation: actor)
        }
        while let level = levels.last {
          var child = level.first
          if child == nil {
            do throws(IOError) {
              child = try await levels[levels.count - 1].entries.next(isolation: actor)
              statistics.record(levels)
            } catch  where error.kind != .cancelled && options.onUnreadableDirectory != .fail {
              // Listing failed after the directory opened: that directory
              // ends (its stream is closed); `report` says so.
              popLevel()
              guard options.onUnreadableDirectory == .report else { continue }
              return WalkEntry(
                path: level.path, type: .directory, depth: level.depth,
                inode: level.identity?.inode ?? 0, problem: .unreadable(error))
            }
          } else {
            levels[levels.count - 1].first = nil
          }
          guard let child else {
            popLevel()
            continue
          }
          let path = level.path.appending(child.name)
          let type = options.ignoresDirectoryEntryTypes ? .unknown : child.type
          var entry = try await visit(
            path, type: type, depth: level.depth + 1, status: nil, isolation: actor)
          if entry.inode == 0 { entry.inode = child.inode }
          return entry
        }
        finished = true
        return nil
      } catch {
        end()
        throw error
      }
    }

    public mutating func next() async throws(IOError) -> WalkEntry? {
      try await next(isolation: nil)
    }

    /// The entry for `path`, after resolving its type; opens it (and reads
    /// its first entry) if the walk descends into it, so that an unreadable
    /// directory's own entry carries the failure.
    private mutating func visit(
      _ path: FilePath, type: FileType, depth: Int, status known: FileStatus?,
      isolation actor: isolated (any Actor)?
    ) async throws(IOError) -> WalkEntry {
      var type = type
      var status = known
      if type == .unknown {
        let resolved = try await fileSystem.status(of: path, followSymbolicLinks: false)
        type = resolved.type
        status = resolved
      }
      if type == .symbolicLink, options.followSymbolicLinks {
        if let target = try await Self.targetStatus(of: path, on: fileSystem) {
          type = target.type
          status = target
        }
      } else if type == .directory, options.followSymbolicLinks, status == nil {
        status = try await fileSystem.status(of: path, followSymbolicLinks: false)
      }
      var entry = WalkEntry(path: path, type: type, depth: depth, inode: status?.inode ?? 0)
      guard type == .directory, depth < options.maxDepth ?? Int.max else { return entry }
      let identity = options.followSymbolicLinks ? status.map(FileIdentity.init) : nil
      if let identity, levels.contains(where: { $0.identity == identity }) {
        entry.problem = .symbolicLinkLoop
        return entry
      }
      var level = Level(
        path: path, depth: depth,
        entries: fileSystem.entries(of: path, batchSize: options.batchSize).makeAsyncIterator(),
        identity: identity)
      do throws(IOError) {
        level.first = try await level.entries.next(isolation: actor)
      } catch  where error.kind != .cancelled {
        switch options.onUnreadableDirectory {
        case .report: entry.problem = .unreadable(error)
        case .fail: throw error
        case .skip: break
        }
        return entry
      }
      levels.append(level)
      openDirectories.push(level.entries.stream)
      statistics.record(levels)
      return entry
    }

    /// The status of what the link `path` names, or `nil` if it names
    /// nothing (a dangling link stays a link).
    nonisolated(nonsending) private static func targetStatus(
      of path: FilePath, on fileSystem: FileSystem
    ) async throws(IOError) -> FileStatus? {
      do throws(IOError) {
        return try await fileSystem.status(of: path, followSymbolicLinks: true)
      } catch  where error.kind != .cancelled {
        return nil
      }
    }

    private mutating func popLevel() {
      levels.removeLast()
      openDirectories.pop()
    }

    /// Closes every open directory and ends the walk.
    private mutating func end() {
      for level in levels {
        level.entries.stream.close()
        openDirectories.pop()
      }
      levels.removeAll()
      finished = true
    }
  }
}

/// The directory streams a walk holds, closed when the last copy of its
/// iterator goes (a `break` out of the loop): explicitly, because a pool job
/// that read a batch may still hold a stream for a moment after its caller
/// resumed.
final class OpenDirectories: Sendable {
  private let streams = Locked<[DirectoryStream]>([])

  func push(_ stream: DirectoryStream) {
    streams.withLock { $0.append(stream) }
  }

  func pop() {
    streams.withLock { _ = $0.popLast() }
  }

  deinit {
    for stream in streams.withLock({ $0 }) { stream.close() }
  }
}

/// A directory's identity for loop detection: its device and inode.
struct FileIdentity: Hashable, Sendable {
  var device: DeviceNumber
  var inode: UInt64

  init(_ status: FileStatus) {
    device = status.device
    inode = status.inode
  }
}

/// The largest number of directories a walk held open, and of entries it
/// held in memory, at once: the bound ``DirectoryWalk`` documents.
struct WalkStatistics: Sendable, Hashable {
  var openDirectories = 0
  var bufferedEntries = 0

  mutating func record(_ levels: [DirectoryWalk.Iterator.Level]) {
    var open = 0
    var buffered = 0
    for level in levels {
      if level.entries.started && !level.entries.finished { open += 1 }
      buffered += level.entries.batch.count - level.entries.index + (level.first == nil ? 0 : 1)
    }
    openDirectories = max(openDirectories, open)
    bufferedEntries = max(bufferedEntries, buffered)
  }
}
