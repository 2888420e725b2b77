import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// ``FileSystem/walk(_:options:)`` against a walk with plain system calls.
@Suite(.requiresUring, .sharesProcess)
struct WalkTests {
  /// Every entry the reference sees, with its type and depth; each parent
  /// before its children; the same with the statx fallback for `d_type`.
  @Test(arguments: [UInt64(1), 2, 3])
  func walkMatchesAReferenceWalkOnARandomTree(seed: UInt64) async throws {
    let scratch = try ScratchDirectory("walk-random")
    defer { scratch.remove() }
    var generator = SeededGenerator(seed: seed)
    try makeRandomTree(scratch.root, depth: 4, generator: &generator)
    let expected = referenceWalk(scratch.root)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      for ignoresTypes in [false, true] {
        var options = WalkOptions(batchSize: 3)
        options.ignoresDirectoryEntryTypes = ignoresTypes
        let statxBefore = recorder.completedCount(.statx)
        var seen: Set<String> = []
        var walked: Set<ReferenceEntry> = []
        for try await entry in fs.walk(scratch.root, options: options) {
          let relative = relativePath(entry.path, to: scratch.root)
          if entry.depth > 0 {
            let parent = relativePath(entry.path.removingLastComponent(), to: scratch.root)
            #expect(seen.contains(parent), "\(relative) before its directory")
          }
          #expect(entry.problem == nil)
          seen.insert(relative)
          walked.insert(
            ReferenceEntry(
              relative: relative, isDirectory: entry.type == .directory,
              isLink: entry.type == .symbolicLink, depth: entry.depth))
        }
        #expect(walked == expected)
        // The root's statx, plus one per entry only when d_type is ignored.
        let statx = recorder.completedCount(.statx) - statxBefore
        #expect(statx == (ignoresTypes ? expected.count : 1))
      }
      var limited: Set<ReferenceEntry> = []
      for try await entry in fs.walk(scratch.root, options: WalkOptions(maxDepth: 2)) {
        limited.insert(
          ReferenceEntry(
            relative: relativePath(entry.path, to: scratch.root),
            isDirectory: entry.type == .directory, isLink: entry.type == .symbolicLink,
            depth: entry.depth))
      }
      #expect(limited == referenceWalk(scratch.root, maxDepth: 2))
    }
  }

  /// Links that lead back up: never followed by default; followed, each loop
  /// is reported once and not descended, and the walk ends.
  @Test func symbolicLinkLoops() async throws {
    let scratch = try ScratchDirectory("walk-loops")
    defer { scratch.remove() }
    for directory in ["a", "a/b", "x", "y"] {
      #expect(mkdir(scratch.path(directory).string, 0o755) == 0)
    }
    try writeFileBlocking(scratch.path("y/file"), [1])
    symlink("../..", scratch.path("a/b/up").string)  // the root
    symlink(".", scratch.path("a/self").string)  // a itself
    symlink("../y", scratch.path("x/l1").string)  // y, then back to x
    symlink("../x", scratch.path("y/l2").string)  // x, then back to y
    symlink("nowhere", scratch.path("dangling").string)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      var plain: Set<ReferenceEntry> = []
      for try await entry in fs.walk(scratch.root) {
        plain.insert(
          ReferenceEntry(
            relative: relativePath(entry.path, to: scratch.root),
            isDirectory: entry.type == .directory, isLink: entry.type == .symbolicLink,
            depth: entry.depth))
        #expect(entry.problem == nil)
      }
      #expect(plain == referenceWalk(scratch.root))

      var loops: Set<String> = []
      var all: [String: UringReactor.FileType] = [:]
      for try await entry in fs.walk(scratch.root, options: WalkOptions(followSymbolicLinks: true))
      {
        let relative = relativePath(entry.path, to: scratch.root)
        #expect(all[relative] == nil, "\(relative) twice")
        all[relative] = entry.type
        if entry.problem == .symbolicLinkLoop { loops.insert(relative) }
      }
      #expect(loops == ["a/b/up", "a/self", "x/l1/l2", "y/l2/l1"])
      #expect(all["x/l1/file"] == .regular)
      #expect(all["y/l2"] == .directory)
      #expect(all["dangling"] == .symbolicLink)
    }
  }

  /// A directory replaced by a file after its parent was listed (what an
  /// unreadable directory looks like even to root): reported, thrown or
  /// skipped as asked, with its path and errno.
  @Test(arguments: [WalkOptions.UnreadableDirectory.report, .fail, .skip])
  func directoryReplacedMidWalk(policy: WalkOptions.UnreadableDirectory) async throws {
    let scratch = try ScratchDirectory("walk-replaced")
    defer { scratch.remove() }
    for directory in ["a", "b"] {
      #expect(mkdir(scratch.path(directory).string, 0o755) == 0)
      try writeFileBlocking(scratch.path("\(directory)/inside"), [1])
    }
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      var replaced: FilePath?
      var entries: [String: WalkEntry] = [:]
      var thrown: IOError?
      do {
        for try await entry in fs.walk(
          scratch.root, options: WalkOptions(onUnreadableDirectory: policy))
        {
          entries[relativePath(entry.path, to: scratch.root)] = entry
          if entry.depth == 1, replaced == nil {
            // The root was listed in one batch: the other name is already
            // buffered as a directory. Replace it by a file.
            let other = entry.path.lastComponent!.string == "a" ? "b" : "a"
            let path = scratch.path(other)
            removeTreeBlocking(path)
            try writeFileBlocking(path, [2])
            replaced = path
          }
        }
      } catch let error as IOError {
        thrown = error
      }
      let path = try #require(replaced)
      let name = path.lastComponent!.string
      let failure = IOError(
        .system(.notDirectory), operation: .offloaded, path: path, systemCall: "openat")
      switch policy {
      case .report:
        #expect(entries[name]?.problem == .unreadable(failure))
        #expect(thrown == nil)
      case .fail:
        #expect(thrown == failure)
      case .skip:
        #expect(entries[name] != nil && entries[name]?.problem == nil)
        #expect(thrown == nil)
      }
      #expect(entries["\(name)/inside"] == nil)
    }
  }

  /// chmod 000 blocks listing only for users other than root (CI runs as
  /// root, where this test is skipped and the test above covers the case).
  @Test(.enabled(if: getuid() != 0, "root lists a directory whatever its mode"))
  func directoryWithoutPermission() async throws {
    let scratch = try ScratchDirectory("walk-chmod")
    defer {
      chmod(scratch.path("locked").string, 0o755)
      scratch.remove()
    }
    #expect(mkdir(scratch.path("locked").string, 0o000) == 0)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      var problem: WalkProblem?
      for try await entry in fs.walk(scratch.root) where entry.depth == 1 {
        problem = entry.problem
      }
      #expect(
        problem
          == .unreadable(
            IOError(
              .system(.permissionDenied), operation: .offloaded, path: scratch.path("locked"),
              systemCall: "openat")))
    }
  }

  /// 100,000 files in 1,010 directories: at most one open directory per
  /// level (3 here) and `batchSize` buffered entries per open directory.
  /// Made in memory (`/dev/shm`) where there is one: creating and removing
  /// 100,000 files on this machine's shared disk takes minutes. Under the
  /// sanitizers (their options set, as scripts/test.sh and CI always do) the
  /// tree has 10,000 files: the debug build's path checks make a walk cost
  /// ~1 ms an entry there, and the bound checked is the same.
  @Test func hundredThousandEntriesInBoundedMemory() async throws {
    let sanitized = getenv("TSAN_OPTIONS") != nil || getenv("ASAN_OPTIONS") != nil
    let filesPerDirectory = sanitized ? 10 : 100
    let scratch = try ScratchDirectory("walk-100k", in: "/dev/shm")
    defer { scratch.remove() }
    for top in 0..<10 {
      #expect(mkdir(scratch.path("d\(top)").string, 0o755) == 0)
      for middle in 0..<100 {
        let directory = scratch.path("d\(top)/m\(middle)")
        #expect(mkdir(directory.string, 0o755) == 0)
        for file in 0..<filesPerDirectory {
          let fd = open(directory.appending("f\(file)").string, O_CREAT | O_WRONLY, 0o644)
          #expect(fd >= 0)
          close(fd)
        }
      }
    }
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let batchSize = 64
      var iterator = fs.walk(scratch.root, options: WalkOptions(batchSize: batchSize))
        .makeAsyncIterator()
      var count = 0
      var deepest = 0
      while let entry = try await iterator.next() {
        count += 1
        deepest = max(deepest, entry.depth)
      }
      #expect(count == 1 + 10 + 1_000 + 1_000 * filesPerDirectory)
      #expect(deepest == 3)
      // Directories are levels 0-2: three open at most, each buffering at
      // most one batch.
      #expect(iterator.statistics.openDirectories <= 3)
      #expect(iterator.statistics.bufferedEntries <= 3 * batchSize)
      #expect(iterator.statistics.bufferedEntries >= batchSize - 1)
    }
  }
}

/// Walks that end early close every directory they opened.
@Suite(.requiresUring, .ownsProcess)
struct WalkDescriptorTests {
  @Test func cancellationMidwayClosesEveryDirectory() async throws {
    let scratch = try ScratchDirectory("walk-cancel")
    defer { scratch.remove() }
    var generator = SeededGenerator(seed: 9)
    var path = scratch.root
    for level in 0..<5 {  // a chain five deep, each level with a few files
      path.append("level\(level)")
      #expect(mkdir(path.string, 0o755) == 0)
      for file in 0..<20 { try writeFileBlocking(path.appending("f\(file)"), [UInt8(file)]) }
    }
    try makeRandomTree(path, depth: 2, generator: &generator)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let before = openDescriptorCount()
      let outcome = await Task(executorPreference: reactor) { () async -> (Int, IOError?) in
        var count = 0
        do {
          for try await entry in fs.walk(scratch.root, options: WalkOptions(batchSize: 4)) {
            count += 1
            if entry.depth == 5 { withUnsafeCurrentTask { $0?.cancel() } }
          }
        } catch {
          return (count, error as? IOError)
        }
        return (count, nil)
      }.value
      #expect(outcome.1?.kind == .cancelled)
      #expect(outcome.0 >= 6)
      #expect(openDescriptorCount() == before)

      // Leaving the loop early (the iterator is dropped) closes them too.
      var seen = 0
      for try await entry in fs.walk(scratch.root, options: WalkOptions(batchSize: 4)) {
        seen += 1
        if entry.depth == 5 { break }
      }
      #expect(seen >= 6)
      #expect(openDescriptorCount() == before)
    }
  }
}
