import Dispatch
import Glibc
import Synchronization
import SystemPackage
import UringReactor

/// `fan-out-in` and `fan-out-in-cpu`: waves of 1,000 child tasks of a task
/// group, gathered by their parent. A `fan-out-in` child reads 512 bytes at
/// a pseudo-random offset of a 1 MiB page-cached file; a `fan-out-in-cpu`
/// child does no I/O: it mixes a seed derived from its index for ~3 us
/// (``CPUWork``), and the parent's sum of the results is checked against one
/// computed beforehand on one thread.
///
/// - reactor: the parent prefers the runner's reactor and adds its children
///   with `addTask(executorPreference: reactor)`: everything on one loop
///   thread; a read is `file.read(into:at:)` (IORING_OP_READ, buffers reused);
/// - reactor-group: the same on a ``ReactorGroup`` of 2 pinned reactors
///   (``BenchGroup``): the group's scheduler places the children, and a read
///   goes through the file opened on the reactor the child runs on;
/// - default-executor: children on Swift's default executor; a read is a
///   blocking `pread` (what code without io_uring does);
/// - dispatch: `DispatchQueue.global().async(group:)` per child,
///   `DispatchGroup.notify` per wave.
struct FanOutIn: Workload {
  enum Child: Sendable {
    /// A 512-byte read of the cached file.
    case read
    /// ~3 us of ``CPUWork/mix(_:rounds:)``, no I/O.
    case compute
  }

  let child: Child
  let unit = "tasks/s"
  let systems: [BenchSystem] = [.reactor, .reactorGroup, .defaultExecutor, .dispatch]
  let initialOperations = 5_000
  let granularity = 1_000
  static let wave = 1_000
  static let readSize = 512
  /// Mixer rounds per `compute` child: ~3 us here.
  static let computeRounds = 640

  var id: String { child == .read ? "fan-out-in" : "fan-out-in-cpu" }

  var summary: String {
    switch child {
    case .read: "waves of 1,000 child tasks, each a 512-byte read of a cached file"
    case .compute: "waves of 1,000 child tasks, each ~3 us of computation, no I/O"
    }
  }

  func footnote(for system: BenchSystem) -> String {
    let work =
      child == .read
      ? "each `file.read(into:at:)` (IORING_OP_READ)" : "each ~3 us of mixing, no I/O"
    return switch system {
    case .reactor:
      "children of a task group, all on the one reactor (addTask(executorPreference: reactor)), "
        + work
    case .reactorGroup:
      "children of a task group on a ReactorGroup of 2 pinned reactors "
        + "(addTask(executorPreference: group)), "
        + (child == .read ? work + " on the reactor it runs on" : work)
    case .defaultExecutor:
      "children of a task group on the default executor, "
        + (child == .read ? "each a blocking `pread`" : work)
    case .dispatch:
      "`DispatchQueue.global().async(group:)` per child ("
        + (child == .read ? "a blocking `pread`" : "~3 us of mixing") + "), one notify per wave"
    case .dispatchIO, .reactorStream, .reactorBatch, .reactorGroupBatch, .reactorExecute,
      .cLiburing, .nio, .nioAsyncChannel, .fio, .reactorFixed, .nioFileSystem:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let fixture = try FanOutFixture.shared.get()
    let waves = max(1, operations / Self.wave)
    let perWave = child == .read ? Self.wave * Self.readSize : Self.computeWaveTotal
    let (executor, read) = try fixture.placement(of: system, reactor: reactor)
    let work = child == .read ? read : .compute
    let clock = ContinuousClock()
    let start = clock.now
    var total = 0
    if system == .dispatch {
      for wave in 0..<waves { total &+= await Self.dispatchWave(wave, work) }
    } else {
      total = await Task(executorPreference: executor) { [executor] in
        var total = 0
        for wave in 0..<waves { total &+= await Self.taskWave(wave, work, preferring: executor) }
        return total
      }.value
    }
    let elapsed = start.duration(to: clock.now)
    let expected = waves &* perWave
    guard total == expected else {
      throw BenchError("\(id) \(system.id): the children's total is \(total), expected \(expected)")
    }
    return Sample(operations: waves * Self.wave, elapsed: elapsed)
  }

  /// The offset of read `index` of wave `wave`: spread over the file, aligned.
  static func offset(_ wave: Int, _ index: Int) -> Int64 {
    let mixed = UInt64(wave &* 1_000 &+ index) &* 0x9E37_79B9_7F4A_7C15
    return Int64((mixed >> 40) % UInt64(FanOutFixture.size / readSize)) * Int64(readSize)
  }

  /// What a `compute` child of index `index` returns.
  static func compute(_ index: Int) -> Int {
    Int(truncatingIfNeeded: CPUWork.mix(CPUWork.seed(index), rounds: computeRounds))
  }

  /// The sum of one wave of `compute` children, computed once on one thread.
  static let computeWaveTotal = (0..<wave).reduce(0) { $0 &+ compute($1) }

  /// One wave as children of a task group, each preferring `executor` (none:
  /// the default executor).
  private static func taskWave(
    _ wave: Int, _ work: ChildWork, preferring executor: (any TaskExecutor)?
  ) async -> Int {
    await withTaskGroup(of: Int.self) { children in
      for index in 0..<Self.wave {
        children.addTask(executorPreference: executor) { await work.run(wave, index) }
      }
      var total = 0
      for await result in children { total &+= result }
      return total
    }
  }

  private static func dispatchWave(_ wave: Int, _ work: ChildWork) async -> Int {
    let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: Self.wave)
    defer { unsafe results.deallocate() }
    let slots = unsafe Slots(results)
    unsafe await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
      let group = DispatchGroup()
      for index in 0..<Self.wave {
        DispatchQueue.global().async(group: group) {
          slots.set(index, work.runBlocking(wave, index))
        }
      }
      group.notify(queue: .global()) { unsafe continuation.resume() }
    }
    return unsafe results.reduce(0, &+)
  }
}

/// What one child of ``FanOutIn`` (one round trip of ``SkewedCPUIO``) does.
enum ChildWork: Sendable {
  /// A read through the ring of the reactor the child runs on.
  case ringRead(ReactorFiles)
  /// A blocking `pread` of the descriptor.
  case blockingRead(CInt)
  /// ``FanOutIn/compute(_:)``.
  case compute

  /// Child `index` of wave `wave`: the bytes read, or the computed value.
  nonisolated(nonsending) func run(_ wave: Int, _ index: Int) async -> Int {
    guard case .ringRead(let files) = self else { return runBlocking(wave, index) }
    return await files.read(at: FanOutIn.offset(wave, index))
  }

  /// `run` for the kinds that do not await (Dispatch's work items).
  func runBlocking(_ wave: Int, _ index: Int) -> Int {
    switch self {
    case .ringRead: preconditionFailure("a ring read awaits")
    case .blockingRead(let fd):
      blockingPread(fd, FanOutIn.readSize, at: FanOutIn.offset(wave, index))
    case .compute: FanOutIn.compute(index)
    }
  }
}

/// One blocking `pread` of `size` bytes (at most 4 KiB) into stack scratch
/// memory; returns its result.
func blockingPread(_ fd: CInt, _ size: Int, at offset: Int64) -> Int {
  unsafe withUnsafeTemporaryAllocation(byteCount: size, alignment: 16) { scratch in
    unsafe pread(fd, scratch.baseAddress, size, off_t(offset))
  }
}

/// Per-index results written by Dispatch work items (disjoint indices).
@safe
private struct Slots: @unchecked Sendable {
  // @safe: its unsafe storage is owned here and freed once; see the SAFETY notes on its fields.
  // SAFETY: each work item writes its own index; the buffer is read after the
  // group's notify, which orders every write before the read.
  let counts: UnsafeMutableBufferPointer<Int>
  init(_ counts: UnsafeMutableBufferPointer<Int>) { unsafe self.counts = unsafe counts }
  func set(_ index: Int, _ value: Int) { unsafe counts[index] = value }
}

/// The 1 MiB file the fan-out and skewed workloads read, made once per
/// process, and its ``ReactorFiles`` per set of reactors.
final class FanOutFixture: Sendable {
  static let size = 1 << 20
  static let shared: Result<FanOutFixture, BenchError> = Result { () throws(BenchError) in
    try FanOutFixture()
  }

  /// For the systems without a ring.
  let descriptor: CInt
  /// Opened when first asked for, kept for the process's life.
  private let opened = Mutex<[[ObjectIdentifier]: ReactorFiles]>([:])

  private init() throws(BenchError) {
    let path = "/tmp/uring-bench-fan-out-\(getpid())"
    let fd = unsafe open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw BenchError("fan-out-in: cannot create \(path)") }
    unsafe unlink(path)
    let chunk = [UInt8](repeating: 0x5A, count: 1 << 16)
    for offset in stride(from: 0, to: FanOutFixture.size, by: chunk.count) {
      let written = unsafe chunk.withUnsafeBytes {
        unsafe pwrite(fd, $0.baseAddress, $0.count, off_t(offset))
      }
      guard written == chunk.count else { throw BenchError("fan-out-in: cannot fill \(path)") }
    }
    descriptor = fd
  }

  /// Where the tasks of `system` go and how they read the file: preferring
  /// `reactor` (`reactor`) or the group (`reactor-group`), reading through
  /// their ring; else with no preference, reading with a blocking `pread`.
  func placement(of system: BenchSystem, reactor: Reactor) throws(BenchError) -> (
    executor: (any TaskExecutor)?, read: ChildWork
  ) {
    switch system {
    case .reactor: return (reactor, .ringRead(try files(on: [reactor])))
    case .reactorGroup:
      let group = try BenchGroup.shared.get()
      return (group, .ringRead(try files(on: group.reactors)))
    default: return (nil, .blockingRead(descriptor))
    }
  }

  /// The file opened on each of `reactors`, for reads of `FanOutIn.readSize`.
  func files(on reactors: [Reactor]) throws(BenchError) -> ReactorFiles {
    let key = reactors.map(ObjectIdentifier.init)
    return try opened.withLock { (opened) throws(BenchError) -> ReactorFiles in
      if let files = opened[key] { return files }
      let files = try ReactorFiles(descriptor, on: reactors, readSize: FanOutIn.readSize)
      opened[key] = files
      return files
    }
  }
}

/// One descriptor opened (a `dup`) on each of some reactors, with buffers of
/// `readSize` bytes per reactor: a task reads through the file of the reactor
/// it runs on, so its read needs no hop.
final class ReactorFiles: Sendable {
  private let files: [File]
  private let buffers: [BufferPool]

  init(_ descriptor: CInt, on reactors: [Reactor], readSize: Int) throws(BenchError) {
    var files: [File] = []
    for reactor in reactors {
      let copy = dup(descriptor)
      guard copy >= 0 else { throw BenchError("dup failed: \(errno)") }
      files.append(File(adopting: FileDescriptor(rawValue: copy), on: reactor))
    }
    self.files = files
    buffers = reactors.map { _ in BufferPool(size: readSize) }
  }

  /// Reads `readSize` bytes at `offset` through the file of the reactor the
  /// caller runs on (the first reactor's from elsewhere); returns the bytes
  /// read, -1 on an error.
  nonisolated(nonsending) func read(at offset: Int64) async -> Int {
    let home = files.firstIndex { $0.reactor === Reactor.current } ?? 0
    let buffer = buffers[home].take()
    let count = (try? await files[home].read(into: buffer, at: UInt64(offset))) ?? -1
    buffers[home].give(buffer)
    return count
  }
}

/// Reusable `SharedBuffer`s (page-aligned: worth reusing, not allocating per read).
final class BufferPool: Sendable {
  private let size: Int
  private let free = Mutex<[SharedBuffer]>([])

  init(size: Int) { self.size = size }

  func take() -> SharedBuffer {
    free.withLock { $0.popLast() } ?? SharedBuffer(capacity: size)
  }

  func give(_ buffer: SharedBuffer) {
    free.withLock { $0.append(buffer) }
  }
}

/// The reactor group the `reactor-group` systems share: 2 reactors pinned to
/// the usable CPUs, started when first asked for.
enum BenchGroup {
  static let shared = Result { () throws(BenchError) -> ReactorGroup in
    do {
      return try ReactorGroup(reactorCount: 2, pinning: .usableCPUs)
    } catch {
      throw BenchError("cannot start a reactor group: \(error)")
    }
  }
}
