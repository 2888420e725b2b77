import Dispatch
import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

@Suite(.requiresUring, .sharesProcess)
struct DirectoryTests {
  @Test func makeRemoveRenameLinkAndStatus() async throws {
    let scratch = try ScratchDirectory("paths")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let recorder = OperationRecorder()
      try await recorder.install(on: reactor)
      try await fs.makeDirectory(
        at: scratch.path("d"), permissions: FilePermissions(rawValue: 0o750))
      #expect(recorder.completedCount(.mkdirat) == 1)
      let status = try await fs.status(of: scratch.path("d"))
      #expect(status.type == .directory)
      #expect(status.permissions.rawValue & 0o700 == 0o700)
      await #expect(
        throws: IOError(.system(.fileExists), operation: .mkdirat, path: scratch.path("d"))
      ) { try await fs.makeDirectory(at: scratch.path("d")) }
      try await fs.makeDirectories(at: scratch.path("a/b/c"))
      try await fs.makeDirectories(at: scratch.path("a/b/c"))  // already there: fine
      #expect(try await fs.status(of: scratch.path("a/b/c")).type == .directory)

      try writeFileBlocking(scratch.path("d/file"), [1, 2, 3])
      try await fs.rename(scratch.path("d/file"), to: scratch.path("d/renamed"))
      #expect(try await !fs.exists(scratch.path("d/file")))
      #expect(try await fs.status(of: scratch.path("d/renamed")).size == 3)
      try writeFileBlocking(scratch.path("d/other"), [4])
      await #expect(throws: IOError.self) {
        try await fs.rename(
          scratch.path("d/other"), to: scratch.path("d/renamed"), options: .noReplace)
      }
      try await fs.rename(
        scratch.path("d/other"), to: scratch.path("d/renamed"), options: .exchange)
      #expect(try readFileBlocking(scratch.path("d/renamed")) == [4])
      #expect(try readFileBlocking(scratch.path("d/other")) == [1, 2, 3])

      try await fs.link(scratch.path("d/hard"), to: scratch.path("d/other"))
      #expect(try await fs.status(of: scratch.path("d/other")).linkCount == 2)
      try await fs.symbolicLink(scratch.path("d/soft"), to: "other")
      #expect(
        try await fs.status(of: scratch.path("d/soft"), followSymbolicLinks: false).type
          == .symbolicLink)
      #expect(try await fs.status(of: scratch.path("d/soft")).size == 3)
      #expect(try await fs.destinationOfSymbolicLink(at: scratch.path("d/soft")) == "other")
      try await fs.symbolicLink(scratch.path("d/dangling"), to: "nowhere")
      #expect(try await fs.exists(scratch.path("d/dangling")))

      // remove: files, links, empty directories; not full ones.
      try await fs.remove(at: scratch.path("d/hard"))
      try await fs.remove(at: scratch.path("d/soft"))
      await #expect(
        throws: IOError(.system(.directoryNotEmpty), operation: .unlinkat, path: scratch.path("d"))
      ) { try await fs.remove(at: scratch.path("d")) }
      try await fs.remove(at: scratch.path("a/b/c"))
      #expect(try await !fs.exists(scratch.path("a/b/c")))
      await #expect(
        throws: IOError(.system(.notDirectory), operation: .unlinkat, path: scratch.path("d/other"))
      ) { try await fs.removeDirectory(at: scratch.path("d/other")) }
      await #expect(
        throws: IOError(
          .system(.noSuchFileOrDirectory), operation: .statx, path: scratch.path("nope"))
      ) { try await fs.status(of: scratch.path("nope")) }
      try await fs.removeTree(at: scratch.path("d"))
      try await fs.removeTree(at: scratch.path("a"))
      #expect(try await fs.contentsOfDirectory(at: scratch.root).isEmpty)
    }
  }

  @Test func pathsRelativeToADirectory() async throws {
    let scratch = try ScratchDirectory("relative")
    defer { scratch.remove() }
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor)
      let base = try await File.open(scratch.root, .readOnly, options: .directory, on: reactor)
      try await fs.makeDirectory(at: "sub", relativeTo: base)
      try writeFileBlocking(scratch.path("sub/f"), [7])
      #expect(try await fs.status(of: "sub/f", relativeTo: base).size == 1)
      try await fs.rename("sub/f", to: "sub/g", relativeTo: base)
      try await fs.symbolicLink("link", to: "sub/g", relativeTo: base)
      #expect(try await fs.destinationOfSymbolicLink(at: "link", relativeTo: base) == "sub/g")
      let names = try await fs.contentsOfDirectory(at: "sub", relativeTo: base).map(\.name.string)
      #expect(names == ["g"])
      try await fs.remove(at: "sub/g", relativeTo: base)
      try await fs.remove(at: "link", relativeTo: base)
      try await fs.removeDirectory(at: "sub", relativeTo: base)
      try await base.close()
      #expect(try await fs.contentsOfDirectory(at: scratch.root).isEmpty)
    }
  }

  /// Listing runs on the offload pool in batches; the caller resumes on its
  /// own executor (here: the reactor's loop thread).
  @Test(.ownsProcess) func listingADirectoryInBatchesOnTheOffloadPool() async throws {
    let scratch = try ScratchDirectory("listing")
    defer { scratch.remove() }
    var expected: Set<String> = []
    for index in 0..<1_000 {
      let name = "entry-\(index)"
      expected.insert(name)
      if index % 10 == 0 {
        #expect(mkdir(scratch.path(name).string, 0o755) == 0)
      } else {
        try writeFileBlocking(scratch.path(name), [])
      }
    }
    let descriptorsBefore = openDescriptorCount()
    let pool = OffloadPool(threadCount: 2, queueCapacity: 8, name: "list-test")
    try await withReactor { reactor in
      let fs = FileSystem(on: reactor, offload: pool)
      let listed = try await Task(executorPreference: reactor) {
        () async throws -> [DirectoryEntry] in
        var entries: [DirectoryEntry] = []
        for try await entry in fs.entries(of: scratch.root, batchSize: 64) {
          #expect(reactor.isCurrent)
          entries.append(entry)
        }
        return entries
      }.value
      #expect(Set(listed.map(\.name.string)) == expected)
      #expect(listed.count == 1_000)
      for entry in listed {
        let isDirectory = entry.name.string.hasSuffix("0")
        #expect(entry.type == (isDirectory ? .directory : .regular))
      }
      // Breaking out early closes the directory stream.
      var seen = 0
      for try await _ in fs.entries(of: scratch.root, batchSize: 16) {
        seen += 1
        if seen == 20 { break }
      }
      #expect(seen == 20)
      // Errors name the failing call and the path.
      do {
        _ = try await fs.contentsOfDirectory(at: scratch.path("entry-1"))
        Issue.record("listed a regular file")
      } catch let error as IOError {
        #expect(error.kind == .system(.notDirectory))
        #expect(error.operation == .offloaded)
        #expect(error.systemCall == "openat")
        #expect(error.path == scratch.path("entry-1"))
        #expect("\(error)".hasPrefix("openat '"))
      }
    }
    await pool.shutdown()
    #expect(openDescriptorCount() == descriptorsBefore)
  }

  @Test func offloadPoolRunsWorkAndResumesOnTheCallersExecutor() async throws {
    let pool = OffloadPool(threadCount: 2, queueCapacity: 4, name: "pool-test")
    #expect(try await pool.run { 6 * 7 } == 42)
    try await withReactor { reactor in
      let onLoop = try await Task(executorPreference: reactor) { () async throws -> (Bool, Bool) in
        let workerWasLoop = try await pool.run { reactor.isCurrent }
        return (workerWasLoop, reactor.isCurrent)
      }.value
      #expect(onLoop == (false, true))
    }
    await pool.shutdown()
    await pool.shutdown()  // idempotent
    await #expect(throws: OffloadPoolError.shutDown) { try await pool.run { 1 } }
  }

  /// One thread, a queue of two: while the worker is held, two jobs queue
  /// and further callers wait for room; a cancelled waiting job never runs;
  /// the others run in order; shutdown lets queued work finish.
  @Test func offloadPoolQueueIsBoundedAndCancellable() async throws {
    let pool = OffloadPool(threadCount: 1, queueCapacity: 2, name: "bounded")
    let gate = DispatchSemaphore(value: 0)
    let started = DispatchSemaphore(value: 0)
    let order = Locked<[Int]>([])
    let blocker = Task {
      try await pool.run {
        started.signal()
        gate.wait()
        return 0
      }
    }
    started.wait()
    var jobs: [Task<Int, any Error>] = []
    for index in 1...4 {
      jobs.append(
        Task {
          try await pool.run {
            order.withLock { $0.append(index) }
            return index
          }
        })
      while pool.pendingCount < index { await Task.yield() }
    }
    #expect(pool.pendingCount == 4)
    jobs[2].cancel()
    while pool.pendingCount > 3 { await Task.yield() }
    await #expect(throws: OffloadPoolError.cancelled) { try await jobs[2].value }
    gate.signal()
    #expect(try await blocker.value == 0)
    #expect(try await jobs[0].value == 1)
    #expect(try await jobs[1].value == 2)
    #expect(try await jobs[3].value == 4)
    #expect(order.withLock { $0 } == [1, 2, 4])
    await pool.shutdown()
  }
}
