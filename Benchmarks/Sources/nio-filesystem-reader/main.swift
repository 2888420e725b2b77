// nio-filesystem-reader: SwiftNIO's `NIOFileSystem` reading a file at random
// 4 KiB offsets, `depth` reads in flight, as a separate process, so that
// uring-bench (which depends on nothing but the toolchain and liburing) can
// report it as the system `nio-filesystem` of its file-read workloads.
//
//   nio-filesystem-reader --path P --size BYTES --depth D --per-lane N [--direct]
//
// Opens P with `FileSystem.shared.withFileHandle(forReadingAt:)` (`--direct`:
// then sets O_DIRECT on its descriptor with fcntl(F_SETFL), since NIOFileSystem
// has no option for it; every read then fails with EINVAL, since NIO's
// ByteBuffers are malloc'd, not block-aligned: uring-bench does not use it), then runs D tasks on Swift's default executor, lane i
// awaiting N reads `handle.readChunk(fromAbsoluteOffset:length: 4 KiB)` at the
// random offsets of uring-bench's lane i (the same xorshift). Prints one line,
// `reads R ns T cpu_ns C` (reads done, wall time, this process's CPU time over
// the timed part), or an error on stderr and exits 1.
import Glibc
import _NIOFileSystem

struct Arguments {
  var path = ""
  var size = 0
  var depth = 1
  var perLane = 1
  var direct = false

  init(_ list: [String]) {
    var index = 1
    func value() -> String {
      index += 1
      guard index < list.count else { fail("missing value after \(list[index - 1])") }
      return list[index]
    }
    while index < list.count {
      switch list[index] {
      case "--path": path = value()
      case "--size": size = Int(value()) ?? 0
      case "--depth": depth = Int(value()) ?? 1
      case "--per-lane": perLane = Int(value()) ?? 1
      case "--direct": direct = true
      default: fail("unknown argument \(list[index])")
      }
      index += 1
    }
    guard !path.isEmpty, size >= 4096, depth > 0, perLane > 0 else { fail("bad arguments") }
  }
}

func fail(_ message: String) -> Never {
  var line = "nio-filesystem-reader: \(message)\n"
  line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
  exit(1)
}

/// `O_DIRECT`, which Glibc's module does not export (a macro per architecture).
#if arch(x86_64)
  let directFlag: CInt = 0o40000
#else
  let directFlag: CInt = 0o200000
#endif

/// xorshift64 per lane, as uring-bench's `BenchFile.Random`.
struct Random {
  private var state: UInt64
  init(lane: Int) {
    state = 0x9E37_79B9_7F4A_7C15 &* UInt64(lane + 1)
    if state == 0 { state = 1 }
  }
  mutating func offset(blocks: Int) -> Int {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Int(state % UInt64(blocks))
  }
}

func cpuNanoseconds() -> Int64 {
  var usage = rusage()
  getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
  let user = Int64(usage.ru_utime.tv_sec) * 1_000_000_000 + Int64(usage.ru_utime.tv_usec) * 1000
  let system = Int64(usage.ru_stime.tv_sec) * 1_000_000_000 + Int64(usage.ru_stime.tv_usec) * 1000
  return user + system
}

let arguments = Arguments(CommandLine.arguments)
do {
  let line = try await FileSystem.shared.withFileHandle(
    forReadingAt: FilePath(arguments.path)
  ) { handle -> String in
    if arguments.direct {
      let status = try await handle.withUnsafeDescriptor { descriptor -> CInt in
        let flags = fcntl(descriptor.rawValue, F_GETFL)
        return fcntl(descriptor.rawValue, F_SETFL, flags | directFlag)
      }
      guard status == 0 else { fail("fcntl(F_SETFL, O_DIRECT) failed: errno \(errno)") }
    }
    let blocks = arguments.size / 4096
    let clock = ContinuousClock()
    let cpuBefore = cpuNanoseconds()
    let start = clock.now
    let reads = try await withThrowingTaskGroup(of: Int.self) { group in
      for lane in 0..<arguments.depth {
        group.addTask {
          var random = Random(lane: lane)
          for _ in 0..<arguments.perLane {
            let offset = Int64(random.offset(blocks: blocks) * 4096)
            let chunk = try await handle.readChunk(
              fromAbsoluteOffset: offset, length: .bytes(4096))
            guard chunk.readableBytes == 4096 else {
              fail("short read of \(chunk.readableBytes) bytes at \(offset)")
            }
          }
          return arguments.perLane
        }
      }
      var total = 0
      for try await count in group { total += count }
      return total
    }
    let elapsed = start.duration(to: clock.now)
    let cpu = cpuNanoseconds() - cpuBefore
    let (seconds, attoseconds) = elapsed.components
    let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    return "reads \(reads) ns \(nanoseconds) cpu_ns \(cpu)"
  }
  print(line)
} catch {
  fail("\(error)")
}
