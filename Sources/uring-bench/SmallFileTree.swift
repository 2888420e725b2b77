import CBaselines
import Glibc
import SystemPackage

/// The tree `file-small-20k` reads: `directories` directories of
/// `perDirectory` files of 1-16 KiB (sizes from a fixed seed), created once
/// on the disk (`$TMPDIR`, or `/var/tmp` if that is a tmpfs, as
/// ``BenchFile``) and kept; a `.complete` marker says it was finished.
final class SmallFileTree: Sendable {
  /// The largest file.
  static let largest = 16 * 1024

  let root: String
  let paths: [FilePath]
  let sizes: [Int]
  var count: Int { paths.count }

  private static let full = Result { () throws(BenchError) -> SmallFileTree in
    try SmallFileTree(directories: 100, perDirectory: 200)
  }
  private static let quick = Result { () throws(BenchError) -> SmallFileTree in
    try SmallFileTree(directories: 20, perDirectory: 100)
  }

  /// The 20,000-file tree, or the 2,000-file one (`--quick`).
  static func shared(quick: Bool) throws(BenchError) -> SmallFileTree {
    try quick ? Self.quick.get() : full.get()
  }

  private init(directories: Int, perDirectory: Int) throws(BenchError) {
    // SAFETY: getenv's string is read at once; cb_is_tmpfs copies nothing.
    let base = unsafe getenv("TMPDIR").map { unsafe String(cString: $0) } ?? "/var/tmp"
    let disk = unsafe cb_is_tmpfs(base) == 1 ? "/var/tmp" : base
    root = "\(disk)/uring-bench-small-\(directories * perDirectory)"
    var random = BenchFile.Random(lane: 17)
    var paths: [FilePath] = []
    var sizes: [Int] = []
    for directory in 0..<directories {
      for file in 0..<perDirectory {
        paths.append(FilePath("\(root)/d\(directory)/f\(file)"))
        sizes.append(1024 + Int(random.next() % UInt64(Self.largest - 1024 + 1)))
      }
    }
    self.paths = paths
    self.sizes = sizes
    // SAFETY: C calls on Swift strings, valid for the call.
    if unsafe access("\(root)/.complete", F_OK) != 0 {
      try create(directories: directories)
    }
  }

  private func create(directories: Int) throws(BenchError) {
    Log.progress("[setup] writing \(count) small files under \(root) (once) ... ")
    // SAFETY: C calls on Swift strings and arrays, valid for each call.
    unsafe mkdir(root, 0o755)
    for directory in 0..<directories { unsafe mkdir("\(root)/d\(directory)", 0o755) }
    let bytes = [UInt8](repeating: 0x5A, count: Self.largest)
    for (path, size) in zip(paths, sizes) {
      let fd = unsafe open(path.string, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard fd >= 0 else { throw BenchError("cannot create \(path): \(errno)") }
      let written = unsafe bytes.withUnsafeBytes { unsafe write(fd, $0.baseAddress, size) }
      close(fd)
      guard written == size else { throw BenchError("cannot write \(path): \(errno)") }
    }
    let marker = unsafe open("\(root)/.complete", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    guard marker >= 0 else { throw BenchError("cannot create \(root)/.complete: \(errno)") }
    close(marker)
    Log.progress("done\n")
  }

  /// Reads every file once, untimed, so the page cache holds them all.
  func warm() {
    for index in paths.indices { try? blockingRead(index) }
  }

  /// Opens, reads whole (one read of up to `largest + 1` bytes, as the
  /// reactor does) and closes file `index`, with blocking system calls.
  func blockingRead(_ index: Int) throws(BenchError) {
    let path = paths[index]
    // SAFETY: the C string lives for the call; the buffer until the defer.
    let fd = unsafe path.withPlatformString { unsafe open($0, O_RDONLY | O_CLOEXEC) }
    guard fd >= 0 else { throw BenchError("cannot open \(path): \(errno)") }
    defer { close(fd) }
    // A buffer per file, as the reactor's (a tool keeps what it read).
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.largest + 1, alignment: 16)
    defer { unsafe buffer.deallocate() }
    let count = unsafe read(fd, buffer, Self.largest + 1)
    guard count == sizes[index] else {
      throw BenchError("\(path): read \(count) bytes, not \(sizes[index])")
    }
  }
}
