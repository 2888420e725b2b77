import Benchmark
import BenchmarkSupport
import SystemPackage
import UringReactor

/// A page-cached scratch file, opened on the reactor, and one buffer reused
/// by every read.
struct ReadFixture: Sendable {
  let scratch: ScratchFile
  let file: File
  let buffer: SharedBuffer

  static func make(blockSize: Int) async throws -> ReadFixture {
    let reactor = try Shared.reactor()
    let scratch = try ScratchFile(megabytes: 64)
    let file = try await File.open(FilePath(scratch.path), .readOnly, on: reactor)
    return ReadFixture(scratch: scratch, file: file, buffer: SharedBuffer(capacity: blockSize))
  }

  func close() async throws {
    try await file.close()
    scratch.remove()
  }

  /// `count` reads of the buffer's capacity at the offsets `next` gives, from
  /// a task preferring the reactor.
  func read(_ count: Int, next: () -> Int) async throws {
    let reactor = try Shared.reactor()
    let size = buffer.capacity
    try await withTaskExecutorPreference(reactor) {
      for _ in 0..<count {
        let read = try await file.read(into: buffer, at: UInt64(next()))
        guard read == size else { throw BenchmarkFailure("short read: \(read) of \(size) bytes") }
      }
    }
  }
}

/// `file.read(into:at:)` (IORING_OP_READ) into one reused `SharedBuffer`:
/// 4 KiB at random offsets, and 1 MiB sequentially, one read in flight.
func registerFileReadBenchmarks() {
  benchmark(
    "read-4k-random-reactor",
    setup: { try await ReadFixture.make(blockSize: 4096) },
    teardown: { try await $0.close() },
    run: { benchmark, fixture in
      let count = benchmark.scaledIterations.count
      var blocks = RandomBlocks(fileSize: fixture.scratch.size, blockSize: 4096)
      try await Measure.region(benchmark) {
        try await fixture.read(count) { blocks.next() }
      }
    })

  benchmark(
    "read-1m-sequential-reactor",
    configuration: .init(
      metrics: Measure.metrics, scalingFactor: .kilo, maxDuration: .seconds(2),
      maxIterations: 20,
      thresholds: [.mallocCountTotal: .init(absolute: [.p90: 100])]),
    setup: { try await ReadFixture.make(blockSize: 1 << 20) },
    teardown: { try await $0.close() },
    run: { benchmark, fixture in
      let count = benchmark.scaledIterations.count
      let chunks = fixture.scratch.size >> 20
      var next = 0
      try await Measure.region(benchmark) {
        try await fixture.read(count) {
          defer { next = (next + 1) % chunks }
          return next << 20
        }
      }
    })
}
