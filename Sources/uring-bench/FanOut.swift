import Dispatch
import Glibc
import Synchronization
import SystemPackage
import UringReactor

/// `fan-out-in`: many small tasks, each reading 512 bytes at a pseudo-random
/// offset of a 1 MiB page-cached file, gathered by their parent, in waves of
/// 1,000 tasks.
///
/// - reactor: a ``ReactorGroup`` of 2 reactors pinned to 2 CPUs; children
///   added with `addTask(executorPreference: group)` are spread over them and
///   read through the ring of the reactor they run on (`IORING_OP_READ`, the
///   file opened once per reactor, buffers reused from a per-reactor pool);
/// - default-executor: children on Swift's default executor, each a blocking
///   `pread` (what code without io_uring does);
/// - dispatch: `DispatchQueue.global().async(group:) { pread }` per child,
///   `DispatchGroup.notify` per wave.
struct FanOutIn: Workload {
  let id = "fan-out-in"
  let unit = "tasks/s"
  let summary = "waves of 1,000 child tasks, each a 512-byte read of a cached file"
  let initialOperations = 5_000
  let granularity = 1_000
  static let wave = 1_000
  static let readSize = 512

  func footnote(for system: BenchSystem) -> String {
    switch system {
    case .reactor:
      "children of a task group on a ReactorGroup of 2 pinned reactors, "
        + "each `file.read(into:at:)` (IORING_OP_READ) on the reactor it runs on"
    case .defaultExecutor:
      "children of a task group on the default executor, each a blocking `pread`"
    case .dispatch:
      "`DispatchQueue.global().async(group:) { pread }` per child, one notify per wave"
    case .dispatchIO, .reactorStream, .reactorGroup, .cLiburing, .nio, .nioAsyncChannel:
      preconditionFailure("\(id) does not run \(system.id)")
    }
  }

  func run(on system: BenchSystem, operations: Int, reactor: Reactor) async throws(BenchError)
    -> Sample
  {
    let fixture = try FanOutFixture.shared.get()
    let waves = max(1, operations / Self.wave)
    let clock = ContinuousClock()
    let start = clock.now
    var total = 0
    switch system {
    case .reactor:
      let group = fixture.group
      total = await Task(executorPreference: group) {
        var total = 0
        for wave in 0..<waves { total += await Self.reactorWave(wave, fixture) }
        return total
      }.value
    case .defaultExecutor:
      total = await Task.detached {
        var total = 0
        for wave in 0..<waves { total += await Self.defaultWave(wave, fd: fixture.descriptor) }
        return total
      }.value
    case .dispatch:
      for wave in 0..<waves { total += await Self.dispatchWave(wave, fd: fixture.descriptor) }
    case .dispatchIO, .reactorStream, .reactorGroup, .cLiburing, .nio, .nioAsyncChannel:
      preconditionFailure("\(id) does not run \(system.id)")
    }
    let expected = waves * Self.wave * Self.readSize
    guard total == expected else {
      throw BenchError("\(id) \(system.id): read \(total) bytes, expected \(expected)")
    }
    return Sample(operations: waves * Self.wave, elapsed: start.duration(to: clock.now))
  }

  /// The offset of read `index` of wave `wave`: spread over the file, aligned.
  static func offset(_ wave: Int, _ index: Int) -> Int64 {
    let mixed = UInt64(wave &* 1_000 &+ index) &* 0x9E37_79B9_7F4A_7C15
    return Int64((mixed >> 40) % UInt64(FanOutFixture.size / readSize)) * Int64(readSize)
  }

  private static func reactorWave(_ wave: Int, _ fixture: FanOutFixture) async -> Int {
    await withTaskGroup(of: Int.self) { children in
      for index in 0..<Self.wave {
        children.addTask(executorPreference: fixture.group) {
          let home = Reactor.current?.groupIndex ?? 0
          let buffer = fixture.buffers[home].take()
          let offset = UInt64(Self.offset(wave, index))
          let count = (try? await fixture.files[home].read(into: buffer, at: offset)) ?? -1
          fixture.buffers[home].give(buffer)
          return count
        }
      }
      var total = 0
      for await count in children { total += count }
      return total
    }
  }

  private static func defaultWave(_ wave: Int, fd: CInt) async -> Int {
    await withTaskGroup(of: Int.self) { children in
      for index in 0..<Self.wave {
        children.addTask {
          blockingRead(fd, at: Self.offset(wave, index))
        }
      }
      var total = 0
      for await count in children { total += count }
      return total
    }
  }

  private static func dispatchWave(_ wave: Int, fd: CInt) async -> Int {
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: Self.wave)
    defer { counts.deallocate() }
    let slots = Slots(counts)
    await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
      let group = DispatchGroup()
      for index in 0..<Self.wave {
        DispatchQueue.global().async(group: group) {
          slots.set(index, blockingRead(fd, at: Self.offset(wave, index)))
        }
      }
      group.notify(queue: .global()) { continuation.resume() }
    }
    return counts.reduce(0, +)
  }

  /// One blocking 512-byte `pread` into stack scratch memory.
  private static func blockingRead(_ fd: CInt, at offset: Int64) -> Int {
    withUnsafeTemporaryAllocation(byteCount: readSize, alignment: 16) { scratch in
      pread(fd, scratch.baseAddress, readSize, off_t(offset))
    }
  }
}

/// Per-index results written by Dispatch work items (disjoint indices).
private struct Slots: @unchecked Sendable {
  // SAFETY: each work item writes its own index; the buffer is read after the
  // group's notify, which orders every write before the read.
  let counts: UnsafeMutableBufferPointer<Int>
  init(_ counts: UnsafeMutableBufferPointer<Int>) { self.counts = counts }
  func set(_ index: Int, _ value: Int) { counts[index] = value }
}

/// The file and the reactor group the workload uses, made once per process.
final class FanOutFixture: Sendable {
  static let size = 1 << 20
  static let shared: Result<FanOutFixture, BenchError> = Result { () throws(BenchError) in
    try FanOutFixture()
  }

  let group: ReactorGroup
  let files: [File]
  /// Per reactor: read buffers for its tasks, reused across waves.
  let buffers: [BufferPool]
  /// For the systems without a ring.
  let descriptor: CInt

  private init() throws(BenchError) {
    let path = "/tmp/uring-bench-fan-out-\(getpid())"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw BenchError("fan-out-in: cannot create \(path)") }
    unlink(path)
    let chunk = [UInt8](repeating: 0x5A, count: 1 << 16)
    for offset in stride(from: 0, to: FanOutFixture.size, by: chunk.count) {
      let written = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
      guard written == chunk.count else { throw BenchError("fan-out-in: cannot fill \(path)") }
    }
    descriptor = fd
    group = try BenchGroup.shared.get()
    var files: [File] = []
    for reactor in group.reactors {
      let copy = dup(fd)
      guard copy >= 0 else { throw BenchError("fan-out-in: dup failed") }
      files.append(File(adopting: FileDescriptor(rawValue: copy), on: reactor))
    }
    self.files = files
    buffers = group.reactors.map { _ in BufferPool(size: FanOutIn.readSize) }
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

/// The reactor group the `fan-out-in` and `reactor-group` runs share: 2
/// reactors pinned to the usable CPUs, started when first asked for.
enum BenchGroup {
  static let shared = Result { () throws(BenchError) -> ReactorGroup in
    do {
      return try ReactorGroup(reactorCount: 2, pinning: .usableCPUs)
    } catch {
      throw BenchError("cannot start a reactor group: \(error)")
    }
  }
}
