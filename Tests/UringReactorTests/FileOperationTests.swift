import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct FileOperationTests {
  @Test func readAllAndWriteAllRoundTripAndStopAtTheEnd() async throws {
    let scratch = try ScratchDirectory("readall")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file = try await File.open(
        scratch.path("data"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      let payload = patternBytes(3 << 20 + 123, seed: 1)
      try await file.writeAll(from: SharedBuffer(payload), at: 0)
      // A buffer larger than the file: readAll stops at the end (short).
      let big = SharedBuffer(capacity: 4 << 20)
      #expect(try await file.readAll(into: big, at: 0) == payload.count)
      #expect(try big.bytes() == payload)
      // From an offset, into an owned buffer.
      let owned = await file.readAll(into: OwnedBuffer(capacity: 1 << 20), at: 1000)
      #expect(owned.bytesTransferred == 1 << 20)
      #expect(owned.buffer.bytes == Array(payload[1000..<(1000 + 1 << 20)]))
      let written = await file.writeAll(from: OwnedBuffer([9, 9, 9]), at: 10)
      #expect(written.bytesTransferred == 3)
      #expect(
        try await file.readToEnd(from: 8, chunkSize: 4096).prefix(6) == [
          payload[8], payload[9], 9, 9, 9, payload[13],
        ])
      #expect(try await file.readToEnd().count == payload.count)
      await #expect(throws: IOError.self) { try await file.readToEnd(limit: 1000) }
      // At the file position: two appends, then read from the start.
      let positioned = try await File.open(
        scratch.path("positioned"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      try await positioned.writeAll(contentsOf: [1, 2, 3])
      try await positioned.writeAll(contentsOf: [4, 5])
      #expect(try readFileBlocking(scratch.path("positioned")) == [1, 2, 3, 4, 5])
      try await positioned.close()
      try await file.close()
    }
  }

  /// A pipe holds 64 KiB: reading 200 KiB that a thread writes in one go
  /// takes several short reads, which `readAll` loops over.
  @Test func readAllLoopsOverShortReadsFromAPipe() async throws {
    try await withReactor { reactor in
      let fds = try FileDescriptor.pipe()
      let payload = patternBytes(200 << 10, seed: 2)
      let writer = Thread.start {
        _ = try? fds.writeEnd.writeAll(payload)
        try? fds.writeEnd.close()
      }
      let file = File(adopting: fds.readEnd, on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      let buffer = SharedBuffer(capacity: 256 << 10)
      #expect(try await file.readAll(into: buffer) == payload.count)
      #expect(try buffer.bytes() == payload)
      #expect(recorder.completedCount(.read) >= 4)
      writer.join()
    }
  }

  @Test func zeroLengthReadsAndWrites() async throws {
    let scratch = try ScratchDirectory("zero")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file = try await File.open(
        scratch.path("f"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      try await file.writeAll(contentsOf: [1, 2, 3], at: 0)
      let empty = SharedBuffer(capacity: 0)
      #expect(try await file.read(into: empty, at: 0) == 0)
      #expect(try await file.write(from: empty, at: 0) == 0)
      #expect(try await file.readAll(into: empty, at: 0) == 0)
      try await file.writeAll(from: empty, at: 0)
      let owned = await file.read(into: OwnedBuffer(capacity: 0), at: 0)
      #expect(owned.bytesTransferred == 0)
      #expect(try await file.status().size == 3)
      try await file.close()
    }
  }

  @Test func shortReadAtTheEndAndReadsPastIt() async throws {
    let scratch = try ScratchDirectory("eof")
    defer { scratch.remove() }
    let payload = patternBytes(10_000, seed: 3)
    try writeFileBlocking(scratch.path("f"), payload)
    try await withReactor { reactor in
      let file = try await File.open(scratch.path("f"), .readOnly, on: reactor)
      let buffer = SharedBuffer(capacity: 4096)
      #expect(try await file.read(into: buffer, at: 8192) == 1808)
      #expect(try buffer.bytes() == Array(payload[8192...]))
      #expect(try await file.read(into: buffer, at: 10_000) == 0)
      #expect(try await file.read(into: buffer, at: 1 << 40) == 0)
      #expect(try await file.readAll(into: buffer, at: 9_000) == 1000)
      try await file.close()
    }
  }

  @Test func hugeOffsets() async throws {
    let scratch = try ScratchDirectory("huge")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file = try await File.open(
        scratch.path("f"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      let buffer = SharedBuffer([1, 2, 3, 4])
      // Past Int64.max an offset would be negative (and UInt64.max means
      // "the file position"): refused before submission.
      for offset in [UInt64.max, UInt64(Int64.max) + 1] {
        do {
          _ = try await file.read(into: buffer, at: offset)
          Issue.record("read at \(offset) was not refused")
        } catch let error as IOError {
          guard case .invalidRequest = error.kind else {
            Issue.record("unexpected \(error)")
            continue
          }
        }
      }
      await #expect(throws: IOError.self) { try await file.write(from: buffer, at: .max) }
      // Past the file system's largest file: EFBIG on write, nothing on read.
      do {
        _ = try await file.write(from: buffer, at: UInt64(Int64.max) - 1)
        Issue.record("a write at Int64.max - 1 succeeded")
      } catch let error as IOError {
        #expect(error.errno == .fileTooLarge || error.errno == .invalidArgument)
        #expect(error.operation == .write)
      }
      let reader = SharedBuffer(capacity: 16)
      #expect(try await file.read(into: reader, at: UInt64(Int64.max) - 16) == 0)
      try await file.close()
    }
  }

  @Test func directIOChecksAlignmentBeforeSubmitting() async throws {
    let scratch = try ScratchDirectory("direct")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file: File
      do {
        file = try await File.open(
          scratch.path("f"), .readWrite, options: [.create, .directIO],
          permissions: .ownerReadWrite, on: reactor)
      } catch let error as IOError where error.errno == .invalidArgument {
        print("skipping O_DIRECT test: \(scratch.root) refuses O_DIRECT (tmpfs?): \(error)")
        return
      }
      let alignment = try #require(file.directIO)
      #expect(alignment.offset >= 1 && alignment.memory >= 1)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      // Aligned: a page-aligned buffer of a multiple of the block size.
      let aligned = SharedBuffer(patternBytes(8192, seed: 4))
      #expect(try await file.write(from: aligned, at: 0) == 8192)
      let back = SharedBuffer(capacity: 8192)
      #expect(try await file.read(into: back, at: 0) == 8192)
      #expect(try back.bytes() == (try aligned.bytes()))
      let writesBefore = recorder.preparedCount(.write)
      // Misaligned length, then offset: refused with a clear reason, unsubmitted.
      for (buffer, offset) in [
        (SharedBuffer(patternBytes(100, seed: 5)), UInt64(0)), (aligned, 100),
      ] {
        do {
          _ = try await file.write(from: buffer, at: offset)
          Issue.record("a misaligned O_DIRECT write was submitted")
        } catch let error as IOError {
          guard case .invalidRequest(let reason) = error.kind else {
            Issue.record("unexpected \(error)")
            continue
          }
          #expect(reason.contains("O_DIRECT"))
          #expect(error.errno == .invalidArgument)
        }
      }
      #expect(recorder.preparedCount(.write) == writesBefore)
      // A misaligned address (checked the same way for every operation).
      let region = UnsafeMutableRawBufferPointer(
        start: aligned.unsafeRegion.baseAddress! + 1, count: 4096)
      #expect(DirectIOAlignment(memory: 512, offset: 512).violation(region, offset: 0) != nil)
      #expect(
        DirectIOAlignment(memory: 512, offset: 512).violation(
          UnsafeMutableRawBufferPointer(rebasing: aligned.unsafeRegion[..<4096]), offset: 4096)
          == nil)
      try await file.close()
    }
  }

  @Test func readingADirectoryIsEISDIR() async throws {
    let scratch = try ScratchDirectory("eisdir")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let directory = try await File.open(scratch.root, .readOnly, on: reactor)
      do {
        _ = try await directory.read(into: SharedBuffer(capacity: 16), at: 0)
        Issue.record("read a directory")
      } catch let error as IOError {
        #expect(error.kind == .system(.isDirectory))
        #expect(error.operation == .read)
        #expect(error.path == scratch.root)
      }
      #expect(try await directory.status().type == .directory)
      try await directory.close()
    }
  }

  @Test func closedAndInvalidDescriptors() async throws {
    let scratch = try ScratchDirectory("badf")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file = try await File.open(
        scratch.path("f"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      try await file.close()
      let buffer = SharedBuffer(capacity: 8)
      for attempt in 0..<4 {
        do {
          switch attempt {
          case 0: _ = try await file.readAll(into: buffer)
          case 1: try await file.sync()
          case 2: _ = try await file.status()
          default: try await file.truncate(to: 0)
          }
          Issue.record("operation \(attempt) on a closed file succeeded")
        } catch let error as IOError {
          #expect(error.kind == .system(.badFileDescriptor))
          #expect(error.path == scratch.path("f"))
        }
      }
      // A number that names no open descriptor: the kernel says EBADF.
      let bogus = File(adopting: FileDescriptor(rawValue: 100_000), on: reactor)
      await #expect(throws: IOError(.system(.badFileDescriptor), operation: .statx)) {
        try await bogus.status()
      }
      await #expect(throws: IOError(.system(.badFileDescriptor), operation: .read)) {
        try await bogus.read(into: buffer, at: 0)
      }
      _ = bogus.takeDescriptor()  // nothing to close
    }
  }

  @Test func aFileRemovedWhileOpenStaysUsable() async throws {
    let scratch = try ScratchDirectory("unlinked")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let path = scratch.path("f")
      let file = try await File.open(
        path, .readWrite, options: [.create], permissions: .ownerReadWrite, on: reactor)
      try await FileSystem(on: reactor).remove(at: path)
      #expect(access(path.string, F_OK) != 0)
      try await file.writeAll(contentsOf: [1, 2, 3, 4], at: 0)
      let buffer = SharedBuffer(capacity: 8)
      #expect(try await file.read(into: buffer, at: 0) == 4)
      let status = try await file.status()
      #expect(status.linkCount == 0)
      #expect(status.size == 4)
      try await file.close()
    }
  }

  /// `RLIMIT_FSIZE` with `SIGXFSZ` ignored: a write crossing the limit is
  /// short, the next one fails with `EFBIG`, like a full disk would.
  /// Process-wide for the test's duration (the suites run with --no-parallel).
  @Test(.ownsProcess) func fileSizeLimitFailsWithEFBIG() async throws {
    let scratch = try ScratchDirectory("efbig")
    defer { scratch.remove() }
    let previousHandler = signal(SIGXFSZ, SIG_IGN)
    var previous = rlimit()
    getrlimit(fileSizeLimitResource, &previous)
    var limited = previous
    limited.rlim_cur = 1 << 20
    guard setrlimit(fileSizeLimitResource, &limited) == 0 else {
      print("skipping EFBIG test: setrlimit(RLIMIT_FSIZE) refused: \(Errno(rawValue: errno))")
      return
    }
    defer {
      setrlimit(fileSizeLimitResource, &previous)
      signal(SIGXFSZ, previousHandler)
    }
    try await withReactor { reactor in
      let file = try await File.open(
        scratch.path("f"), .writeOnly, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      do {
        try await file.writeAll(from: SharedBuffer(patternBytes(3 << 19, seed: 6)), at: 0)
        Issue.record("wrote past RLIMIT_FSIZE")
      } catch let error as IOError {
        #expect(error.kind == .system(.fileTooLarge))
        #expect(error.operation == .write)
      }
      #expect(try await file.status().size == 1 << 20)
      await #expect(
        throws: IOError(.system(.fileTooLarge), operation: .fallocate, path: scratch.path("f"))
      ) {
        try await file.allocate(offset: 0, length: 2 << 20)
      }
      try await file.close()
    }
  }

  /// A real ENOSPC: a 64 KiB tmpfs, where the test may mount one (root);
  /// skipped visibly elsewhere.
  @Test func aFullFileSystemFailsWithENOSPC() async throws {
    let scratch = try ScratchDirectory("enospc")
    defer { scratch.remove() }
    let mountPoint = scratch.path("mnt")
    guard mkdir(mountPoint.string, 0o755) == 0,
      mount("tmpfs", mountPoint.string, "tmpfs", 0, "size=64k") == 0
    else {
      print("skipping ENOSPC test: cannot mount a small tmpfs: \(Errno(rawValue: errno))")
      return
    }
    defer { umount2(mountPoint.string, 2) }  // MNT_DETACH
    try await withReactor { reactor in
      let file = try await File.open(
        mountPoint.appending("f"), .writeOnly, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      do {
        try await file.writeAll(from: SharedBuffer(patternBytes(256 << 10, seed: 7)), at: 0)
        Issue.record("wrote 256 KiB into a 64 KiB file system")
      } catch let error as IOError {
        #expect(error.kind == .system(.noSpace))
        #expect(error.path == mountPoint.appending("f"))
      }
      try await file.close()
    }
  }

  @Test func syncAllocateTruncateAdvise() async throws {
    let scratch = try ScratchDirectory("meta")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let file = try await File.open(
        scratch.path("f"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      try await file.writeAll(contentsOf: patternBytes(10_000, seed: 8), at: 0)
      try await file.sync()
      try await file.dataSync()
      try await file.allocate(length: 1 << 20)
      #expect(try await file.status().size == 1 << 20)
      let before = try await file.status().allocatedBlocks
      try await file.allocate(offset: 1 << 20, length: 1 << 20, mode: .keepSize)
      let after = try await file.status()
      #expect(after.size == 1 << 20)
      #expect(after.allocatedBlocks > before)
      try await file.allocate(offset: 0, length: 4096, mode: [.punchHole, .keepSize])
      let zeros = SharedBuffer(capacity: 4096)
      #expect(try await file.readAll(into: zeros, at: 0) == 4096)
      #expect(try zeros.bytes().allSatisfy { $0 == 0 })
      // Truncation through the ring where the kernel has it, and through
      // the offload pool (the fallback for kernels before 6.9).
      try await file.truncate(to: 5000)
      #expect(try await file.status().size == 5000)
      let pool = OffloadPool(threadCount: 1, queueCapacity: 4)
      try await file.truncate(to: 1234, offload: pool, useRing: false)
      #expect(try await file.status().size == 1234)
      await pool.shutdown()
      for advice in [FileAdvice.sequential, .random, .willNeed, .dontNeed, .noReuse, .normal] {
        try await file.advise(advice)
      }
      try await file.close()
      // fsync and fadvise mean nothing on a pipe.
      let fds = try FileDescriptor.pipe()
      let pipe = File(adopting: fds.readEnd, on: reactor)
      defer { try? fds.writeEnd.close() }
      await #expect(throws: IOError(.system(.illegalSeek), operation: .fadvise)) {
        try await pipe.advise(.sequential)
      }
      try await pipe.close()
    }
  }

  @Test func statusReportsWhatStatSays() async throws {
    let scratch = try ScratchDirectory("status")
    defer { scratch.remove() }
    try writeFileBlocking(scratch.path("f"), patternBytes(12_345, seed: 9))
    chmod(scratch.path("f").string, 0o640)
    var expected = stat()
    #expect(stat(scratch.path("f").string, &expected) == 0)
    try await withReactor { reactor in
      let file = try await File.open(scratch.path("f"), .readOnly, on: reactor)
      let status = try await file.status()
      #expect(status.type == .regular)
      #expect(status.size == 12_345)
      #expect(status.permissions == FilePermissions(rawValue: 0o640))
      #expect(status.inode == UInt64(expected.st_ino))
      #expect(status.linkCount == UInt32(expected.st_nlink))
      #expect(status.userID == expected.st_uid)
      #expect(status.modified.seconds == Int64(expected.st_mtim.tv_sec))
      #expect(status.modified.nanoseconds == UInt32(expected.st_mtim.tv_nsec))
      #expect(try await FileSystem(on: reactor).status(of: scratch.path("f")) == status)
      try await file.close()
    }
  }

  @Test func spliceMovesBytesThroughAPipe() async throws {
    let scratch = try ScratchDirectory("splice")
    defer { scratch.remove() }
    let payload = patternBytes(40_000, seed: 10)
    try writeFileBlocking(scratch.path("in"), payload)
    try await withReactor { reactor in
      let input = try await File.open(scratch.path("in"), .readOnly, on: reactor)
      let output = try await File.open(
        scratch.path("out"), .writeOnly, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      let fds = try FileDescriptor.pipe()
      let pipeIn = File(adopting: fds.writeEnd, on: reactor)
      let pipeOut = File(adopting: fds.readEnd, on: reactor)
      var moved: UInt64 = 0
      while moved < UInt64(payload.count) {
        let count = try await input.splice(count: 16_384, from: moved, to: pipeIn)
        var drained = 0
        while drained < count {
          drained += try await pipeOut.splice(
            count: count - drained, to: output, at: moved + UInt64(drained))
        }
        moved += UInt64(count)
      }
      #expect(try readFileBlocking(scratch.path("out")) == payload)
      // Neither side a pipe: EINVAL.
      await #expect(
        throws: IOError(.system(.invalidArgument), operation: .splice, path: scratch.path("in"))
      ) {
        try await input.splice(count: 10, from: 0, to: output, at: 0)
      }
      for file in [input, output, pipeIn, pipeOut] { try await file.close() }
    }
  }

  @Test func openat2ResolveOptionsConfineThePath() async throws {
    let scratch = try ScratchDirectory("resolve")
    defer { scratch.remove() }
    try writeFileBlocking(scratch.path("outside"), [1])
    #expect(mkdir(scratch.path("jail").string, 0o755) == 0)
    try writeFileBlocking(scratch.path("jail/inside"), [2])
    #expect(symlink("../outside", scratch.path("jail/escape").string) == 0)
    try await withReactor { reactor in
      let jail = try await File.open(
        scratch.path("jail"), .readOnly, options: .directory, on: reactor)
      let inside = try await File.open(
        "inside", .readOnly, resolving: .beneath, relativeTo: jail, on: reactor)
      #expect(try await inside.readToEnd() == [2])
      try await inside.close()
      for (path, options, errno) in [
        ("../outside", ResolveOptions.beneath, Errno.improperLink),
        ("escape", .beneath, .improperLink),
        ("escape", .noSymbolicLinks, .tooManySymbolicLinkLevels),
      ] {
        do {
          _ = try await File.open(
            FilePath(path), .readOnly, resolving: options, relativeTo: jail, on: reactor)
          Issue.record("opened \(path) despite \(options)")
        } catch let error as IOError {
          #expect(error.kind == .system(errno))
          #expect(error.operation == .openat2)
        }
      }
      try await jail.close()
    }
  }

  @Test func registeredFilesSubmitThroughTheFixedTable() async throws {
    let scratch = try ScratchDirectory("fixed")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let table = try await RegisteredFileTable.register(capacity: 2, on: reactor)
      await #expect(throws: IOError.self) {
        _ = try await RegisteredFileTable.register(capacity: 2, on: reactor)
      }
      let file = try await File.open(
        scratch.path("f"), .readWrite, options: [.create], permissions: .ownerReadWrite,
        on: reactor)
      var fixed: RegisteredFile? = try await table.insert(file)
      #expect(table.count == 1)
      #expect(try await fixed!.write(from: SharedBuffer([5, 6, 7]), at: 0) == 3)
      // Closing the descriptor does not remove the kernel's reference in the
      // table: reads through the slot still work (a plain fd read would fail).
      try await file.close()
      let buffer = SharedBuffer(capacity: 8)
      #expect(try await fixed!.read(into: buffer, at: 0) == 3)
      #expect(try buffer.bytes() == [5, 6, 7])
      await #expect(throws: IOError.self) { try await file.read(into: buffer, at: 0) }
      // Unregistering is refused while a registered file lives.
      await #expect(throws: IOError.self) { try await table.unregister() }
      fixed = nil
      var spins = 0
      while table.count > 0, spins < 1000 {
        try await reactor.nop()
        spins += 1
      }
      #expect(table.count == 0)
      try await table.unregister()
      _ = fixed
    }
  }
}

// MARK: - Helpers shared by the file tests

/// A fresh directory on the root file system (`/var/tmp`, which supports
/// `O_DIRECT`, unlike a tmpfs `/tmp`), removed with blocking calls.
struct ScratchDirectory {
  let root: FilePath
  private static let counter = Locked(0)

  init(_ name: String) throws {
    let number = Self.counter.withLock { counter in
      counter += 1
      return counter
    }
    root = FilePath("/var/tmp/uring-files-\(getpid())-\(name)-\(number)")
    removeTreeBlocking(root)
    guard mkdir(root.string, 0o755) == 0 else { throw Errno(rawValue: errno) }
  }

  func path(_ name: String) -> FilePath { root.appending(name) }

  func remove() { removeTreeBlocking(root) }
}

/// `rm -rf`, blocking (test set-up and clean-up only).
func removeTreeBlocking(_ path: FilePath) {
  var info = stat()
  guard lstat(path.string, &info) == 0 else { return }
  if info.st_mode & S_IFMT == S_IFDIR, let directory = opendir(path.string) {
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafePointer(to: &entry.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name != "." && name != ".." { names.append(name) }
    }
    closedir(directory)
    for name in names { removeTreeBlocking(path.appending(name)) }
    rmdir(path.string)
  } else {
    unlink(path.string)
  }
}

func writeFileBlocking(_ path: FilePath, _ bytes: [UInt8]) throws {
  let fd = try FileDescriptor.open(
    path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
  defer { try? fd.close() }
  _ = try fd.writeAll(bytes)
}

func readFileBlocking(_ path: FilePath) throws -> [UInt8] {
  let fd = try FileDescriptor.open(path, .readOnly)
  defer { try? fd.close() }
  var result: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while true {
    let count = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
    if count == 0 { return result }
    result += chunk[..<count]
  }
}

/// Deterministic pseudo-random bytes (SplitMix64).
func patternBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var generator = SeededGenerator(seed: seed)
  var bytes = [UInt8](repeating: 0, count: count)
  var index = 0
  while index < count {
    var word = generator.next()
    for _ in 0..<8 where index < count {
      bytes[index] = UInt8(truncatingIfNeeded: word)
      word >>= 8
      index += 1
    }
  }
  return bytes
}

/// SplitMix64: a seeded generator, so every failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A joinable thread for blocking test work (a pipe's other end).
struct Thread {
  private let thread: LoopThread
  static func start(_ body: @escaping @Sendable () -> Void) -> Thread {
    Thread(thread: LoopThread.spawn(name: "test-helper", body))
  }
  func join() { thread.join() }
}

/// `RLIMIT_FSIZE` as SwiftGlibc imports it.
let fileSizeLimitResource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
