import Glibc
import SystemPackage

/// What a plain-syscall walk sees of one entry of a tree.
struct ReferenceEntry: Hashable, CustomStringConvertible {
  /// The path below the root ("" for the root).
  var relative: String
  var isDirectory: Bool
  var isLink: Bool
  var depth: Int
  var description: String { "\(relative)@\(depth)\(isDirectory ? "/" : isLink ? "@" : "")" }
}

/// The tree under `root` walked with `opendir`/`readdir`/`lstat`, links not
/// followed, down to `maxDepth`.
func referenceWalk(_ root: FilePath, maxDepth: Int = .max) -> Set<ReferenceEntry> {
  var result: Set<ReferenceEntry> = []
  func visit(_ relative: String, depth: Int) {
    let path = relative.isEmpty ? root.string : root.string + "/" + relative
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    let isDirectory = info.st_mode & S_IFMT == S_IFDIR
    result.insert(
      ReferenceEntry(
        relative: relative, isDirectory: isDirectory, isLink: info.st_mode & S_IFMT == S_IFLNK,
        depth: depth))
    guard isDirectory, depth < maxDepth else { return }
    for name in directoryNamesBlocking(FilePath(path)) {
      visit(relative.isEmpty ? name : relative + "/" + name, depth: depth + 1)
    }
  }
  visit("", depth: 0)
  return result
}

/// The names in a directory (not `.` and `..`), with `opendir`/`readdir`.
func directoryNamesBlocking(_ path: FilePath) -> [String] {
  guard let directory = opendir(path.string) else { return [] }
  defer { closedir(directory) }
  var names: [String] = []
  while let entry = readdir(directory) {
    let name = withUnsafePointer(to: &entry.pointee.d_name) {
      $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
    }
    if name != "." && name != ".." { names.append(name) }
  }
  return names
}

/// `path` relative to `root` ("" for the root itself).
func relativePath(_ path: FilePath, to root: FilePath) -> String {
  var relative = FilePath()
  relative.append(path.components.dropFirst(root.components.count))
  return relative.string
}

/// A random tree under `root`: directories down to `depth`, regular files of
/// random sizes (0, 1, a few KiB, sometimes above 1 MiB when `largeFiles`),
/// with random modes, and symbolic links (to files, to directories,
/// dangling). Deterministic for a seed.
func makeRandomTree(
  _ root: FilePath, depth: Int, generator: inout SeededGenerator, largeFiles: Bool = false
) throws {
  let modes: [CModeT] = [0o644, 0o600, 0o755, 0o640, 0o444]
  let count = Int.random(in: 2...6, using: &generator)
  for index in 0..<count {
    let path = root.appending("e\(index)")
    switch Int.random(in: 0..<10, using: &generator) {
    case 0..<3 where depth > 0:
      guard mkdir(path.string, 0o755) == 0 else { throw Errno(rawValue: errno) }
      try makeRandomTree(path, depth: depth - 1, generator: &generator, largeFiles: largeFiles)
      if Bool.random(using: &generator) { chmod(path.string, 0o750) }
    case 0..<7:
      let sizes = [0, 1, 4_097, Int.random(in: 2...70_000, using: &generator)]
      var size = sizes.randomElement(using: &generator)!
      if largeFiles, Int.random(in: 0..<6, using: &generator) == 0 {
        size = (1 << 20) + Int.random(in: 1...300_000, using: &generator)
      }
      let bytes = patternBytes(size, seed: generator.next())
      try writeFileBlocking(path, bytes)
      chmod(path.string, modes.randomElement(using: &generator)!)
    case 7:
      symlink("e0", path.string)  // a sibling, whatever it is
    case 8:
      symlink("../missing-\(index)", path.string)  // dangling
    default:
      symlink(".", path.string)  // its own directory: a loop when followed
    }
  }
}

extension ScratchDirectory {
  /// A fresh directory under `parent` if it is writable (e.g. the tmpfs
  /// `/dev/shm`, for trees of many files), else under `/var/tmp`.
  init(_ name: String, in parent: String) throws {
    let base = access(parent, W_OK) == 0 ? parent : "/var/tmp"
    root = FilePath("\(base)/uring-files-\(getpid())-\(name)")
    removeTreeBlocking(root)
    guard mkdir(root.string, 0o755) == 0 else { throw Errno(rawValue: errno) }
  }
}
