import Benchmark
import BenchmarkSupport
import CBaselines
import Glibc
import NIOCore
import _NIOFileSystem

/// A page-cached scratch file opened with NIOFileSystem.
struct NIOReadFixture: Sendable {
  let scratch: ScratchFile
  let handle: ReadFileHandle

  static func make() async throws -> NIOReadFixture {
    let scratch = try ScratchFile(megabytes: 64)
    let handle = try await FileSystem.shared.openFile(
      forReadingAt: FilePath(scratch.path), options: OpenOptions.Read())
    return NIOReadFixture(scratch: scratch, handle: handle)
  }

  func close() async throws {
    try await handle.close()
    scratch.remove()
  }

  /// `count` `readChunk`s of `size` bytes at the offsets `next` gives. Each
  /// returns a new ByteBuffer: NIOFileSystem has no read into a caller's
  /// buffer.
  func read(_ count: Int, size: Int, next: () -> Int) async throws {
    for _ in 0..<count {
      let chunk = try await handle.readChunk(
        fromAbsoluteOffset: Int64(next()), length: .bytes(Int64(size)))
      guard chunk.readableBytes == size else {
        throw BenchmarkFailure("short read: \(chunk.readableBytes) of \(size) bytes")
      }
    }
  }
}

/// The same file reads as ReactorBenchmarks' on NIOFileSystem (blocking
/// `pread`s on its thread pool) and in C (`cb_random_reads`,
/// `cb_sequential_reads`: io_uring, one read in flight).
func registerFileReadBenchmarks() {
  benchmark(
    "read-4k-random-niofilesystem",
    setup: { try await NIOReadFixture.make() },
    teardown: { try await $0.close() },
    run: { benchmark, fixture in
      let count = benchmark.scaledIterations.count
      var blocks = RandomBlocks(fileSize: fixture.scratch.size, blockSize: 4096)
      try await Measure.region(benchmark) {
        try await fixture.read(count, size: 4096) { blocks.next() }
      }
    })

  benchmark(
    "read-1m-sequential-niofilesystem",
    configuration: .init(
      metrics: Measure.metrics, scalingFactor: .kilo, maxDuration: .seconds(2),
      maxIterations: 20),
    setup: { try await NIOReadFixture.make() },
    teardown: { try await $0.close() },
    run: { benchmark, fixture in
      let count = benchmark.scaledIterations.count
      let chunks = fixture.scratch.size >> 20
      var next = 0
      try await Measure.region(benchmark) {
        try await fixture.read(count, size: 1 << 20) {
          defer { next = (next + 1) % chunks }
          return next << 20
        }
      }
    })

  benchmark(
    "read-4k-random-c",
    setup: { try ScratchFile(megabytes: 64) },
    teardown: { $0.remove() },
    run: { benchmark, scratch in
      let count = UInt64(benchmark.scaledIterations.count)
      let fd = open(scratch.path, O_RDONLY)
      guard fd >= 0 else { throw BenchmarkFailure("open: errno \(errno)") }
      defer { close(fd) }
      try await Measure.region(benchmark) {
        let result = cb_random_reads(fd, UInt64(scratch.size), 4096, 1, count, 1)
        guard result.error == 0, result.operations == count else {
          throw BenchmarkFailure("cb_random_reads: errno \(result.error)")
        }
      }
    })

  benchmark(
    "read-1m-sequential-c",
    configuration: .init(
      metrics: Measure.metrics, scalingFactor: .kilo, maxDuration: .seconds(2),
      maxIterations: 20),
    setup: { try ScratchFile(megabytes: 64) },
    teardown: { $0.remove() },
    run: { benchmark, scratch in
      let count = UInt64(benchmark.scaledIterations.count)
      let fd = open(scratch.path, O_RDONLY)
      guard fd >= 0 else { throw BenchmarkFailure("open: errno \(errno)") }
      defer { close(fd) }
      try await Measure.region(benchmark) {
        let result = cb_sequential_reads(fd, UInt64(scratch.size), 1 << 20, 1, count)
        guard result.error == 0, result.operations == count else {
          throw BenchmarkFailure("cb_sequential_reads: errno \(result.error)")
        }
      }
    })
}
