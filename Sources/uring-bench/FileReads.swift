import CBaselines
import Dispatch
import Glibc
import SystemPackage
import UringReactor

/// `file-random-4k-qd1`, `-qd32`, `-qd128`: 4 KiB reads at random 4 KiB-aligned
/// offsets of a page-cached file (1 GiB; 64 MiB with `--quick`), `queueDepth`
/// reads in flight; `file-sequential-1m`: the same file read front to back in
/// 1 MiB reads (wrapping around), rate in MiB/s (one operation = 1 MiB).
///
/// The file is created once under `$TMPDIR` (default `/var/tmp`) and kept;
/// before every run, pages the page cache lost (it can be dropped from
/// outside here) are read back in, untimed (`mincore`).
///
/// `direct`: `file-direct-random-4k-qd*`, `file-direct-sequential-1m`, the
/// same reads of the same file (on a disk: not tmpfs, see
/// ``BenchFile/shared(small:onDisk:)``) opened with `O_DIRECT`, so the page
/// cache serves none of them and every read goes to the device; no warming.
/// Buffers are page-aligned, offsets and sizes multiples of 4 KiB.
struct FileReads: Workload {
  enum Pattern: Sendable {
    case random(queueDepth: Int)
    case sequential
  }

  let pattern: Pattern
  /// Read the 64 MiB file instead of the 1 GiB one (`--quick`).
  let quick: Bool
  /// Read through `O_DIRECT` descriptors, from the disk (`file-direct-*`).
  var direct = false

  var id: String {
    switch pattern {
    case .random(let depth): "file-\(direct ? "direct-" : "")random-4k-qd\(depth)"
    case .sequential: "file-\(direct ? "direct-" : "")sequential-1m"
    }
  }
  var unit: String { isSequential ? "MiB/s" : "reads/s" }
  var systems: [BenchSystem] {
    if direct {
      return (isSequential ? [.reactor] : [.reactor, .reactorFixed, .reactorBatch, .reactorGroup])
        + BenchSystem.swiftSystems.dropFirst() + [.cLiburing] + (Fio.path == nil ? [] : [.fio])
    }
    return isSequential
      ? BenchSystem.swiftSystems + [.dispatchIO, .cLiburing]
      : [.reactor, .reactorStream, .reactorBatch, .reactorGroup, .reactorGroupBatch]
        + BenchSystem.swiftSystems.dropFirst() + [.dispatchIO, .cLiburing] + nioSystems
  }
  /// `nio-filesystem` in the page-cached random reads when its reader is
  /// built (not O_DIRECT: see ``NIOFileSystemReader``).
  private var nioSystems: [BenchSystem] {
    direct || isSequential || NIOFileSystemReader.program.path == nil ? [] : [.nioFileSystem]
  }
  var summary: String {
    if direct {
      return isSequential
        ? "O_DIRECT 1 MiB sequential reads of a file on the disk (one op = 1 MiB)"
        : "O_DIRECT 4 KiB reads at random offsets of a file on the disk, \(depth) in flight"
    }
    return switch pattern {
    case .random(let depth):
      "4 KiB reads at random offsets of a page-cached file, \(depth) in flight"
    case .sequential:
      "1 MiB sequential reads of a page-cached file (one op = 1 MiB)"
    }
  }
  var initialOperations: Int { isSequential ? 64 : 4_096 }
  var granularity: Int { depth }

  var isSequential: Bool {
    if case .sequential = pattern { return true }
    return false
  }
  /// Reads in flight (the reactor's read-ahead for the sequential stream).
  var depth: Int {
    switch pattern {
    case .random(let depth): depth
    case .sequential: 2
    }
  }
  var blockSize: Int { isSequential ? 1 << 20 : 4096 }

  func footnote(for system: BenchSystem) -> String {
    let reads = (direct ? "O_DIRECT " : "") + (isSequential ? "1 MiB reads" : "4 KiB reads")
    let opened = direct ? "; the file opened with `options: [.directIO]`" : ""
    switch system {
    case .reactor:
      return isSequential
        ? "`for try await chunk in file.chunks(chunkSize: 1 MiB, readAhead: 2)` in a task "
          + "preferring the reactor (IORING_OP_READ, buffers reused)" + opened
        : "\(depth) task(s) (addTask(executorPreference: reactor)), each awaiting "
          + "`file.read(into: OwnedBuffer, at:)` (IORING_OP_READ) into its own buffer, "
          + "moved in and back each read" + opened
    case .reactorStream:
      return "one task preferring the reactor: `for try await chunk in file.reads(at: offsets, "
        + "size: 4096, depth: \(depth))` (IORING_OP_READ, \(depth) in flight, buffers reused; "
        + "the offsets of dispatch, in an array made untimed)"
    case .reactorGroup:
      return "the \(depth) task(s) of reactor, spread over a ReactorGroup of 2 reactors "
        + "pinned to 2 CPUs (lane i on reactor i % 2, the file opened on each)" + opened
    case .reactorBatch:
      return "one task preferring the reactor: `file.read(batch:)` of \(depth) reads "
        + "(IORING_OP_READ each, one suspension per batch, SharedBuffers reused), "
        + "the lanes' offsets of reactor" + opened
    case .reactorGroupBatch:
      return "reactor-batch on each reactor of a ReactorGroup of 2 pinned to 2 CPUs, "
        + "each batching the lanes i % 2 of reactor-group (\(max(1, depth / 2)) reads in flight each)"
    case .reactorExecute:
      preconditionFailure("\(id) does not run \(system.id)")
    case .defaultExecutor:
      return "\(depth) task(s) on the default executor, each a loop of blocking pread(2) \(reads)"
        + (direct ? " (at most one per pool thread in flight: the pool has a thread per CPU)" : "")
    case .dispatch:
      return "\(depth) task(s), each awaiting a continuation resumed by "
        + "`DispatchQueue.global().async { pread(2) }` per read" + (direct ? " (O_DIRECT fd)" : "")
    case .dispatchIO:
      return "one DispatchIO random-access channel (own fd, low water = read size); "
        + "\(depth) task(s), each awaiting `channel.read(offset:length:queue:)` per "
        + "\(isSequential ? "1 MiB" : "4 KiB") read (the offsets of dispatch; libdispatch "
        + "does a posix_fadvise(WILLNEED, 2 MiB) before each pread)"
    case .cLiburing:
      return "C loop over liburing, \(reads), \(depth) in flight "
        + (isSequential ? "(cb_sequential_reads)" : "(cb_random_reads)")
        + (direct ? ", an O_DIRECT fd, page-aligned buffers" : "")
    case .fio:
      return Fio.footnote(sequential: isSequential, depth: depth)
    case .reactorFixed:
      return Self.fixedFootnote
    case .nioFileSystem:
      return NIOFileSystemReader.footnote(depth: depth)
    case .nio, .nioAsyncChannel:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let file = try BenchFile.shared(small: quick, onDisk: direct)
    let direct = self.direct
    if direct {
      guard file.directDescriptor >= 0 else {
        throw BenchError("\(id): cannot open \(file.path) with O_DIRECT: \(file.directFailure)")
      }
    } else {
      file.warm()
    }
    let perLane = max(1, operations / depth)
    let expected = perLane * depth
    let sample: Sample
    switch system {
    case .reactor:
      sample =
        try await isSequential
        ? sequentialOnReactor(file, reactor: reactor, operations: expected)
        : randomOnReactors(
          file, [reactor], preferring: reactor, system: system, perLane: perLane)
    case .reactorStream:
      sample = try await randomOnStream(file, reactor: reactor, perLane: perLane)
    case .reactorGroup, .reactorGroupBatch:
      let group = try BenchGroup.shared.get()
      sample = try await randomOnReactors(
        file, group.reactors, preferring: group, system: system, perLane: perLane,
        batched: system == .reactorGroupBatch)
    case .reactorBatch:
      sample = try await randomOnReactors(
        file, [reactor], preferring: reactor, system: system, perLane: perLane, batched: true)
    case .reactorExecute:
      preconditionFailure("\(id) does not run \(system.id)")
    case .defaultExecutor:
      sample = try await lanes(perLane: perLane) { lane, step throws(BenchError) in
        try file.blockingRead(lane: lane, step: step, size: blockSize, direct: direct)
      }
    case .dispatchIO:
      sample = try await runOnDispatchIO(file, perLane: perLane)
    case .dispatch:
      let size = blockSize
      sample = try await lanes(perLane: perLane) { lane, step throws(BenchError) in
        let outcome = unsafe await withUnsafeContinuation {
          (continuation: UnsafeContinuation<Result<Void, BenchError>, Never>) in
          DispatchQueue.global().async {
            do throws(BenchError) {
              try file.blockingRead(lane: lane, step: step, size: size, direct: direct)
              unsafe continuation.resume(returning: .success(()))
            } catch {
              unsafe continuation.resume(returning: .failure(error))
            }
          }
        }
        try outcome.get()
      }
    case .cLiburing:
      let fd = direct ? file.directDescriptor : file.descriptor
      let run =
        try isSequential
        ? CLiburing.sequentialReads(
          fd: fd, fileSize: file.size, queueDepth: depth, operations: expected)
        : CLiburing.randomReads(
          fd: fd, fileSize: file.size, queueDepth: depth, operations: expected)
      sample = run.sample
    case .fio:
      // fio runs for a time, not a count: its own figures are the sample.
      return try Fio.run(
        file, sequential: isSequential, depth: depth,
        for: quick ? .milliseconds(100) : .milliseconds(250))
    case .reactorFixed:
      sample = try await randomOnFixed(file, reactor: reactor, perLane: perLane)
    case .nioFileSystem:
      sample = try NIOFileSystemReader.run(file, depth: depth, perLane: perLane)
    case .nio, .nioAsyncChannel:
      preconditionFailure("\(id) does not run \(system.id)")
    }
    guard sample.operations == expected else {
      throw BenchError(
        "\(id) \(system.id): expected \(expected) reads, counted \(sample.operations)")
    }
    return sample
  }

  /// `depth` tasks on the default executor, each doing `perLane` reads.
  @concurrent
  func lanes(
    perLane: Int, _ read: @escaping @Sendable (Int, Int) async throws(BenchError) -> Void
  ) async throws(BenchError) -> Sample {
    let clock = ContinuousClock()
    let start = clock.now
    let results = await withTaskGroup(of: Result<Int, BenchError>.self) { group in
      for lane in 0..<depth {
        group.addTask {
          for step in 0..<perLane {
            do throws(BenchError) { try await read(lane, step) } catch { return .failure(error) }
          }
          return .success(perLane)
        }
      }
      var all: [Result<Int, BenchError>] = []
      for await result in group { all.append(result) }
      return all
    }
    let elapsed = start.duration(to: clock.now)
    var total = 0
    for result in results { total += try result.get() }
    return Sample(operations: total, elapsed: elapsed)
  }

  /// Opens the bench file on each of `reactors`, in a task preferring
  /// `executor`, and times `body` (which returns the reads it did), then
  /// closes the files.
  private func timedOnReactors(
    _ benchFile: BenchFile, _ reactors: [Reactor], preferring executor: any TaskExecutor,
    system: BenchSystem, _ body: @escaping @Sendable ([File]) async throws -> Int
  ) async throws(BenchError) -> Sample {
    let id = self.id
    let direct = self.direct
    let outcome = await Task(executorPreference: executor) {
      () async -> Result<Sample, BenchError> in
      do {
        var files: [File] = []
        for reactor in reactors {
          files.append(
            try await File.open(
              benchFile.path, .readOnly, options: direct ? [.directIO] : [], on: reactor))
        }
        let clock = ContinuousClock()
        let start = clock.now
        let done = try await body(files)
        let elapsed = start.duration(to: clock.now)
        for file in files { try await file.close() }
        return .success(Sample(operations: done, elapsed: elapsed))
      } catch {
        return .failure(BenchError("\(id) \(system.id): \(error)"))
      }
    }.value
    return try outcome.get()
  }

  /// `timedOnReactors` with one reactor, in a task that prefers it.
  func timedOnReactor(
    _ benchFile: BenchFile, reactor: Reactor, system: BenchSystem,
    _ body: @escaping @Sendable (File) async throws -> Int
  ) async throws(BenchError) -> Sample {
    try await timedOnReactors(benchFile, [reactor], preferring: reactor, system: system) {
      try await body($0[0])
    }
  }

  /// `depth` tasks, each awaiting its reads one by one: lane `i` in a task
  /// preferring reactor `i % count` of `reactors`, through the file opened
  /// on it (`reactor`: one reactor; `reactor-group`: the group's). `batched`:
  /// instead one task per reactor reading its lanes as batches, step after
  /// step one `File.read(batch:)` of every such lane's next offset
  /// (`reactor-batch`, `reactor-group-batch`).
  private func randomOnReactors(
    _ benchFile: BenchFile, _ reactors: [Reactor], preferring executor: any TaskExecutor,
    system: BenchSystem, perLane: Int, batched: Bool = false
  ) async throws(BenchError) -> Sample {
    let depth = self.depth
    return try await timedOnReactors(
      benchFile, reactors, preferring: executor, system: system
    ) { files in
      let tasks: [(File, @Sendable () async -> Int)] =
        batched
        ? files.enumerated().compactMap { index, file in
          let lanes = Array(stride(from: index, to: depth, by: files.count))
          guard !lanes.isEmpty else { return nil }
          return (file, { await Self.randomBatches(lanes, of: benchFile, file, perLane: perLane) })
        }
        : (0..<depth).map { lane in
          let file = files[lane % files.count]
          return (file, { await Self.randomLane(lane, of: benchFile, file, perLane: perLane) })
        }
      return await Self.sumOfTasks(tasks)
    }
  }

  /// Runs each `run` in a task preferring its file's reactor; returns the
  /// sum of what they return.
  private static func sumOfTasks(_ tasks: [(File, @Sendable () async -> Int)]) async -> Int {
    await withTaskGroup(of: Int.self) { group in
      for (file, run) in tasks { group.addTask(executorPreference: file.reactor, operation: run) }
      var total = 0
      for await done in group { total += done }
      return total
    }
  }

  /// One lane of `randomOnReactors`: `perLane` 4 KiB reads at the lane's
  /// random offsets, one at a time; returns the full reads.
  private static func randomLane(_ lane: Int, of benchFile: BenchFile, _ file: File, perLane: Int)
    async -> Int
  {
    var random = BenchFile.Random(lane: lane)
    let blocks = benchFile.size / 4096
    var done = 0
    var buffer = OwnedBuffer(capacity: 4096)
    for _ in 0..<perLane {
      let offset = UInt64(random.offset(blocks: blocks) * 4096)
      let result = await file.read(into: buffer, at: offset)
      let count = result.bytesTransferred
      buffer = result.buffer
      guard count == 4096 else { return done }
      done += 1
    }
    return done
  }

  /// The batches of a batched `randomOnReactors` for `lanes`: `perLane` batches of one
  /// 4 KiB read per lane, at each lane's next random offset; returns the
  /// full reads.
  private static func randomBatches(
    _ lanes: [Int], of benchFile: BenchFile, _ file: File, perLane: Int
  ) async -> Int {
    var randoms = lanes.map { BenchFile.Random(lane: $0) }
    let blocks = benchFile.size / 4096
    let buffers = lanes.map { _ in SharedBuffer(capacity: 4096) }
    var requests: [FileReadRequest] = []
    requests.reserveCapacity(lanes.count)
    var done = 0
    for _ in 0..<perLane {
      requests.removeAll(keepingCapacity: true)
      for index in lanes.indices {
        let offset = UInt64(randoms[index].offset(blocks: blocks) * 4096)
        requests.append(FileReadRequest(into: buffers[index], at: offset))
      }
      for result in await file.read(batch: requests) {
        guard (try? result.get()) == 4096 else { return done }
        done += 1
      }
    }
    return done
  }

  /// One task reading the offsets of dispatch (lane by lane, step by step)
  /// through `File.reads(at:size:depth:)`, `depth` reads in flight.
  private func randomOnStream(_ benchFile: BenchFile, reactor: Reactor, perLane: Int)
    async throws(BenchError) -> Sample
  {
    let depth = self.depth
    var offsets: [UInt64] = []
    offsets.reserveCapacity(perLane * depth)
    for step in 0..<perLane {
      for lane in 0..<depth {
        offsets.append(UInt64(benchFile.offset(lane: lane, step: step, size: 4096)))
      }
    }
    return try await timedOnReactor(benchFile, reactor: reactor, system: .reactorStream) {
      [offsets] file in
      var done = 0
      for try await chunk in file.reads(at: offsets, size: 4096, depth: depth) {
        guard chunk.count == 4096, chunk.offset == offsets[done] else { break }
        done += 1
      }
      return done
    }
  }

  /// One task streaming the file front to back, `depth` reads ahead.
  private func sequentialOnReactor(_ benchFile: BenchFile, reactor: Reactor, operations: Int)
    async throws(BenchError) -> Sample
  {
    let depth = self.depth
    return try await timedOnReactor(benchFile, reactor: reactor, system: .reactor) { file in
      var done = 0
      passes: while true {
        for try await chunk in file.chunks(chunkSize: 1 << 20, readAhead: depth) {
          guard chunk.count == 1 << 20 else { continue }
          done += 1
          if done == operations { break passes }
        }
      }
      return done
    }
  }
}

/// The file the read workloads share, created once and kept between runs.
final class BenchFile: Sendable {
  let path: FilePath
  let size: Int
  let descriptor: Int32
  /// The file opened again with `O_DIRECT` (the `file-direct-*` workloads),
  /// or -1 if the file system refused it (``directFailure`` says why).
  let directDescriptor: Int32
  /// Why `O_DIRECT` could not be had, if it could not.
  let directFailure: String

  /// Each made once, when first asked for (Swift initialises a static `let`
  /// exactly once, thread-safely).
  private static let large = Result { () throws(BenchError) -> BenchFile in
    try BenchFile(size: 1 << 30)
  }
  private static let small = Result { () throws(BenchError) -> BenchFile in
    try BenchFile(size: 64 << 20)
  }
  /// The same on a disk: the files above unless `$TMPDIR` is a tmpfs, else
  /// files of their own in `/var/tmp`.
  private static let largeOnDisk = Result { () throws(BenchError) -> BenchFile in
    try directory == diskDirectory ? large.get() : BenchFile(size: 1 << 30, in: diskDirectory)
  }
  private static let smallOnDisk = Result { () throws(BenchError) -> BenchFile in
    try directory == diskDirectory ? small.get() : BenchFile(size: 64 << 20, in: diskDirectory)
  }

  /// `$TMPDIR`, default `/var/tmp`.
  private static let directory =
    unsafe getenv("TMPDIR").map { unsafe String(cString: $0) } ?? "/var/tmp"
  /// ``directory``, or `/var/tmp` if that is a tmpfs (memory, not a disk).
  private static let diskDirectory = unsafe cb_is_tmpfs(directory) == 1 ? "/var/tmp" : directory

  /// The 1 GiB file, or the 64 MiB one if `small` (`--quick`); `onDisk`:
  /// one on a disk (the `O_DIRECT` workloads).
  static func shared(small: Bool, onDisk: Bool = false) throws(BenchError) -> BenchFile {
    switch (small, onDisk) {
    case (false, false): try large.get()
    case (true, false): try Self.small.get()
    case (false, true): try largeOnDisk.get()
    case (true, true): try smallOnDisk.get()
    }
  }

  private init(size: Int, in directory: String = BenchFile.directory) throws(BenchError) {
    path = FilePath(directory).appending("uring-bench-reads-\(size >> 20)m.dat")
    self.size = size
    var info = stat()
    if unsafe stat(path.string, &info) != 0 || Int(info.st_size) != size {
      try Self.create(path, size: size)
    }
    descriptor = unsafe open(path.string, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw BenchError(unsafe "cannot open \(path): \(String(cString: strerror(errno)))")
    }
    let flags = O_RDONLY | O_CLOEXEC | FileDescriptor.OpenOptions.directIO.rawValue
    directDescriptor = unsafe open(path.string, flags)
    directFailure = unsafe directDescriptor >= 0 ? "" : String(cString: strerror(errno))
  }

  private static func create(_ path: FilePath, size: Int) throws(BenchError) {
    Log.progress("[setup] writing \(size >> 20) MiB to \(path) (once) ... ")
    let temporary = path.string + ".partial"
    let fd = unsafe open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BenchError("cannot create \(temporary): \(errno)") }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var random = Random(lane: 99)
    var written = 0
    while written < size {
      unsafe chunk.withUnsafeMutableBytes { bytes in
        for index in stride(from: 0, to: bytes.count, by: 8) {
          unsafe bytes.storeBytes(of: random.next(), toByteOffset: index, as: UInt64.self)
        }
      }
      let count = unsafe chunk.withUnsafeBytes {
        unsafe pwrite(fd, $0.baseAddress, $0.count, off_t(written))
      }
      guard count > 0 else {
        close(fd)
        throw BenchError("cannot write \(temporary): \(errno)")
      }
      written += count
    }
    fsync(fd)
    close(fd)
    guard unsafe rename(temporary, path.string) == 0 else {
      throw BenchError("rename failed: \(errno)")
    }
    Log.progress("done\n")
  }

  /// Reads back, untimed, whatever the page cache lost (checked with mincore):
  /// only the missing pages, since the runner's CPU time per operation
  /// includes this (here pages go a few at a time, all the time).
  func warm() {
    let pages = (size + 4095) / 4096
    guard let mapping = unsafe mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0),
      unsafe mapping != MAP_FAILED
    else { return }
    defer { unsafe munmap(mapping, size) }
    var resident = [UInt8](repeating: 0, count: pages)
    guard unsafe mincore(mapping, size, &resident) == 0 else { return }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    defer { unsafe buffer.deallocate() }
    var page = 0
    while page < pages {
      guard resident[page] & 1 == 0 else {
        page += 1
        continue
      }
      // A run of missing pages, read back in reads of up to 1 MiB.
      var end = page + 1
      while end < pages, end - page < 256, resident[end] & 1 == 0 { end += 1 }
      let count = min(end * 4096, size) - page * 4096
      if unsafe pread(descriptor, buffer, count, off_t(page * 4096)) <= 0 { return }
      page = end
    }
  }

  /// One blocking `pread` of `size` bytes for `lane`'s `step`-th read (at
  /// ``offset(lane:step:size:)``), through ``directDescriptor`` if `direct`
  /// (the thread's buffer is page-aligned).
  func blockingRead(lane: Int, step: Int, size: Int, direct: Bool = false) throws(BenchError) {
    let offset = offset(lane: lane, step: step, size: size)
    let buffer = unsafe Self.buffers.buffer(size)
    let count = unsafe pread(direct ? directDescriptor : descriptor, buffer, size, off_t(offset))
    guard count == size else { throw BenchError("pread returned \(count) at \(offset)") }
  }

  /// Where `lane`'s `step`-th read of `size` bytes starts: a random 4 KiB
  /// block for 4 KiB reads, else sequential (wrapping) `size`-byte chunks.
  func offset(lane: Int, step: Int, size: Int) -> Int {
    guard size == 4096 else { return (step % (self.size / size)) * size }
    var random = Random(lane: lane, step: step)
    return random.offset(blocks: self.size / 4096) * 4096
  }

  /// One read buffer per thread (reads go nowhere; only the copy counts).
  private static let buffers = ThreadBuffers()

  /// xorshift64, per lane.
  struct Random {
    private var state: UInt64
    init(lane: Int, step: Int = 0) {
      state = 0x9E37_79B9_7F4A_7C15 &* UInt64(lane + 1) &+ UInt64(step) &* 0xBF58_476D_1CE4_E5B9
      if state == 0 { state = 1 }
    }
    mutating func next() -> UInt64 {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return state
    }
    mutating func offset(blocks: Int) -> Int { Int(next() % UInt64(blocks)) }
  }
}

/// A read buffer per thread, for the blocking systems.
final class ThreadBuffers: Sendable {
  private let key: pthread_key_t = {
    var key = pthread_key_t()
    unsafe pthread_key_create(&key) { unsafe free($0) }
    return key
  }()

  /// A 1 MiB page-aligned buffer of the calling thread (`size` <= 1 MiB).
  func buffer(_ size: Int) -> UnsafeMutableRawPointer {
    if let existing = unsafe pthread_getspecific(key) { return unsafe existing }
    var pointer: UnsafeMutableRawPointer?
    unsafe posix_memalign(&pointer, 4096, 1 << 20)
    unsafe pthread_setspecific(key, pointer)
    return unsafe pointer!
  }
}
