public import SystemPackage

/// One entry of a recursive directory walk (``FileSystem/walk(_:options:)``).
public struct WalkEntry: Sendable, Hashable {
  /// The entry's path: the walk's root with the names below it appended.
  public var path: FilePath
  /// Its type: the directory entry's `d_type`, or, where the file system
  /// does not record one (`DT_UNKNOWN`), the result of an `IORING_OP_STATX`.
  /// A symbolic link that the walk follows has its target's type (or
  /// ``FileType/symbolicLink`` when the target does not exist).
  public var type: FileType
  /// 0 for the root, 1 for its entries, and so on.
  public var depth: Int
  /// The inode number of the entry (of the link itself when not followed).
  public var inode: UInt64
  /// Why a directory was not descended into, if it was not for a reason
  /// the caller should know: it could not be read (only with
  /// ``WalkOptions/UnreadableDirectory/report``), or a followed symbolic
  /// link leads back to a directory on the current path.
  public var problem: WalkProblem?

  public init(
    path: FilePath, type: FileType, depth: Int, inode: UInt64, problem: WalkProblem? = nil
  ) {
    self.path = path
    self.type = type
    self.depth = depth
    self.inode = inode
    self.problem = problem
  }
}

/// Why a walk did not descend into a directory (``WalkEntry/problem``).
public enum WalkProblem: Sendable, Hashable {
  /// Opening or reading the directory failed with this error (the path,
  /// the failing system call and the errno).
  case unreadable(IOError)
  /// A followed symbolic link names a directory already on the current path
  /// (same device and inode): descending would never end.
  case symbolicLinkLoop
}

/// How ``FileSystem/walk(_:options:)`` walks.
public struct WalkOptions: Sendable, Hashable {
  /// What the walk does with a directory it cannot open or list.
  public enum UnreadableDirectory: Sendable, Hashable {
    /// Yield the directory's entry with ``WalkProblem/unreadable(_:)`` and
    /// go on with its siblings (the default, like `find` and `fts`).
    case report
    /// End the walk by throwing the error (every open directory is closed).
    case fail
    /// Yield the directory's entry as if it were empty and go on.
    case skip
  }

  /// Follow symbolic links to directories and descend into them (default
  /// `false`: a link is yielded as ``FileType/symbolicLink`` and never
  /// followed). When on, each directory's (device, inode) is read with
  /// `IORING_OP_STATX`, and a link to a directory already on the current
  /// path is yielded with ``WalkProblem/symbolicLinkLoop``, not descended.
  /// The root is always followed (like `find -H`).
  public var followSymbolicLinks: Bool
  /// See ``UnreadableDirectory``; default ``UnreadableDirectory/report``.
  public var onUnreadableDirectory: UnreadableDirectory
  /// The deepest entries yielded (`nil`: no limit; 0: only the root).
  /// Directories at this depth are yielded, not opened.
  public var maxDepth: Int?
  /// Entries read from a directory per job on the offload pool (at least 1).
  /// The walk buffers at most this many entries per open directory.
  public var batchSize: Int
  /// Tests only: treat every `d_type` as `DT_UNKNOWN` (forces the statx
  /// fallback, which file systems recording `d_type` never exercise).
  var ignoresDirectoryEntryTypes = false

  public init(
    followSymbolicLinks: Bool = false,
    onUnreadableDirectory: UnreadableDirectory = .report,
    maxDepth: Int? = nil,
    batchSize: Int = 64
  ) {
    self.followSymbolicLinks = followSymbolicLinks
    self.onUnreadableDirectory = onUnreadableDirectory
    self.maxDepth = maxDepth
    self.batchSize = max(1, batchSize)
  }
}
