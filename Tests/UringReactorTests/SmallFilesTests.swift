import Glibc
import SystemPackage
import Testing

@testable import UringReactor

/// `FileSystem.readFiles`: per file an open into a direct slot, a linked
/// read on the fixed file and a hard-linked close, one submission for all;
/// compared with plain open/read/close.
@Suite(.requiresUring, .sharesProcess)
struct SmallFilesTests {
  /// A fresh directory under /tmp, removed by `cleanUp`.
  private struct Tree {
    let root: String

    init(_ name: String) {
      root = "/tmp/uring-reactor-test-\(getpid())-small-\(name)"
      mkdir(root, 0o755)
    }

    func write(_ name: String, _ bytes: [UInt8]) -> FilePath {
      let path = "\(root)/\(name)"
      let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      precondition(fd >= 0)
      bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
      close(fd)
      return FilePath(path)
    }

    func cleanUp() {
      _ = system("rm -rf '\(root)'")
    }
  }

  /// What plain system calls give for `path`: its bytes or the errno of the
  /// open, then of the read; `EFBIG` beyond `maximumSize`.
  private static func expected(_ path: FilePath, maximumSize: Int) -> Result<[UInt8], Errno> {
    let fd = open(path.string, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: maximumSize + 1)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count >= 0 else { return .failure(Errno(rawValue: errno)) }
    guard count <= maximumSize else { return .failure(.fileTooLarge) }
    return .success(Array(buffer[..<count]))
  }

  private static func check(
    _ results: [Result<SharedBuffer, IOError>], _ paths: [FilePath], maximumSize: Int
  ) throws {
    #expect(results.count == paths.count)
    for (path, result) in zip(paths, results) {
      switch (Self.expected(path, maximumSize: maximumSize), result) {
      case (.success(let bytes), .success(let buffer)):
        #expect(!buffer.isKernelWriting)
        #expect(try buffer.bytes() == bytes, "\(path)")
      case (.failure(let errno), .failure(let error)):
        #expect(error.errno == errno, "\(path): \(error)")
        #expect(error.path == path)
      case (let wanted, let got):
        Issue.record("\(path): expected \(wanted), got \(got)")
      }
    }
  }

  /// Taken direct slots and in-flight operations of the reactor's loop.
  private static func loopState(_ reactor: Reactor) async -> (slots: Int, inFlight: Int) {
    await reactor.onLoop { loop in
      let slots: Int
      if case .registered(let table) = loop.directSlots { slots = table.inUse } else { slots = -1 }
      return (slots, loop.table.count)
    }
  }

  /// Random sizes (0, exactly the maximum, one more, far more), missing
  /// files mid-batch, a directory, a path through a file, a symlink loop:
  /// each result equals what open/read/close give; failures stay their own.
  @Test func resultsEqualPlainSystemCalls() async throws {
    let tree = Tree("differential")
    defer { tree.cleanUp() }
    let maximumSize = 16_384
    var generator = SystemRandomNumberGenerator()
    var paths: [FilePath] = []
    for index in 0..<300 {
      let size: Int =
        switch index % 10 {
        case 0: 0
        case 1: maximumSize
        case 2: maximumSize + 1
        case 3: 100_000
        default: Int.random(in: 1...maximumSize, using: &generator)
        }
      let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
      paths.append(tree.write("f\(index)", bytes))
      if index % 37 == 5 { paths.append(FilePath("\(tree.root)/missing-\(index)")) }
    }
    mkdir("\(tree.root)/dir", 0o755)
    symlink("\(tree.root)/loop-a", "\(tree.root)/loop-b")
    symlink("\(tree.root)/loop-b", "\(tree.root)/loop-a")
    paths.insert(FilePath("\(tree.root)/dir"), at: 17)
    paths.insert(FilePath("\(tree.root)/f4/inside"), at: 40)
    paths.insert(FilePath("\(tree.root)/loop-a"), at: 90)
    paths.insert(FilePath("relative-missing-\(getpid())"), at: 120)
    let all = paths
    try await withReactor { reactor in
      let fileSystem = FileSystem(on: reactor)
      let results = await Task(executorPreference: reactor) {
        await fileSystem.readFiles(all, maximumSize: maximumSize)
      }.value
      try Self.check(results, all, maximumSize: maximumSize)
      #expect(results[17].failureErrno == .isDirectory)
      #expect(results[40].failureErrno == .notDirectory)
      #expect(results[90].failureErrno == .tooManySymbolicLinkLevels)
      // From a task on another thread: one hop for the batch.
      let again = await fileSystem.readFiles(Array(all.prefix(50)), maximumSize: maximumSize)
      try Self.check(again, Array(all.prefix(50)), maximumSize: maximumSize)
      let state = await Self.loopState(reactor)
      #expect(state.slots == 0)
    }
  }

  /// EACCES: an unreadable file fails alone. Root bypasses permission
  /// checks (CI runs as root), so there the case is skipped, visibly.
  @Test(.enabled(if: geteuid() != 0, "root bypasses permission checks"))
  func anUnreadableFileFailsAlone() async throws {
    let tree = Tree("access")
    defer { tree.cleanUp() }
    let readable = tree.write("readable", [1, 2, 3])
    let secret = tree.write("secret", [4, 5, 6])
    chmod(secret.string, 0)
    try await withReactor { reactor in
      let results = await FileSystem(on: reactor).readFiles([readable, secret, readable])
      #expect((try? results[0].get().bytes()) == [1, 2, 3])
      #expect(results[1].failureErrno == .permissionDenied)
      #expect((try? results[2].get().bytes()) == [1, 2, 3])
    }
  }

  /// A batch larger than the slot table, and several batches at once that
  /// together need more slots than there are: every file read, every slot
  /// back, no operation left in flight.
  @Test func batchesLargerThanTheSlotTable() async throws {
    let tree = Tree("large")
    defer { tree.cleanUp() }
    let paths = (0..<(DirectSlotTable.capacity * 2 + 77)).map { index in
      tree.write("f\(index)", Array(repeating: UInt8(index & 0xFF), count: index % 700))
    }
    try await withReactor { reactor in
      let fileSystem = FileSystem(on: reactor)
      let before = await Self.loopState(reactor)
      let results = await Task(executorPreference: reactor) {
        await fileSystem.readFiles(paths, maximumSize: 1024)
      }.value
      try Self.check(results, paths, maximumSize: 1024)
      let batches = await withTaskGroup(of: (Int, [Result<SharedBuffer, IOError>]).self) { group in
        for lane in 0..<4 {
          group.addTask(executorPreference: reactor) {
            (lane, await fileSystem.readFiles(Array(paths[(lane * 140)..<(lane * 140 + 140)])))
          }
        }
        var all: [(Int, [Result<SharedBuffer, IOError>])] = []
        for await batch in group { all.append(batch) }
        return all
      }
      for (lane, results) in batches {
        try Self.check(
          results, Array(paths[(lane * 140)..<(lane * 140 + 140)]), maximumSize: 65_536)
      }
      let after = await Self.loopState(reactor)
      #expect(after.slots == 0)
      #expect(after.inFlight == before.inFlight)
    }
  }

  /// Cancelled midway (reads of a FIFO that has a writer and no data wait
  /// until the task is cancelled):
  /// the call returns after every CQE, files read before keep their data,
  /// the blocked one and those never started end cancelled, and no slot or
  /// in-flight operation is left; a later batch can use every slot.
  @Test func cancellationMidway() async throws {
    let tree = Tree("cancel")
    defer { tree.cleanUp() }
    var paths = (0..<40).map { tree.write("f\($0)", Array(repeating: 7, count: $0 * 10)) }
    let fifo = "\(tree.root)/fifo"
    #expect(mkfifo(fifo, 0o644) == 0)
    // A writer that never writes: the batch's reads of the FIFO wait (an
    // open for reading and writing does not block on Linux).
    let writer = open(fifo, O_RDWR | O_CLOEXEC)
    #expect(writer >= 0)
    defer { close(writer) }
    paths.insert(FilePath(fifo), at: 5)
    let files = Array(paths.prefix(5)) + Array(paths[6...])
    let many = (0..<(DirectSlotTable.capacity + 40)).map { paths[$0 % paths.count] }
    let blocked = many.indices.filter { many[$0] == FilePath(fifo) }
    try await withReactor { reactor in
      let fileSystem = FileSystem(on: reactor)
      let before = await Self.loopState(reactor)
      let task = Task(executorPreference: reactor) {
        await fileSystem.readFiles(many, maximumSize: 4096)
      }
      // Wait (on events, not time) until only the FIFO's chains hold slots:
      // slots are refilled at once while files wait, so that many means the
      // others are done.
      while await Self.loopState(reactor).slots != blocked.count {
        await Task.yield()
      }
      task.cancel()
      let results = await task.value
      #expect(results.count == many.count)
      for index in blocked {
        #expect(results[index].failureKind == .cancelled)
      }
      var read = 0
      for (path, result) in zip(many, results) {
        switch result {
        case .success(let buffer):
          read += 1
          #expect(path != FilePath(fifo))
          #expect(!buffer.isKernelWriting)
          #expect(try buffer.bytes() == Self.expected(path, maximumSize: 4096).get())
        case .failure(let error):
          #expect(error.kind == .cancelled)
        }
      }
      #expect(read > 0)
      let after = await Self.loopState(reactor)
      #expect(after.slots == 0)
      #expect(after.inFlight == before.inFlight)
      // Every slot usable again.
      let batch = (0..<DirectSlotTable.capacity).map { files[$0 % files.count] }
      let later = await Task(executorPreference: reactor) {
        await fileSystem.readFiles(batch, maximumSize: 4096)
      }.value
      try Self.check(later, batch, maximumSize: 4096)
    }
  }

  /// A shutdown while reads wait (a FIFO with a writer and no data): the
  /// batch returns, the waiting files end with "shut down", the others keep
  /// their data, and the loop reaps every chain (each slot's close ran).
  @Test func shutdownMidway() async throws {
    let tree = Tree("shutdown")
    defer { tree.cleanUp() }
    let fifo = "\(tree.root)/fifo"
    #expect(mkfifo(fifo, 0o644) == 0)
    let writer = open(fifo, O_RDWR | O_CLOEXEC)
    #expect(writer >= 0)
    defer { close(writer) }
    let paths = [tree.write("a", [1, 2]), FilePath(fifo), tree.write("b", [3]), FilePath(fifo)]
    let reactor = try Reactor()
    let fileSystem = FileSystem(on: reactor)
    let task = Task(executorPreference: reactor) {
      await fileSystem.readFiles(paths, maximumSize: 64)
    }
    while await Self.loopState(reactor).slots != 2 { await Task.yield() }
    await reactor.shutdown()
    let results = await task.value
    #expect((try? results[0].get().bytes()) == [1, 2])
    #expect(results[1].failureKind == .reactorShutDown)
    #expect((try? results[2].get().bytes()) == [3])
    #expect(results[3].failureKind == .reactorShutDown)
  }

  /// An already cancelled task submits nothing; a bad maximum fails every
  /// entry with EINVAL.
  @Test func refusalsBeforeSubmission() async throws {
    try await withReactor { reactor in
      let fileSystem = FileSystem(on: reactor)
      let task = Task(executorPreference: reactor) {
        withUnsafeCurrentTask { $0?.cancel() }
        return await fileSystem.readFiles(["/etc/hostname", "/etc/passwd"])
      }
      let results = await task.value
      #expect(results.allSatisfy { $0.failureKind == .cancelled })
      let refused = await fileSystem.readFiles(["/etc/hostname"], maximumSize: 0)
      #expect(refused.first?.failureErrno == .invalidArgument)
      #expect(await fileSystem.readFiles([]).isEmpty)
    }
  }

  /// With a RegisteredFileTable on the ring (one table per ring), the
  /// batch reads through ordinary descriptors; once it is unregistered,
  /// through direct slots again. The direct slots, idle, make room for it.
  @Test func sharesTheRingWithARegisteredFileTable() async throws {
    let tree = Tree("table")
    defer { tree.cleanUp() }
    let paths = (0..<20).map { tree.write("f\($0)", Array(repeating: UInt8($0), count: $0 * 100)) }
    try await withReactor { reactor in
      let fileSystem = FileSystem(on: reactor)
      try Self.check(await fileSystem.readFiles(paths), paths, maximumSize: 65_536)
      let table = try await RegisteredFileTable.register(capacity: 8, on: reactor)
      try Self.check(await fileSystem.readFiles(paths), paths, maximumSize: 65_536)
      try await table.unregister()
      try Self.check(await fileSystem.readFiles(paths), paths, maximumSize: 65_536)
      #expect(await Self.loopState(reactor).slots == 0)
    }
  }
}

extension Result where Failure == IOError {
  fileprivate var failureErrno: Errno? {
    if case .failure(let error) = self { return error.errno }
    return nil
  }
  fileprivate var failureKind: IOError.Kind? {
    if case .failure(let error) = self { return error.kind }
    return nil
  }
}
