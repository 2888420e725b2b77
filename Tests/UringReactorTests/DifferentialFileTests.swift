import Glibc
import SystemPackage
import TestSupport
import Testing
import Uring

@testable import UringReactor

/// Differential tests: the same random operations on two files, one through
/// the reactor, one with blocking system calls (`pread`, `pwrite`, `read`,
/// `write`, `ftruncate`, `posix_fallocate`, `fstat`); every result and the final
/// contents must match. Seeded, so a failure names the seed that replays it.
@Suite(.requiresUring, .sharesProcess)
struct DifferentialFileTests {
  static let seeds: [UInt64] = [1, 2, 3, 5, 8, 13, 21, 34]

  @Test(arguments: seeds)
  func randomOperationsMatchBlockingSystemCalls(seed: UInt64) async throws {
    let scratch = try ScratchDirectory("differential-\(seed)")
    defer { scratch.remove() }
    var random = SeededGenerator(seed: seed)
    // A random starting file, written the blocking way to both.
    let initial = patternBytes(Int.random(in: 0...300_000, using: &random), seed: seed &* 7)
    try writeFileBlocking(scratch.path("ring"), initial)
    try writeFileBlocking(scratch.path("twin"), initial)
    let twin = try FileDescriptor.open(scratch.path("twin"), .readWrite)
    defer { try? twin.close() }
    try await withReactor { reactor in
      let file = try await File.open(scratch.path("ring"), .readWrite, on: reactor)
      var log: [String] = []
      for step in 0..<150 {
        let size = try Self.size(of: twin)
        let choice = Int.random(in: 0..<100, using: &random)
        let description = try await Self.step(
          choice, size: size, file: file, twin: twin, random: &random)
        log.append("\(step): \(description)")
        let ringSize = try await file.status().size
        guard ringSize == (try Self.size(of: twin)) else {
          Issue.record("seed \(seed): sizes differ after \(log.suffix(3))")
          return
        }
      }
      try await file.close()
      #expect(
        try readFileBlocking(scratch.path("ring")) == readFileBlocking(scratch.path("twin")),
        "seed \(seed): contents differ; last steps: \(log.suffix(5))")
    }
  }

  /// One random operation on both files; returns what it did, and records
  /// an issue if the results differ.
  static func step(
    _ choice: Int, size: Int, file: File, twin: FileDescriptor,
    random: inout SeededGenerator
  ) async throws -> String {
    let offset = Int.random(in: 0...(size + 5000), using: &random)
    let length = Int.random(in: 0...70_000, using: &random)
    switch choice {
    case 0..<25:  // positional write
      let bytes = patternBytes(length, seed: random.next())
      try await file.writeAll(from: SharedBuffer(bytes), at: UInt64(offset))
      _ = try twin.writeAll(toAbsoluteOffset: Int64(offset), bytes)
      return "write \(length) at \(offset)"
    case 25..<45:  // positional read (short at the end, empty past it)
      let buffer = SharedBuffer(capacity: length)
      let count = try await file.readAll(into: buffer, at: UInt64(offset))
      let expected = try preadAll(twin, offset: offset, length: length)
      #expect(try buffer.bytes() == expected, "read \(length) at \(offset): \(count) bytes")
      return "read \(length) at \(offset)"
    case 45..<52:  // owned-buffer read and write
      let owned = await file.read(into: OwnedBuffer(capacity: length), at: UInt64(offset))
      let expected = try preadAll(twin, offset: offset, length: length, once: true)
      #expect(owned.buffer.bytes == expected)
      let bytes = patternBytes(length / 7, seed: random.next())
      let written = await file.writeAll(from: OwnedBuffer(bytes), at: UInt64(offset))
      #expect(written.bytesTransferred == bytes.count)
      _ = try twin.writeAll(toAbsoluteOffset: Int64(offset), bytes)
      return "owned read/write \(length) at \(offset)"
    case 52..<60:  // at the file position: set both positions, write, then read on
      let position = Int.random(in: 0...size, using: &random)
      let fd = try #require(file.descriptor)
      #expect(lseek(fd.rawValue, off_t(position), SEEK_SET) == off_t(position))
      _ = try twin.seek(offset: Int64(position), from: .start)
      let bytes = patternBytes(length / 3, seed: random.next())
      try await file.writeAll(from: SharedBuffer(bytes), at: nil)
      _ = try twin.writeAll(bytes)
      let buffer = SharedBuffer(capacity: length / 5)
      _ = try await file.readAll(into: buffer, at: nil)
      var expected = [UInt8](repeating: 0, count: length / 5)
      var done = 0
      while done < expected.count {
        let count = try expected.withUnsafeMutableBytes {
          try twin.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...]))
        }
        if count == 0 { break }
        done += count
      }
      #expect(try buffer.bytes() == Array(expected[..<done]))
      return "position write \(bytes.count), read \(length / 5) at \(position)"
    case 60..<70:  // truncate (ring), sometimes through the pool fallback
      let newSize = Int.random(in: 0...(size + 100_000), using: &random)
      if choice % 2 == 0 {
        try await file.truncate(to: UInt64(newSize))
      } else {
        try await file.truncate(to: UInt64(newSize), offload: .shared, useRing: false)
      }
      #expect(ftruncate(twin.rawValue, off_t(newSize)) == 0)
      return "truncate \(newSize)"
    case 70..<76:  // allocate (grows the size), or keep-size
      let keep = choice % 2 == 0
      try await file.allocate(
        offset: UInt64(offset), length: UInt64(length) + 1, mode: keep ? .keepSize : [])
      // Keep-size changes neither size nor contents; the default mode is
      // what posix_fallocate does.
      if !keep { #expect(posix_fallocate(twin.rawValue, off_t(offset), off_t(length + 1)) == 0) }
      return "allocate \(length + 1) at \(offset) keep=\(keep)"
    case 76..<86:  // a streamed read of a range
      let chunkSize = Int.random(in: 1...100_000, using: &random)
      var streamed: [UInt8] = []
      for try await chunk in file.chunks(
        from: UInt64(offset), length: UInt64(length), chunkSize: chunkSize,
        readAhead: Int.random(in: 1...5, using: &random))
      {
        streamed += chunk.bytes
      }
      #expect(streamed == (try preadAll(twin, offset: offset, length: length)))
      return "chunks \(length) at \(offset) by \(chunkSize)"
    case 86..<94:  // a writer with random pieces
      let writer = file.writer(
        startingAt: UInt64(offset), maxInFlight: Int.random(in: 1...4, using: &random),
        bufferSize: Int.random(in: 1...50_000, using: &random))
      let bytes = patternBytes(length, seed: random.next())
      var index = 0
      while index < bytes.count {
        let end = min(bytes.count, index + Int.random(in: 1...30_000, using: &random))
        try await writer.write(contentsOf: bytes[index..<end])
        index = end
      }
      #expect(try await writer.finish() == UInt64(bytes.count))
      _ = try twin.writeAll(toAbsoluteOffset: Int64(offset), bytes)
      return "writer \(length) at \(offset)"
    default:  // status and sync
      let status = try await file.status()
      var info = stat()
      #expect(fstat(twin.rawValue, &info) == 0)
      #expect(status.size == UInt64(info.st_size))
      #expect(status.type == .regular)
      try await file.dataSync()
      return "status+sync"
    }
  }

  static func size(of fd: FileDescriptor) throws -> Int {
    var info = stat()
    guard fstat(fd.rawValue, &info) == 0 else { throw Errno(rawValue: errno) }
    return Int(info.st_size)
  }

  /// `pread` until `length` bytes or the end (`once`: a single `pread`).
  static func preadAll(_ fd: FileDescriptor, offset: Int, length: Int, once: Bool = false) throws
    -> [UInt8]
  {
    var result = [UInt8](repeating: 0, count: length)
    var done = 0
    while done < length {
      let count = try result.withUnsafeMutableBytes { bytes in
        try fd.read(
          fromAbsoluteOffset: Int64(offset + done),
          into: UnsafeMutableRawBufferPointer(rebasing: bytes[done...]))
      }
      done += count
      if count == 0 || once { break }
    }
    return Array(result[..<done])
  }
}
