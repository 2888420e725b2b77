import Glibc
import SystemPackage
import TestSupport
import Testing
import UringReactor

/// Counts foreign allocations made and released, from any thread.
final class AllocationLedger: Sendable {
  private let counts = Tally(2)
  func allocated() { counts.add(0) }
  func released() { counts.add(1) }
  var snapshot: (allocated: Int, released: Int) {
    let values = counts.snapshot()
    return (values[0], values[1])
  }
}

@Suite(.requiresUring, .sharesProcess)
struct StormTests {
  static let operations = 100_000
  static let workers = 64
  static let fileSize = 1 << 20

  /// 100,000 operations on random buffers, a random third of them cancelled
  /// at random points. Every buffer is released exactly once, every call
  /// returns, successful reads return the file's bytes, and no descriptor
  /// leaks. Run under ASan and TSan by scripts/test.sh.
  @Test(.ownsProcess) func randomOperationsWithRandomCancellation() async throws {
    let path = FileTests.temporaryPath("storm")
    let content = (0..<Self.fileSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
    do {
      let fd = try FileDescriptor.open(
        path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
      _ = try fd.writeAll(content)
      try fd.close()
    }
    defer { unlink(path.string) }
    let before = openDescriptorCount()
    let ledger = AllocationLedger()
    let outcomes = Tally(4)  // completed, cancelled, failed unexpectedly, wrong bytes
    do {
      let reactor = try Reactor()
      let file = try await File.open(path, .readOnly, on: reactor)
      let pipe = try FileDescriptor.pipe()
      let idle = File(adopting: pipe.readEnd, on: reactor)
      await withTaskGroup(of: Void.self) { group in
        for worker in 0..<Self.workers {
          group.addTask(executorPreference: reactor) {
            var generator = SplitMix(seed: UInt64(worker) &+ 1)
            for _ in 0..<(Self.operations / Self.workers) {
              await Self.oneOperation(
                &generator, file: file, idle: idle, content: content, ledger: ledger,
                outcomes: outcomes, reactor: reactor)
            }
          }
        }
      }
      try await file.close()
      try await idle.close()
      try pipe.writeEnd.close()
      await reactor.shutdown()
    }
    let counts = outcomes.snapshot()
    #expect(counts[0] + counts[1] == (Self.operations / Self.workers) * Self.workers)
    #expect(counts[1] > 0, "some operations were cancelled in flight")
    #expect(counts[2] == 0, "unexpected failures")
    #expect(counts[3] == 0, "reads returned the wrong bytes")
    let ledgerCounts = ledger.snapshot
    #expect(ledgerCounts.allocated == ledgerCounts.released, "every buffer freed exactly once")
    #expect(openDescriptorCount() == before)
  }

  private static func oneOperation(
    _ generator: inout SplitMix, file: File, idle: File, content: [UInt8],
    ledger: AllocationLedger, outcomes: Tally, reactor: Reactor
  ) async {
    let size = Int(generator.next() % 8192) + 1
    let offset = Int(generator.next() % UInt64(content.count))
    let cancel = generator.next() % 3 == 0
    // A read from a pipe nobody writes never completes: only cancelled ones.
    let blocking = cancel && generator.next() % 2 == 0
    let yields = Int(generator.next() % 4)
    let raw = malloc(size)!
    ledger.allocated()
    let memory = unsafe UnsafeForeignMemory(unsafeStart: raw, count: size) { region in
      memset(region.baseAddress!, 0xDB, region.count)
      free(region.baseAddress)
      ledger.released()
    }
    let regions = [MemoryRegion(offset: 0, length: size)]
    let task = Task(executorPreference: reactor) { () async throws -> Int in
      if blocking {
        return try await idle.read(into: memory, regions: regions, at: nil)
      }
      return try await file.read(into: memory, regions: regions, at: UInt64(offset))
    }
    if cancel {
      for _ in 0..<yields { await Task.yield() }
      task.cancel()
    }
    switch await task.result {
    case .success(let count):
      let expected = min(size, content.count - offset)
      let matches = try? memory.withBytes { (span: RawSpan) -> Bool in
        span.withUnsafeBytes { bytes in
          count == expected
            && content.withUnsafeBytes {
              memcmp(bytes.baseAddress!, $0.baseAddress! + offset, count)
            }
              == 0
        }
      }
      outcomes.add(matches == true ? 0 : 3)
    case .failure(let error as VectoredIOError) where error.ioError?.kind == .cancelled:
      outcomes.add(1)
    case .failure:
      outcomes.add(2)
    }
  }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
