import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// ``FileSystem/copyFile(from:to:options:)`` and
/// ``FileSystem/copyTree(from:to:options:)``, compared byte for byte and
/// mode for mode with the source, through both content paths.
@Suite(.requiresUring, .sharesProcess)
struct CopyTests {
  static let methods: [CopyOptions.Method] = [.readWrite, .splice, .automatic]

  /// Files of 0 bytes, 1 byte and more than 1 MiB, nested directories with
  /// their modes, symbolic links (to files, to directories, dangling)
  /// recreated, not followed.
  @Test(arguments: methods)
  func copyTreeOfRandomFiles(method: CopyOptions.Method) async throws {
    let scratch = try ScratchDirectory("copy-tree")
    defer { scratch.remove() }
    let source = scratch.path("source")
    #expect(mkdir(source.string, 0o755) == 0)
    var generator = SeededGenerator(seed: 17)
    try makeRandomTree(source, depth: 3, generator: &generator, largeFiles: true)
    try writeFileBlocking(source.appending("empty"), [])
    try writeFileBlocking(source.appending("one"), [42])
    try writeFileBlocking(
      source.appending("large"), patternBytes((3 << 20) + 5, seed: 3))
    #expect(mkdir(source.appending("locked").string, 0o755) == 0)
    try writeFileBlocking(source.appending("locked/inside"), [9])
    chmod(source.appending("locked").string, 0o555)  // filled before it is made read-only
    symlink("locked", source.appending("to-directory").string)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let destination = scratch.path("copy")
      try await fs.copyTree(
        from: source, to: destination, options: CopyOptions(method: method, concurrentFiles: 3))
      try expectSameTree(source, destination)
      #expect(sizeOf(destination.appending("large")) == (3 << 20) + 5)
    }
    chmod(scratch.path("copy/locked").string, 0o755)
  }

  /// A file larger than any internal buffer (chunks of 64 KiB, pipe and
  /// buffers alike), mode kept even where the umask would strip it.
  @Test(arguments: methods)
  func copyFileLargerThanAnyBuffer(method: CopyOptions.Method) async throws {
    let scratch = try ScratchDirectory("copy-file")
    defer { scratch.remove() }
    let bytes = patternBytes((5 << 20) + 123, seed: 5)
    try writeFileBlocking(scratch.path("in"), bytes)
    chmod(scratch.path("in").string, 0o666)  // a 022 umask would take 0o022 away
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let copied = try await fs.copyFile(
        from: scratch.path("in"), to: scratch.path("out"),
        options: CopyOptions(method: method, chunkSize: 65_536))
      #expect(copied == UInt64(bytes.count))
      #expect(try readFileBlocking(scratch.path("out")) == bytes)
      #expect(modeOf(scratch.path("out")) == 0o666)
    }
  }

  /// An existing destination fails with `EEXIST` naming it, and is left as
  /// it was; with `replaceExisting` a file is replaced and a link there is
  /// removed, never written through.
  @Test func existingDestination() async throws {
    let scratch = try ScratchDirectory("copy-existing")
    defer { scratch.remove() }
    try writeFileBlocking(scratch.path("in"), [1, 2, 3])
    try writeFileBlocking(scratch.path("out"), [9])
    try writeFileBlocking(scratch.path("victim"), [7])
    symlink("victim", scratch.path("link").string)
    #expect(mkdir(scratch.path("tree").string, 0o755) == 0)
    try writeFileBlocking(scratch.path("tree/f"), [4])
    #expect(mkdir(scratch.path("tree-copy").string, 0o700) == 0)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      await #expect(
        throws: IOError(.system(.fileExists), operation: .openat, path: scratch.path("out"))
      ) { try await fs.copyFile(from: scratch.path("in"), to: scratch.path("out")) }
      #expect(try readFileBlocking(scratch.path("out")) == [9])
      await #expect(
        throws: IOError(.system(.fileExists), operation: .mkdirat, path: scratch.path("tree-copy"))
      ) { try await fs.copyTree(from: scratch.path("tree"), to: scratch.path("tree-copy")) }

      let replace = CopyOptions(replaceExisting: true)
      try await fs.copyFile(from: scratch.path("in"), to: scratch.path("out"), options: replace)
      #expect(try readFileBlocking(scratch.path("out")) == [1, 2, 3])
      try await fs.copyFile(from: scratch.path("in"), to: scratch.path("link"), options: replace)
      #expect(try readFileBlocking(scratch.path("victim")) == [7])
      #expect(try readFileBlocking(scratch.path("link")) == [1, 2, 3])
      try await fs.copyTree(
        from: scratch.path("tree"), to: scratch.path("tree-copy"), options: replace)
      try expectSameTree(scratch.path("tree"), scratch.path("tree-copy"))
    }
  }

  /// Typed errors name the path: a directory is not copied as a file, a
  /// missing source is `ENOENT`.
  @Test func errorsNameThePath() async throws {
    let scratch = try ScratchDirectory("copy-errors")
    defer { scratch.remove() }
    #expect(mkdir(scratch.path("dir").string, 0o755) == 0)
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      do {
        try await fs.copyFile(from: scratch.path("dir"), to: scratch.path("x"))
        Issue.record("copied a directory as a file")
      } catch let error as IOError {
        #expect(error.path == scratch.path("dir"))
        #expect(error.errno == .invalidArgument)
      }
      await #expect(
        throws: IOError(
          .system(.noSuchFileOrDirectory), operation: .openat, path: scratch.path("missing"))
      ) { try await fs.copyFile(from: scratch.path("missing"), to: scratch.path("y")) }
      await #expect(
        throws: IOError(
          .system(.noSuchFileOrDirectory), operation: .statx, path: scratch.path("missing"))
      ) { try await fs.copyTree(from: scratch.path("missing"), to: scratch.path("z")) }
      #expect(access(scratch.path("x").string, F_OK) != 0)
    }
  }
}

/// The `uring-cp` example copies a tree with `-r` (through `copyTree`) and
/// refuses an existing destination.
@Suite(.requiresUring, .sharesProcess)
struct CopyExampleTests {
  @Test func uringCpCopiesATreeRecursively() throws {
    let path = try #require(
      BuiltExecutable.path("uring-cp"), Comment(rawValue: BuiltExecutable.notFound("uring-cp")))
    let scratch = try ScratchDirectory("uring-cp-tree")
    defer { scratch.remove() }
    let source = scratch.path("source")
    #expect(mkdir(source.string, 0o755) == 0)
    var generator = SeededGenerator(seed: 23)
    try makeRandomTree(source, depth: 2, generator: &generator, largeFiles: true)
    let destination = scratch.path("copy")
    let output = try ChildProcess.run(path, ["-r", source.string, destination.string])
    #expect(output.exitCode == 0, "wait status \(output.status)")
    try expectSameTree(source, destination)
    let again = try ChildProcess.run(
      path, ["-r", source.string, destination.string], silenceStandardError: true)
    #expect(again.exitCode == 1)
    let replaced = try ChildProcess.run(
      path, ["-r", "--replace", source.string, destination.string])
    #expect(replaced.exitCode == 0)
    try expectSameTree(source, destination)
  }
}

/// Checks that `copy` holds what `original` holds: the same entries, types,
/// permission bits, file bytes and link targets.
func expectSameTree(
  _ original: FilePath, _ copy: FilePath, sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let expected = referenceWalk(original)
  #expect(referenceWalk(copy) == expected, sourceLocation: sourceLocation)
  for entry in expected {
    let from = original.appending(entry.relative)
    let to = copy.appending(entry.relative)
    if entry.isLink {
      #expect(linkTarget(to) == linkTarget(from), "\(entry)", sourceLocation: sourceLocation)
      continue
    }
    #expect(modeOf(to) == modeOf(from), "\(entry)", sourceLocation: sourceLocation)
    if !entry.isDirectory {
      #expect(
        try readFileBlocking(to) == readFileBlocking(from), "\(entry)",
        sourceLocation: sourceLocation)
    }
  }
}

func modeOf(_ path: FilePath) -> CModeT {
  var info = stat()
  return lstat(path.string, &info) == 0 ? info.st_mode & 0o7777 : 0xFFFF
}

func sizeOf(_ path: FilePath) -> Int {
  var info = stat()
  return lstat(path.string, &info) == 0 ? Int(info.st_size) : -1
}

func linkTarget(_ path: FilePath) -> String? {
  var buffer = [UInt8](repeating: 0, count: 4_096)
  let count = readlink(path.string, &buffer, buffer.count)
  guard count >= 0 else { return nil }
  return String(decoding: buffer[..<count], as: UTF8.self)
}
